"""The HTTP client: auth header, SCIM content type, timeouts, retries, one pool.

Every request goes through `ScimClient.request`, which turns httpx's exceptions and
error statuses into our own errors. GET, PUT and DELETE are retried on throttling and
server errors; a POST is never retried here, because a POST whose answer was lost may
have created the user already.
"""

from __future__ import annotations

import contextlib
import email.utils
import ipaddress
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson

from pipeline.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    ScimHttpError,
    UsageError,
)
from pipeline.scim.dialect import DIALECTS, Dialect
from pipeline.scim.throttle import Throttle

log = logging.getLogger(__name__)

SCIM_JSON = "application/scim+json"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "PUT", "DELETE"})
NOT_PROCESSED = frozenset({429, 503})
TIMED_OUT = "no answer within"


@dataclass(frozen=True)
class ConnectionSettings:
    """Where the server is and how to talk to it. The key is never shown."""

    url: str
    api_key: str = field(repr=False)
    auth: str = "api-key"
    dialect: str = "psoda"
    page_size: int = 100
    concurrency: int = 8
    timeout: float = 30.0
    allow_http: bool = False
    max_retries: int = 4
    max_wait: float = 60.0

    def __post_init__(self) -> None:
        check_url(self.url, self.allow_http)
        if not self.api_key:
            raise UsageError(
                "no API key; give --api-key KEY, --api-key-file FILE "
                "or set SCIM_API_KEY"
            )

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/")

    @property
    def scim_dialect(self) -> Dialect:
        return DIALECTS[self.dialect]

    def auth_headers(self) -> dict[str, str]:
        if self.auth == "bearer":
            return {"Authorization": f"Bearer {self.api_key}"}
        return {"API-Key": self.api_key}


def check_url(url: str, allow_http: bool) -> None:
    """Refuse a URL that is not http(s), and plain http to anything but loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"{url!r} is not a server URL; give the full base URL, "
            "e.g. --url https://example.psoda.com/scim/v2"
        )
    if parts.username or parts.password:
        raise UsageError("put no credentials in --url; use --api-key or SCIM_API_KEY")
    remote = not is_loopback(parts.hostname)
    if parts.scheme == "http" and remote and not allow_http:
        raise UsageError(
            f"plain http to {parts.hostname} would send the key unencrypted; "
            "use https, or --allow-http if you really mean it"
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait a `Retry-After` header asks for, in seconds, or None.

    An HTTP date has one-second resolution, so it is counted from the response's
    own `Date` header and rounded up.
    """
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        until = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    now = time.time()
    if date := response.headers.get("Date"):
        with contextlib.suppress(TypeError, ValueError):
            now = email.utils.parsedate_to_datetime(date).timestamp()
    return float(max(0, math.ceil(until - now)))


class ScimClient:
    """A SCIM 2.0 client over one httpx connection pool, safe to share by threads."""

    def __init__(
        self,
        settings: ConnectionSettings,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.dialect = settings.scim_dialect
        self._sleep = sleep
        self.throttle = Throttle(settings.concurrency)
        self._answered = False  # whether the server has answered anything yet
        headers = {"Accept": SCIM_JSON, **settings.auth_headers()}
        limits = httpx.Limits(
            max_connections=max(settings.concurrency, 1) + 2,
            max_keepalive_connections=max(settings.concurrency, 1) + 2,
        )
        self._http = httpx.Client(
            base_url=settings.base_url,
            headers=headers,
            timeout=settings.timeout,
            limits=limits,
            transport=transport,
        )

    def __enter__(self) -> ScimClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def list_page(self, endpoint: str, start_index: int, count: int) -> dict[str, Any]:
        """One page of a list: `GET /Users?startIndex=..&pageSize=..`."""
        params = {"startIndex": start_index, self.dialect.page_size_param: count}
        return self.request("GET", f"/{endpoint}", params=params).json_body

    def get(self, path: str) -> dict[str, Any]:
        return self.request("GET", path).json_body

    def create(self, endpoint: str, body: dict[str, Any]) -> ScimResponse:
        return self.request("POST", f"/{endpoint}", body=body)

    def replace(self, endpoint: str, id_: str, body: dict[str, Any]) -> ScimResponse:
        return self.request("PUT", f"/{endpoint}/{id_}", body=body)

    def delete(self, endpoint: str, id_: str) -> ScimResponse:
        return self.request("DELETE", f"/{endpoint}/{id_}")

    def pause(self, seconds: float) -> None:
        """Wait, with the clock this client was given."""
        self._sleep(min(seconds, self.settings.max_wait))

    def serves(self, path: str) -> bool:
        """Whether a GET of this path succeeds (404 and 501 mean no)."""
        try:
            self.get(path)
        except ScimHttpError as error:
            if error.status in (404, 405, 501):
                return False
            raise
        return True

    def schemas(self) -> list[dict[str, Any]]:
        """The server's schema documents; empty when it serves none."""
        try:
            listing = self.get("/Schemas")
        except ScimHttpError as error:
            if error.status in (404, 501):
                return []
            raise
        resources = listing.get("Resources")
        if isinstance(resources, list):
            return resources
        return [listing] if listing.get("id") else []

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> ScimResponse:
        """Send one request, retrying it when that is safe, and check its status."""
        content = orjson.dumps(body) if body is not None else None
        headers = {"Content-Type": SCIM_JSON} if content is not None else None
        attempt = 0
        while True:
            with self.throttle:
                response = self._send(method, path, params, content, headers)
            if isinstance(response, httpx.Response):
                if response.status_code in NOT_PROCESSED:
                    self.throttle.throttled()
                else:
                    self.throttle.answered()
                if response.status_code < 400:
                    return ScimResponse(response)
            failure = response if isinstance(response, str) else None
            answered = response if isinstance(response, httpx.Response) else None
            wait = self._retry_wait(method, answered, attempt)
            if wait is None:
                if answered is None:
                    raise self._no_answer(path, failure)
                raise self._status_error(method, path, answered)
            self._sleep(wait)
            attempt += 1

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        content: bytes | None,
        headers: dict[str, str] | None,
    ) -> httpx.Response | str:
        """Send once; a failed connection or timeout comes back as its reason."""
        started = time.perf_counter()
        try:
            response = self._http.request(
                method, path, params=params, content=content, headers=headers
            )
        except httpx.TimeoutException as error:
            log.info(
                "%s %s timed out after %.0f s", method, path, self.settings.timeout
            )
            return (
                f"no answer within {self.settings.timeout:g} s ({type(error).__name__})"
            )
        except httpx.TransportError as error:
            log.info("%s %s failed: %s", method, path, type(error).__name__)
            return str(error) or type(error).__name__
        self._answered = True
        elapsed = (time.perf_counter() - started) * 1000
        shown = f"{path}?{urlencode(params)}" if params else path
        log.info("%s %s %d %.0fms", method, shown, response.status_code, elapsed)
        return response

    def _retry_wait(
        self, method: str, response: httpx.Response | None, attempt: int
    ) -> float | None:
        """How long to wait before retrying, or None when not to retry.

        429 and 503 mean the request was not processed, so any method is sent
        again; other failures only for methods that are safe to repeat.
        """
        if attempt >= self.settings.max_retries:
            return None
        status = response.status_code if response is not None else None
        not_processed = status in NOT_PROCESSED
        if method not in IDEMPOTENT and not not_processed:
            return None
        if status is not None and status not in RETRY_STATUSES:
            return None
        asked = retry_after_seconds(response) if response is not None else None
        if asked is None:
            asked = min(2.0**attempt, 30.0) * (0.5 + random.random() / 2)
        return min(asked, self.settings.max_wait)

    def _no_answer(self, path: str, failure: str | None) -> ConnectionFailed:
        """The error for a request that got no answer, worded for what happened."""
        reason = failure or "no answer"
        timed_out = reason.startswith(TIMED_OUT)
        if self._answered:
            return ConnectionFailed(
                f"no answer from {self.settings.base_url}{path}: {reason}; the "
                "server stopped answering part way; run the same command again to "
                "finish",
                timed_out,
            )
        return ConnectionFailed(
            f"cannot reach {self.settings.base_url}{path}: {reason}; "
            "check --url and that the server is running",
            timed_out,
        )

    def _status_error(
        self, method: str, path: str, response: httpx.Response
    ) -> ScimHttpError | AuthenticationFailed:
        status = response.status_code
        if status in (401, 403):
            return AuthenticationFailed(
                f"the server refused the API key (HTTP {status}); check --api-key "
                "or SCIM_API_KEY, and --auth api-key|bearer"
            )
        detail = error_detail(response)
        message = f"{method} {path} answered HTTP {status}"
        if status == 404 and method == "GET":
            detail = (
                f"{detail}; check that --url is the SCIM base URL, ending in /scim/v2"
            ).lstrip("; ")
        return ScimHttpError(
            f"{message}: {detail}" if detail else message, status, detail
        )


def error_detail(response: httpx.Response) -> str:
    """The `detail` of a SCIM error body, or a short excerpt of any other body."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text[:200].strip()
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("scimType") or "")
    return ""


class ScimResponse:
    """A successful response, with its body parsed on demand."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self._response = response

    @property
    def json_body(self) -> dict[str, Any]:
        if not self._response.content:
            return {}
        try:
            body = orjson.loads(self._response.content)
        except orjson.JSONDecodeError as error:
            raise ScimHttpError(
                f"the server answered HTTP {self.status} with a body that is not "
                "JSON; check that --url is the SCIM base URL ending in /scim/v2",
                self.status,
            ) from error
        if not isinstance(body, dict):
            raise ScimHttpError("the server answered with unexpected JSON", self.status)
        return body
