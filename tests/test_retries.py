"""Throttling and server errors: case C12, against a server replaying its answers."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from pipeline.errors import ScimHttpError
from pipeline.extract import fetch_all
from pipeline.scim.client import ScimClient

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


class SequenceServer:
    """Answers each request with the next scripted reply; records what it got."""

    def __init__(self, replies: list[Callable[[dict[str, Any]], tuple]]) -> None:
        self.replies = list(replies)
        self.requests: list[tuple[str, float]] = []

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length)) if length else None
        self.requests.append((environ["REQUEST_METHOD"], time.monotonic()))
        status, headers, reply = self.replies.pop(0)(body)
        start_response(status, [("Content-Type", "application/scim+json"), *headers])
        return [json.dumps(reply).encode()]


def throttled(headers: list[tuple[str, str]]) -> Callable[[Any], tuple]:
    detail = {"schemas": [ERROR], "status": "429", "detail": "Too many requests"}
    return lambda body: ("429 Too Many Requests", headers, detail)


def http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


def recording_client(wsgi_client, app, waits: list[float], **settings) -> ScimClient:
    return wsgi_client(app, sleep=waits.append, **settings)


def test_rate_limited_post_waits_as_told_and_creates_once(wsgi_client):
    created = lambda body: ("201 Created", [], {**body, "id": "n-0001"})  # noqa: E731
    server = SequenceServer(
        [
            throttled([("Retry-After", "2")]),
            lambda body: throttled(
                [("Date", http_date(0)), ("Retry-After", http_date(3))]
            )(body),
            created,
        ]
    )
    waits: list[float] = []
    client = recording_client(wsgi_client, server, waits)

    response = client.create("Users", {"userName": "new@example.com"})

    assert response.json_body["id"] == "n-0001"
    assert [method for method, _ in server.requests] == ["POST", "POST", "POST"]
    assert waits[0] == 2
    assert waits[1] >= 2.5 and waits[1] <= 4
    assert server.replies == []


def test_retry_after_as_a_date_counts_from_the_server_clock(wsgi_client):
    # The server's clock runs an hour behind ours: only the difference counts.
    server = SequenceServer(
        [
            throttled([("Date", http_date(-3600)), ("Retry-After", http_date(-3597))]),
            lambda body: ("201 Created", [], {**body, "id": "n-1"}),
        ]
    )
    waits: list[float] = []

    recording_client(wsgi_client, server, waits).create("Users", {"userName": "a"})

    assert waits == [3]


def test_throttling_disguised_as_500_on_a_get_is_retried(wsgi_client):
    users = [{"id": "u1", "userName": "ana@example.com"}]
    listing = {"schemas": [LIST], "totalResults": 1, "Resources": users}
    busy = {
        "schemas": [ERROR],
        "status": "500",
        "detail": "REQUEST_LIMIT_EXCEEDED: concurrent limit of 4 requests exceeded",
    }
    server = SequenceServer(
        [
            lambda body: ("500 Internal Server Error", [], busy),
            lambda body: ("200 OK", [], listing),
        ]
    )
    waits: list[float] = []

    result = fetch_all(recording_client(wsgi_client, server, waits), "Users", 100)

    assert [u["id"] for u in result.resources] == ["u1"]
    assert result.complete
    assert len(waits) == 1


def test_a_post_answered_500_is_not_sent_again(wsgi_client):
    # The user may have been created before the server failed: sending the POST
    # again could create it twice.
    failure = {"schemas": [ERROR], "status": "500", "detail": "boom"}
    server = SequenceServer([lambda body: ("500 Internal Server Error", [], failure)])
    waits: list[float] = []

    with pytest.raises(ScimHttpError, match="answered HTTP 500: boom"):
        recording_client(wsgi_client, server, waits).create("Users", {"userName": "a"})

    assert len(server.requests) == 1
    assert waits == []


def test_waits_are_capped(wsgi_client):
    server = SequenceServer(
        [
            throttled([("Retry-After", "3600")]),
            lambda body: ("201 Created", [], {**body, "id": "n-1"}),
        ]
    )
    waits: list[float] = []

    recording_client(wsgi_client, server, waits, max_wait=30).create(
        "Users", {"userName": "a"}
    )

    assert waits == [30]
