# An extension module (a shared library in lib-dynload) is refused by name.
import ssl
print("not reached", ssl)
