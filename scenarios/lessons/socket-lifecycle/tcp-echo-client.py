import socket

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(('127.0.0.1', 8080))
client.sendall(b"hello, server\n")
response = client.recv(4096)
print(f"Server replied: {response!r}")
client.close()
