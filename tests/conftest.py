from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pipeline.scim.client import ConnectionSettings, ScimClient

BASE_URL = "http://127.0.0.1/scim/v2"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's own SCIM settings."""
    for name in ("SCIM_URL", "SCIM_API_KEY", "SCIM_AUTH", "SCIM_DIALECT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def wsgi_client() -> Iterator[Callable[..., ScimClient]]:
    """Make a ScimClient talking to a WSGI app in process."""
    clients: list[ScimClient] = []

    def make(
        app: Any, sleep: Callable[[float], None] | None = None, **settings: Any
    ) -> ScimClient:
        settings.setdefault("api_key", "test-key")
        settings.setdefault("url", BASE_URL)
        client = ScimClient(
            ConnectionSettings(**settings),
            transport=httpx.WSGITransport(app=app),
            sleep=sleep or (lambda seconds: None),
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
