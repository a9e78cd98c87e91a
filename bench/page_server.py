"""A loopback SCIM list server of pre-rendered pages, for benchmarks.

The sandbox spends most of a millisecond per listed user; this one spends nothing
but the latency it is told to add, so the client is what gets measured.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import orjson

from pipeline.sandbox import generate_seed

LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


class PageServer:
    """Serves `GET /scim/v2/Users` and `/Groups` from pages rendered up front."""

    def __init__(self, users: int, page_size: int, latency: float) -> None:
        seed = generate_seed(users=users, groups=20, seed=7)
        self.latency = latency
        self.pages = {
            "Users": self._render(seed["users"], page_size),
            "Groups": self._render(seed["groups"], page_size),
        }
        self.page_size = page_size
        self.past_the_end = {
            name: orjson.dumps(
                {"schemas": [LIST], "totalResults": len(seed[key]), "Resources": []}
            )
            for name, key in (("Users", "users"), ("Groups", "groups"))
        }
        self.empty_schemas = orjson.dumps({"schemas": [LIST], "totalResults": 0})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @staticmethod
    def _render(resources: list[dict], size: int) -> dict[int, bytes]:
        total = len(resources)
        return {
            start: orjson.dumps(
                {
                    "schemas": [LIST],
                    "totalResults": total,
                    "startIndex": start,
                    "itemsPerPage": len(resources[start - 1 : start - 1 + size]),
                    "Resources": resources[start - 1 : start - 1 + size],
                }
            )
            for start in range(1, max(total, 1) + 1, size)
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/scim/v2"

    def __enter__(self) -> PageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                endpoint = parts.path.rstrip("/").rsplit("/", 1)[-1]
                query = parse_qs(parts.query)
                start = int(query.get("startIndex", ["1"])[0])
                time.sleep(server.latency)
                pages = server.pages.get(endpoint)
                if pages is None:
                    body = server.empty_schemas
                else:
                    body = pages.get(start) or server.past_the_end[endpoint]
                self.send_response(200)
                self.send_header("Content-Type", "application/scim+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
