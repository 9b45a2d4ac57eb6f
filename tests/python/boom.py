# A program that raises: reported like a crashing C program.
def handle(x):
    return 10 / x


def main():
    print("about to fail")
    handle(0)


main()
