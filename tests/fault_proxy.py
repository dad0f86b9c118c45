"""An HTTP proxy on 127.0.0.1 between stack-cfn (its AWS endpoint) and the local AWS that misbehaves as a busy AWS
does, at a seeded rate: throttles (400 Throttling, S3's 503 SlowDown), fails (an HTML 500, a 503), resets the
connection before forwarding, and loses answers (forwards the request, so a write happens, then drops the reply).
"""

from __future__ import annotations

import http.client
import random
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

QUERY_THROTTLE = (b'<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>'
                  b'<RequestId>fault</RequestId></ErrorResponse>')
QUERY_UNAVAILABLE = (b'<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>Service is unavailable</Message>'
                     b'</Error><RequestId>fault</RequestId></ErrorResponse>')
S3_SLOWDOWN = b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>'
JSON_THROTTLE = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
HTML_500 = b"<html><head><title>500 Internal Server Error</title></head><body>Internal Server Error</body></html>"
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "expect", "content-length"}


@dataclass
class Faults:
    """Rates per request, each in [0, 1]; their sum is the share of requests that go wrong."""

    throttle: float = 0.08
    fail: float = 0.06
    reset: float = 0.04
    lose: float = 0.07
    seed: int = 18
    seen: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self) -> str:
        with self._lock:
            x = self._random.random()
        for kind in ("throttle", "fail", "reset", "lose"):
            x -= getattr(self, kind)
            if x < 0:
                self.seen[kind] += 1
                return kind
        self.seen["ok"] += 1
        return "ok"


class FaultProxy:
    """`with FaultProxy(upstream, faults) as url:` serves on a free loopback port until the block ends."""

    def __init__(self, upstream: str, faults: Faults) -> None:
        self.upstream = urlsplit(upstream)
        self.faults = faults
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> str:
        self.thread.start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                kind = proxy.faults.draw()
                if kind == "reset":
                    return self._drop()
                if kind in ("throttle", "fail"):
                    return self._error(kind, body)
                status, headers, answer = proxy.forward(self.command, self.path, self.headers.items(), body)
                if kind == "lose":
                    return self._drop()
                self._reply(status, headers, answer)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any  # noqa: N815

            def _drop(self) -> None:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def _error(self, kind: str, body: bytes) -> None:
                json_protocol = bool(self.headers.get("X-Amz-Target"))
                query = b"Action=" in body[:4096] and not json_protocol
                if kind == "throttle":
                    status, answer = (400, QUERY_THROTTLE) if query else (400, JSON_THROTTLE) if json_protocol else (503, S3_SLOWDOWN)
                else:
                    status, answer = (500, HTML_500) if proxy.faults._random.random() < 0.5 else (503, QUERY_UNAVAILABLE if query else S3_SLOWDOWN)
                kind_type = "application/x-amz-json-1.1" if json_protocol and status == 400 else "text/html" if answer is HTML_500 else "text/xml"
                self._reply(status, [("Content-Type", kind_type)], answer)

            def _reply(self, status: int, headers: list[tuple[str, str]], answer: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in HOP or (self.command == "HEAD" and key.lower() == "content-length"):
                        self.send_header(key, value)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer)

        return Handler

    def forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=300)
        try:
            conn.request(method, path, body=body or None, headers={k: v for k, v in headers if k.lower() not in HOP | {"host"}} |
                         {"Host": self.upstream.netloc, "Content-Length": str(len(body))})
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()
