"""A sandbox in process, seeded per test, that records every request it serves."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.sandbox import build_app

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    status: int | None = None


class Recorder:
    """WSGI middleware keeping each request's method, path and parsed body."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[Recorded] = []

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = _Body(raw)
        body = json.loads(raw, parse_constant=_refuse) if raw else None
        record = Recorded(environ["REQUEST_METHOD"], environ["PATH_INFO"], body)
        self.requests.append(record)

        def recording_start(status: str, headers: Any, *rest: Any) -> Any:
            record.status = int(status.split()[0])
            return start_response(status, headers, *rest)

        return self.app(environ, recording_start)

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]


class _Body:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def read(self, size: int = -1) -> bytes:
        chunk, self.raw = (
            (self.raw, b"") if size < 0 else (self.raw[:size], self.raw[size:])
        )
        return chunk


def _refuse(name: str) -> None:
    raise ValueError(f"not strict JSON: {name}")


def user(id_: str, user_name: str, **attributes: Any) -> dict[str, Any]:
    return {"schemas": [CORE], "id": id_, "userName": user_name, **attributes}


def seeded_app(
    tmp_path: Path,
    users: list[dict[str, Any]],
    groups: list[dict[str, Any]] = (),  # type: ignore[assignment]
    dialect: str = "psoda",
) -> Recorder:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"users": users, "groups": list(groups)}))
    return Recorder(build_app(dialect=dialect, api_keys=("test-key",), seed_path=seed))
