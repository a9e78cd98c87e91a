"""Serve the sandbox over HTTP/1.1 on loopback, with keep-alive, from the stdlib.

wsgiref answers one request per connection; clients that reuse connections (httpx
does) would pay a new connection on every request. This small server keeps
connections open, serves each in its own thread, and on stop closes them all and
waits for their threads.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import logging
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from socketserver import TCPServer, ThreadingMixIn
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from pipeline.errors import PipelineError
from pipeline.sandbox.app import Dialect, build_app
from pipeline.sandbox.faults import ConnectionDropped, Faults

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

logger = logging.getLogger(__name__)

IDLE_TIMEOUT = 60
"""Seconds an idle keep-alive connection stays open."""

NO_BODY_STATUSES = (204, 304)

INTERNAL_ERROR = (
    "500 Internal Server Error",
    [("Content-Type", "application/scim+json")],
    b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], '
    b'"status": "500", "detail": "Internal server error"}',
)


class _RequestHandler(BaseHTTPRequestHandler):
    """Turn each HTTP request into a WSGI call, keeping the connection open."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    disable_nagle_algorithm = True
    server: _ThreadingServer

    def do_request(self) -> None:
        started = time.perf_counter()
        path = self.path.partition("?")[0]
        try:
            environ = self._environ(self._read_body())
            status, headers, content = _call(self.server.app, environ)
        except ConnectionDropped:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            logger.debug("%s %s dropped on purpose", self.command, path)
            return
        except Exception:
            logger.exception("The sandbox failed on %s %s", self.command, path)
            self.close_connection = True
            status, headers, content = INTERNAL_ERROR
        self._respond(status, headers, content)
        elapsed = (time.perf_counter() - started) * 1000
        logger.debug("%s %s %s %.0f ms", self.command, path, status[:3], elapsed)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_request

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunks()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunks(self) -> bytes:
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers, which the sandbox has no use for
        return b"".join(chunks)

    def _environ(self, body: bytes) -> dict[str, Any]:
        path, _, query = self.path.partition("?")
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, "iso-8859-1"),
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": host,
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
        }
        for name in self.headers:
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                environ[key] = ",".join(self.headers.get_all(name, []))
        return environ

    def _respond(
        self, status: str, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        if int(code) not in NO_BODY_STATUSES:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and int(code) not in NO_BODY_STATUSES:
            self.wfile.write(body)

    def version_string(self) -> str:
        return "scim-pipeline-sandbox"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Do nothing: do_request logs one line per request itself."""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s: " + format, self.client_address[0], *args)


def _call(
    app: WSGIApplication, environ: dict[str, Any]
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Call a WSGI application, and return its status, headers and whole body."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> Any:
        started[:] = [status, headers]
        return lambda data: None

    result: Iterable[bytes] = app(environ, start_response)  # type: ignore[arg-type]
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return started[0], started[1], body


class _ThreadingServer(ThreadingMixIn, TCPServer):
    """A TCP server with a thread per connection, that knows its open connections.

    It is a bare TCPServer, not an HTTPServer, which looks its own name up in the DNS.
    """

    allow_reuse_address = True
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], app: WSGIApplication) -> None:
        self.app = app
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake every connection's thread by shutting its socket down."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            # A connection the client closed already cannot be shut down.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("Connection from %s failed", client_address[0], exc_info=True)


class SandboxServer:
    """Serve a WSGI application on loopback from a background thread.

    Port 0 takes a free port; ``url`` is the SCIM base URL. ``stop()`` closes every
    connection, joins the threads and saves the sandbox's state.
    """

    def __init__(
        self, app: WSGIApplication, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the sandbox serves on loopback only, not on {host}")
        self.app = app
        self.host = host
        self.port = port
        self._server: _ThreadingServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The SCIM base URL, ``http://127.0.0.1:<port>/scim/v2``."""
        return f"http://{self.host}:{self.port}/scim/v2"

    def start(self) -> None:
        """Listen, and serve from a background thread."""
        self._server = _ThreadingServer((self.host, self.port), self.app)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def wait(self) -> None:
        """Block until the server stops; Ctrl-C interrupts the wait."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        """Stop serving, close the connections, join the threads, save the state."""
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None
        flush = getattr(self.app, "flush", None)
        if flush is not None:
            flush()

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def serve(
    port: int = 8765,
    api_key: str | None = None,
    state_path: str | Path | None = None,
    seed_path: str | Path | None = None,
    dialect: Dialect = "psoda",
    announce: Callable[[str, str], None] | None = None,
    faults: Faults | None = None,
) -> None:
    """Serve the sandbox on 127.0.0.1 until Ctrl-C (or SIGTERM), then save its state.

    Without ``api_key`` a throwaway key is made. ``announce(url, key)`` is called
    once the server listens.
    """
    key = api_key or secrets.token_urlsafe(24)
    app = build_app(
        dialect=dialect,
        api_keys=(key,),
        state_path=state_path,
        seed_path=seed_path,
        faults=faults,
    )
    server = SandboxServer(app, port=port)
    try:
        server.start()
    except OSError as error:
        raise PipelineError(
            f"cannot listen on 127.0.0.1:{port} ({error.strerror}); "
            "choose another port with --port"
        ) from error

    with _sigterm_interrupts():
        try:
            if announce is not None:
                announce(server.url, key)
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Within it, SIGTERM interrupts like Ctrl-C, so that the state is saved."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
