# What depends on addresses: id(), the default hash, set order.  The same
# in every run and every natlab process, whatever the address-space layout.
import socket

print("id(None)", hex(id(None)), "id(int)", hex(id(int)))
print("hash(len)", hash(len), "hash(socket.socket)", hash(socket.socket))
types = {int, str, float, bytes, list, dict, tuple, set, frozenset, type,
         object, socket.socket, ValueError, OSError}
print("types", [t.__name__ for t in types])
objs = [object() for _ in range(40)]
print("objects", [objs.index(o) for o in set(objs)])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(8)]
print("sockets", [s.fileno() for s in set(socks)])
