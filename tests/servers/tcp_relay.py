"""A TCP relay on 127.0.0.1 for the network faults and proxies the remote-source tests need.

* ``TcpRelay(target_port, cut_after_bytes=N)`` forwards to ``127.0.0.1:target_port`` and closes the
  first connection once ``N`` bytes came back from the target: a connection dropped mid-download,
  at a byte count rather than a moment.
* ``TcpRelay(None, proxy=True)`` is an HTTP proxy for servers on 127.0.0.1: ``CONNECT host:port``
  (tunnels: SSH, HTTPS), and plain HTTP requests in absolute form (``GET http://host:port/…``),
  passed on as they are. It keeps the targets asked for (``connects``) and the
  ``Proxy-Authorization`` headers seen.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from urllib.parse import urlsplit


class TcpRelay:
    def __init__(self, target_port: int | None, *, cut_after_bytes: int | None = None, proxy: bool = False) -> None:
        self.target_port = target_port
        self.cut_after_bytes = cut_after_bytes
        self.proxy = proxy
        self.connects: list[str] = []
        self.proxy_auth: list[str] = []
        self.connections = 0
        self.cuts = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> TcpRelay:
        self._thread.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self._listener.close()
        for sock in list(self._open):
            _close(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            cut = self.cut_after_bytes if self.connections == 1 else None
            threading.Thread(target=self._serve, args=(client, cut), daemon=True).start()

    def _serve(self, client: socket.socket, cut: int | None) -> None:
        self._open.append(client)
        port, method = self.target_port, ""
        if self.proxy:
            request = b""
            while b"\r\n\r\n" not in request:
                got = client.recv(1)
                if not got:
                    return _close(client)
                request += got
            lines = request.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            self.proxy_auth += [h.split(":", 1)[1].strip() for h in lines[1:] if h.lower().startswith("proxy-authorization:")]
            if method != "CONNECT":  # absolute form: the request goes on as it is, and what follows it
                target = urlsplit(target).netloc
            self.connects.append(target)
            port = int(target.rsplit(":", 1)[1])
        upstream = socket.create_connection(("127.0.0.1", port or 0))
        self._open.append(upstream)
        if self.proxy and method == "CONNECT":
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        elif self.proxy:
            upstream.sendall(request)
        threading.Thread(target=self._pump, args=(client, upstream, None), daemon=True).start()
        self._pump(upstream, client, cut)

    def _pump(self, src: socket.socket, dst: socket.socket, cut: int | None) -> None:
        sent = 0
        try:
            while data := src.recv(65536):
                if cut is not None and sent + len(data) >= cut:
                    dst.sendall(data[: cut - sent])
                    self.cuts += 1
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        _close(src)
        _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
