"""A TCP forwarder on 127.0.0.1 that a test can cut, to make a server go away mid-operation."""
import socket
import threading


class Proxy:
    """Forwards 127.0.0.1:port to target; stop() cuts every connection at once."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.port = None
        self._server = None
        self._connections = []
        self._lock = threading.Lock()

    def start(self):
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", self.port or 0))
        self._server.listen(64)
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, args=(self._server,), daemon=True).start()

    def stop(self):
        try:
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in its thread
        except OSError:
            pass  # not connected is fine for a listening socket on some kernels
        self._server.close()
        with self._lock:
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed by its peer
                connection.close()
            self._connections.clear()

    def _accept(self, server):
        while True:
            try:
                client, _address = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                sink.sendall(chunk)
        except OSError:
            pass  # the proxy was cut: both ends see a reset, which is the point
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already shut
