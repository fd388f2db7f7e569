"""``CircuitBreaker``: stop calling a service that keeps failing; probe it after a cool-down.

::

    closed ── failure_threshold consecutive failures ──▶ open
      ▲                                                   │ cooldown_s passed
      │ probe succeeds                                    ▼
      └──────────────────────────────────────────── half-open ── probe fails ──▶ open

While open, ``allow()`` says no and the caller goes straight to its fallback,
so an outage costs a bounded number of calls instead of one retry budget per
batch. Half-open lets exactly one call through (the probe); the others keep
going to the fallback until it has answered. The state is in-process and
thread-safe; persisting it across runs is the caller's business.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["CircuitBreaker", "BreakerState", "BreakerStats"]

BreakerState = Literal["closed", "open", "half_open"]


@dataclass
class BreakerStats:
    """What a breaker did: calls let through, failures seen, calls refused, times it opened."""

    allowed: int = 0
    failures: int = 0
    short_circuited: int = 0
    opened: int = 0


class CircuitBreaker:
    """Closed, open or half-open; see the module docstring.

    Example:
        ```python
        breaker = CircuitBreaker("primary", failure_threshold=3, cooldown_s=30)
        if breaker.allow():
            try:
                vectors = primary.embed(texts)
            except EmbedderUnavailable:
                breaker.record_failure()
                raise
            breaker.record_success()
        ```
    """

    def __init__(self, name: str = "service", *, failure_threshold: int = 3, cooldown_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, got {failure_threshold}")
        if cooldown_s < 0:
            raise ValueError(f"cooldown_s must not be negative, got {cooldown_s}")
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.stats = BreakerStats()
        self._clock = clock
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._consecutive = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """The state now (an open breaker whose cool-down has passed reads as half-open)."""
        with self._lock:
            if self._state == "open" and self._clock() - self._opened_at >= self.cooldown_s:
                return "half_open"
            return self._state

    def allow(self) -> bool:
        """May the caller call the service now? Counts the answer in ``stats``."""
        with self._lock:
            if self._state == "open" and self._clock() - self._opened_at >= self.cooldown_s:
                self._state, self._probing = "half_open", False
            allowed = self._state == "closed" or (self._state == "half_open" and not self._probing)
            if self._state == "half_open" and allowed:
                self._probing = True
            if allowed:
                self.stats.allowed += 1
            else:
                self.stats.short_circuited += 1
            return allowed

    def record_success(self) -> None:
        """The call answered: a probe closes the breaker, any success resets the failure count."""
        with self._lock:
            if self._state == "open":  # a call started before the breaker opened: no evidence either way
                return
            self._state, self._consecutive, self._probing = "closed", 0, False

    def record_failure(self) -> None:
        """The call failed: a failed probe, or the threshold reached, opens the breaker."""
        with self._lock:
            self.stats.failures += 1
            if self._state == "open":
                return
            self._consecutive += 1
            if self._state == "half_open" or self._consecutive >= self.failure_threshold:
                self._state, self._opened_at, self._probing = "open", self._clock(), False
                self.stats.opened += 1

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.name!r}, state={self.state!r}, {self.stats})"
