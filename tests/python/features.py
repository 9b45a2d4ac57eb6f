# What natlab-python answers besides the chapter's examples: threads,
# time.sleep, settimeout, selectors (epoll), select, getaddrinfo over the
# scenario's names, os.urandom and hash seeds from the seeded streams.
import os
import select
import selectors
import socket
import sys
import threading
import time


def serve_one(conn):
    data = conn.recv(100)
    conn.sendall(data.upper())
    conn.close()


def server():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 9000))
    s.listen()
    print("listening")
    threads = []
    for _ in range(2):
        conn, addr = s.accept()
        t = threading.Thread(target=serve_one, args=(conn,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    print("served 2 in threads")


def client():
    info = socket.getaddrinfo("srv", 9000, type=socket.SOCK_STREAM)
    print("srv is", info[0][4][0])
    sel = selectors.DefaultSelector()
    print("selector", type(sel).__name__)
    socks = []
    for word in (b"one", b"two"):
        c = socket.create_connection(("srv", 9000), timeout=2)
        c.sendall(word)
        c.setblocking(False)
        sel.register(c, selectors.EVENT_READ, word)
        socks.append(c)
    got = []
    while len(got) < 2:
        for key, _ in sel.select(timeout=2):
            got.append(key.fileobj.recv(100))
            sel.unregister(key.fileobj)
            key.fileobj.close()
    print("replies", sorted(got))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("0.0.0.0", 0))
    u.settimeout(0.3)
    t0 = time.monotonic()
    try:
        u.recvfrom(100)
    except socket.timeout:
        print("timed out after %.1f s" % (time.monotonic() - t0))
    r, _, _ = select.select([u], [], [], 0.25)
    print("select ready", len(r))
    done = threading.Event()
    lock = threading.Lock()
    count = [0]

    def work():
        for _ in range(1000):
            with lock:
                count[0] += 1
        done.set()

    threading.Thread(target=work).start()
    done.wait(5)
    t0 = time.monotonic()
    time.sleep(1.5)
    print("slept %.3f s, count %d" % (time.monotonic() - t0, count[0]))
    print("urandom", os.urandom(4).hex(), "hash", hash("natlab") & 0xffff)


if sys.argv[1] == "server":
    server()
else:
    client()
