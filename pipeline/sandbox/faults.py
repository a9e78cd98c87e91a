"""Faults the sandbox can inject, so that retries and throttling can be tested.

Each request first waits ``latency`` seconds. Beyond ``rate_limit`` requests a
second it is refused with 429 and a ``Retry-After`` in seconds (or, with
``retry_after_date``, as an HTTP date beside a ``Date`` header). A share
``error_rate`` of the others fails with a random 5xx before it is served; a share
``drop_before_rate`` loses its connection before it is served; a share
``stall_rate`` is served only after ``stall`` seconds, by when a client with a
shorter timeout has given up; and a share ``drop_rate`` is served and then loses
its connection. In the last two the client cannot know whether a write happened.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus

import httpx

ERROR_STATUSES = (
    HTTPStatus.INTERNAL_SERVER_ERROR,
    HTTPStatus.BAD_GATEWAY,
    HTTPStatus.SERVICE_UNAVAILABLE,
)
"""The statuses of injected errors, drawn at random."""


class ConnectionDropped(httpx.RemoteProtocolError):
    """The sandbox served a request and then dropped its connection.

    Over loopback the server closes the socket without answering. Through httpx's
    ``WSGITransport`` the exception reaches the client as it would over a socket,
    an ``httpx.RemoteProtocolError``.
    """

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a response.")


@dataclass(frozen=True)
class Faults:
    """What the sandbox does wrong on purpose; the default does nothing wrong."""

    latency: float = 0.0
    rate_limit: float | None = None
    error_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int | None = None
    retry_after_date: bool = False
    drop_before_rate: float = 0.0
    stall_rate: float = 0.0
    stall: float = 0.0

    def __post_init__(self) -> None:
        if self.latency < 0 or (self.rate_limit is not None and self.rate_limit <= 0):
            raise ValueError("latency must be >= 0 and rate_limit > 0")
        if not (0 <= self.error_rate <= 1 and 0 <= self.drop_rate <= 1):
            raise ValueError("error_rate and drop_rate must be between 0 and 1")


class FaultInjector:
    """Decide, request by request, which fault to inject."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._random = random.Random(faults.seed)
        self._lock = threading.Lock()
        # A token bucket holding one second of requests, and at least one.
        self._capacity = max(faults.rate_limit or 0.0, 1.0)
        self._tokens = self._capacity
        self._refilled = time.monotonic()

    def refusal(self) -> tuple[HTTPStatus, dict[str, str]] | None:
        """Wait the latency, then return the status and headers of a refusal, if any."""
        if self.faults.latency:
            time.sleep(self.faults.latency)
        wait = self._throttle()
        if wait is not None:
            return HTTPStatus.TOO_MANY_REQUESTS, self._retry_after(wait)
        with self._lock:
            if self._random.random() < self.faults.error_rate:
                return self._random.choice(ERROR_STATUSES), {}
        return None

    def _retry_after(self, wait: int) -> dict[str, str]:
        if not self.faults.retry_after_date:
            return {"Retry-After": str(wait)}
        now = time.time()
        return {
            "Date": email.utils.formatdate(now, usegmt=True),
            "Retry-After": email.utils.formatdate(now + wait, usegmt=True),
        }

    def drops_before(self) -> bool:
        """Tell whether to drop the connection without serving the request."""
        return self._draw(self.faults.drop_before_rate)

    def stall(self) -> None:
        """Hold the request before serving it, for a share of requests."""
        if self._draw(self.faults.stall_rate):
            time.sleep(self.faults.stall)

    def _draw(self, share: float) -> bool:
        if not share:
            return False
        with self._lock:
            return self._random.random() < share

    def drops(self) -> bool:
        """Tell whether the response to a served request is to be lost."""
        if not self.faults.drop_rate:
            return False
        with self._lock:
            return self._random.random() < self.faults.drop_rate

    def _throttle(self) -> int | None:
        """Take a token, or return the whole seconds until one is available."""
        rate = self.faults.rate_limit
        if rate is None:
            return None
        with self._lock:
            now = time.monotonic()
            self._tokens = min(
                self._capacity, self._tokens + (now - self._refilled) * rate
            )
            self._refilled = now
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            return max(1, math.ceil((1 - self._tokens) / rate))
