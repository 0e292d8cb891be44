"""A real HTTP server on 127.0.0.1 that answers what a test tells it and keeps what it was sent,
so the CLI is tested through its own HTTP client, sockets included."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeServer:
    url: str
    port: int
    status: int = 200
    content_type: str = "application/json"
    answer: bytes = b"{}"
    received: list[Received] = field(default_factory=list)

    def answers(self, status: int, body: dict | str, content_type: str | None = None) -> None:
        self.status = status
        self.answer = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.content_type = content_type or ("application/problem+json" if status >= 400 else "application/json")


@contextmanager
def fake_server(port: int = 0) -> Iterator[FakeServer]:
    state: FakeServer

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            body = _read_body(self)
            state.received.append(Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            try:
                self.send_response(state.status)
                self.send_header("Content-Type", state.content_type)
                self.send_header("Content-Length", str(len(state.answer)))
                self.end_headers()
                self.wfile.write(state.answer)
            except (BrokenPipeError, ConnectionResetError):  # a client that gave up mid-upload
                pass

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    bound = server.server_address[1]
    state = FakeServer(url=f"http://127.0.0.1:{bound}", port=bound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":  # a streamed upload
        body = b""
        # An upload the client gave up on ends without the last chunk.
        while (line := handler.rfile.readline()) and (size := int(line.split(b";")[0], 16)):
            body += handler.rfile.read(size)
            handler.rfile.readline()
        handler.rfile.readline()
        return body
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
