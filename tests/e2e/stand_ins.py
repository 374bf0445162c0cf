"""Small misbehaving HTTP servers on loopback, for the client's retry and timeout paths."""
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LISTING = """<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="http://127.0.0.1/devstoreaccount1" ContainerName="flaky"><Blobs>
<Blob><Name>users.json</Name><Properties><Last-Modified>Wed, 10 Dec 2025 21:00:53 GMT</Last-Modified><Etag>0x1</Etag><Content-Length>10</Content-Length></Properties></Blob>
<Blob><Name>1_schedules.json</Name><Properties><Last-Modified>Wed, 10 Dec 2025 21:00:53 GMT</Last-Modified><Etag>0x2</Etag><Content-Length>20</Content-Length></Properties></Blob>
</Blobs><NextMarker /></EnumerationResults>"""


class AnsweringServer:
    """A loopback server whose `answer(path)` gives (status, headers, body) for each GET, and
    which records the paths asked for."""

    def __init__(self):
        outer = self
        self.requests = []

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # see standins/supabase.py

            def do_GET(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.requests.append(self.path)
                status, headers, body = outer.answer(self.path)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PUT = do_DELETE = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class FixedAnswer(AnsweringServer):
    """Answers every request alike: (status, headers, body)."""

    def __init__(self, status, headers, body):
        self.fixed = (status, headers, body)
        super().__init__()

    def answer(self, path):
        return self.fixed


class FlakyServer(AnsweringServer):
    """Answers 503 (with Retry-After: 0) `failures` times, then a two-blob listing."""

    def __init__(self, failures=2):
        self.failures = failures
        super().__init__()

    def answer(self, path):
        if len(self.requests) <= self.failures:
            return 503, {"Retry-After": "0"}, b"<?xml version='1.0'?><Error><Code>ServerBusy</Code><Message>Try later</Message></Error>"
        return 200, {}, LISTING.encode()


class StallingServer:
    """Accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.open:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self):
        self.open = False
        for c in self.conns:
            c.close()
        self.sock.close()


class DelayingProxy:
    """Forwards every request to Azurite, holding blob downloads (not listings) for `delay`
    seconds: downloads that take long enough to cancel in the middle of. `strip_etags` takes
    the ETags out of listings (a server that sends none)."""

    def __init__(self, target_port, delay=2.0, strip_etags=False):
        import re
        import urllib.request
        outer = self
        self.delay = delay
        self.requests = []

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # see standins/supabase.py

            def do_GET(self):
                outer.requests.append(self.path)
                if "comp=list" not in self.path:
                    import time
                    time.sleep(outer.delay)
                req = urllib.request.Request(f"http://127.0.0.1:{target_port}{self.path}",
                                             headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
                try:
                    resp = urllib.request.urlopen(req)
                    status, headers, body = resp.status, resp.headers, resp.read()
                except urllib.error.HTTPError as e:
                    status, headers, body = e.code, e.headers, e.read()
                if strip_etags and "comp=list" in self.path:
                    body = re.sub(rb"<Etag>[^<]*</Etag>", b"", body)
                self.send_response(status)
                for k, v in headers.items():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class LoopingListing(AnsweringServer):
    """A listing server that never ends: the same NextMarker every time (`repeat=True`), or a
    new one every time."""

    def __init__(self, repeat=True):
        self.repeat = repeat
        super().__init__()

    def answer(self, path):
        marker = "same" if self.repeat else f"page{len(self.requests)}"
        return 200, {}, LISTING.replace("<NextMarker />", f"<NextMarker>{marker}</NextMarker>").encode()
