import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('0.0.0.0', 8080))
server.listen(5)
print("Listening on port 8080")

while True:
    client, addr = server.accept()
    print(f"Connected: {addr}")
    while True:
        data = client.recv(4096)
        if not data:
            break
        client.sendall(data)
    client.close()
