"""How many requests may be in flight at once, lowered when the server throttles.

Halved on each 429 or 503 (never below one), then raised by one after as many
answered requests as the current limit, up to the configured concurrency: the
server's limit is found quickly and left slowly.
"""

from __future__ import annotations

import threading


class Throttle:
    """A semaphore whose size follows the server's answers."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = max(ceiling, 1)
        self.limit = self.ceiling
        self._in_flight = 0
        self._successes = 0
        self._changed = threading.Condition()

    def __enter__(self) -> Throttle:
        with self._changed:
            while self._in_flight >= self.limit:
                self._changed.wait()
            self._in_flight += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._in_flight -= 1
            self._changed.notify()

    def throttled(self) -> None:
        """The server said to slow down."""
        with self._changed:
            self.limit = max(1, self.limit // 2)
            self._successes = 0

    def answered(self) -> None:
        """A request went through; after `limit` of them, allow one more."""
        with self._changed:
            if self.limit >= self.ceiling:
                return
            self._successes += 1
            if self._successes >= self.limit:
                self.limit += 1
                self._successes = 0
                self._changed.notify()
