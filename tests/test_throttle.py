"""The concurrency limit halves on throttling and comes back one step at a time."""

from __future__ import annotations

import threading

from pipeline.scim.throttle import Throttle


def test_throttling_halves_and_answers_raise_slowly():
    throttle = Throttle(16)

    throttle.throttled()
    throttle.throttled()
    after_throttling = throttle.limit
    for _ in range(4):
        throttle.answered()
    one_step = throttle.limit
    for _ in range(5 + 6 + 7):
        throttle.answered()

    assert after_throttling == 4
    assert one_step == 5
    assert throttle.limit == 8


def test_never_below_one_nor_above_the_ceiling():
    throttle = Throttle(2)

    for _ in range(5):
        throttle.throttled()
    lowest = throttle.limit
    for _ in range(50):
        throttle.answered()

    assert (lowest, throttle.limit) == (1, 2)


def test_holds_requests_beyond_the_limit():
    throttle = Throttle(4)
    throttle.throttled()
    throttle.throttled()
    inside = threading.Event()
    release = threading.Event()
    peak = []

    def worker() -> None:
        with throttle:
            peak.append(throttle._in_flight)
            inside.set()
            release.wait(5)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    inside.wait(5)
    release.set()
    for thread in threads:
        thread.join(5)

    assert max(peak) == 1
