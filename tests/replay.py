"""A stateless faulty SCIM server replaying a case fixture, as a WSGI app."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

DATA = Path(__file__).parent / "data"


def load_case(name: str) -> dict[str, Any]:
    return json.loads((DATA / "scim" / name).read_text(encoding="utf-8"))


class ReplayServer:
    """Answers `GET /Users` by the startIndex sent; records every request."""

    def __init__(self, case: dict[str, Any]) -> None:
        self.case = case
        self.requests: list[dict[str, str]] = []

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        path = environ.get("PATH_INFO", "")
        self.requests.append({"path": path, **query})
        if path.endswith("/Schemas"):
            reply = {"status": 404, "body": {"detail": "no schemas"}}
        elif path.endswith("/Groups"):
            reply = {"status": 200, "body": empty_list()}
        else:
            pages = self.case["responses_by_startIndex"]
            reply = pages.get(
                query.get("startIndex", "1"), self.case["default_response"]
            )
        body = json.dumps(reply["body"]).encode()
        headers = [("Content-Type", "application/scim+json")]
        start_response(f"{reply['status']} X", headers)
        return [body]

    @property
    def start_indexes(self) -> list[int]:
        return [
            int(r["startIndex"]) for r in self.requests if r["path"].endswith("/Users")
        ]


def empty_list() -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "Resources": [],
    }
