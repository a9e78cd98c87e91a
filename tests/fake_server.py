"""A small stateful SCIM server whose schemas a test chooses, as a WSGI app."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


class SchemaServer:
    """Serves `/Schemas` as given, lists and creates users and groups; no paging
    tricks, no auth."""

    def __init__(self, schemas: list[dict[str, Any]]) -> None:
        self.schemas = schemas
        self.resources: dict[str, list[dict[str, Any]]] = {"Users": [], "Groups": []}
        self.posted: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        endpoint = environ["PATH_INFO"].rstrip("/").rsplit("/", 1)[-1]
        if environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length))
            self.posted.append(body)
            created = {**body, "id": f"n{next(self._ids)}"}
            self.resources[endpoint].append(created)
            return self._reply(start_response, "201 Created", created)
        items = self.schemas if endpoint == "Schemas" else self.resources[endpoint]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        start = int(query.get("startIndex", ["1"])[0])
        size = int(query.get("pageSize", ["100"])[0])
        page = items[start - 1 : start - 1 + size]
        body = {"schemas": [LIST], "totalResults": len(items), "Resources": page}
        return self._reply(start_response, "200 OK", body)

    @staticmethod
    def _reply(start_response: Callable[..., Any], status: str, body: Any):
        start_response(status, [("Content-Type", "application/scim+json")])
        return [json.dumps(body).encode()]
