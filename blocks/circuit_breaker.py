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
thread-safe.

Across runs: the breaker keeps wall-clock facts beside its monotonic clock
(when it entered its state, when it last opened, the last failure) and one
``OutageWindow`` per outage (opened -> closed, failures, calls refused).
``snapshot()`` hands them out as plain data and ``restore()`` takes them
back, so a run can start with the breaker the previous run left open instead
of spending a fresh retry budget on a service that is still down. Writing
snapshots somewhere is the caller's business (the lineage database:
``blocks.lineage_service_status``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["CircuitBreaker", "BreakerState", "BreakerStats", "BreakerSettings", "BreakerSnapshot", "OutageWindow"]

BreakerState = Literal["closed", "open", "half_open"]


@dataclass
class BreakerStats:
    """What a breaker did: calls let through, failures seen, calls refused, times it opened."""

    allowed: int = 0
    failures: int = 0
    short_circuited: int = 0
    opened: int = 0


def _wall_now() -> datetime:
    """Naive UTC, as the lineage tables store times."""
    return datetime.now(UTC).replace(tzinfo=None)


class BreakerSettings(BaseModel):
    """Breaker thresholds (the ``[embedder.breaker]`` table of the configuration file).

    The cool-down also spans runs: a run starting within ``cooldown_s`` of
    the last opening sends nothing to the primary until it has passed.
    """

    failure_threshold: int = Field(3, ge=1, description="Failed chunks in a row that open the breaker.")
    cooldown_s: float = Field(30.0, ge=0, description="Seconds the breaker stays open before one probe is let through.")

    def build(self, name: str) -> "CircuitBreaker":
        return CircuitBreaker(name, failure_threshold=self.failure_threshold, cooldown_s=self.cooldown_s)


@dataclass
class OutageWindow:
    """One outage: from the breaker opening until a probe closes it (a failed probe extends it)."""

    outage_id: str
    opened_at: datetime
    closed_at: datetime | None = None
    failures: int = 0
    short_circuited: int = 0
    times_opened: int = 1


@dataclass(frozen=True)
class BreakerSnapshot:
    """What a breaker knows, as plain data in wall-clock time (naive UTC)."""

    state: BreakerState
    since: datetime
    last_opened_at: datetime | None = None
    consecutive_failures: int = 0
    last_failure_at: datetime | None = None
    last_failure: str | None = None
    cooldown_s: float = 0.0
    outage: OutageWindow | None = None
    """The outage under way (state open or half-open), else None."""
    windows: tuple[OutageWindow, ...] = field(default_factory=tuple)
    """Every outage this breaker opened, extended or closed (the one under way included)."""


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
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], datetime] = _wall_now):
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, got {failure_threshold}")
        if cooldown_s < 0:
            raise ValueError(f"cooldown_s must not be negative, got {cooldown_s}")
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.stats = BreakerStats()
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._consecutive = 0
        self._opened_at = 0.0
        self._probing = False
        self._since = wall()
        self._last_opened_wall: datetime | None = None
        self._last_failure_wall: datetime | None = None
        self._last_failure: str | None = None
        self._outage: OutageWindow | None = None
        self._windows: dict[str, OutageWindow] = {}

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
                self._state, self._probing, self._since = "half_open", False, self._wall()
            allowed = self._state == "closed" or (self._state == "half_open" and not self._probing)
            if self._state == "half_open" and allowed:
                self._probing = True
            if allowed:
                self.stats.allowed += 1
            else:
                self.stats.short_circuited += 1
                if self._outage is not None:
                    self._outage.short_circuited += 1
            return allowed

    def record_success(self) -> None:
        """The call answered: a probe closes the breaker, any success resets the failure count."""
        with self._lock:
            if self._state == "open":  # a call started before the breaker opened: no evidence either way
                return
            if self._state != "closed":
                self._since = self._wall()
                if self._outage is not None:
                    self._outage.closed_at = self._since
                    self._outage = None
            self._state, self._consecutive, self._probing = "closed", 0, False

    def record_failure(self, reason: str | None = None) -> None:
        """The call failed: a failed probe, or the threshold reached, opens the breaker.

        ``reason`` (an error type, never a text or a secret) is kept as the last failure.
        """
        with self._lock:
            self.stats.failures += 1
            self._last_failure_wall, self._last_failure = self._wall(), reason
            if self._outage is not None:
                self._outage.failures += 1
            if self._state == "open":
                return
            self._consecutive += 1
            if self._state == "half_open" or self._consecutive >= self.failure_threshold:
                now = self._wall()
                if self._outage is None:
                    self._outage = OutageWindow(str(uuid.uuid4()), opened_at=now, failures=self._consecutive,
                                                times_opened=0)
                    self._windows[self._outage.outage_id] = self._outage
                self._outage.times_opened += 1
                self._state, self._opened_at, self._probing = "open", self._clock(), False
                self._since = self._last_opened_wall = now
                self.stats.opened += 1

    # ------------------------------------------------------------ across runs

    def snapshot(self) -> BreakerSnapshot:
        """The breaker's state and outages now, as plain data (copies, safe to keep)."""
        with self._lock:
            state, since = self._state, self._since
            if state == "open" and self._clock() - self._opened_at >= self.cooldown_s:
                state = "half_open"
            outage = replace(self._outage) if self._outage is not None else None
            windows = tuple(outage if outage is not None and w is self._outage else replace(w)
                            for w in self._windows.values())
            return BreakerSnapshot(state=state, since=since, last_opened_at=self._last_opened_wall,
                                   consecutive_failures=self._consecutive, last_failure_at=self._last_failure_wall,
                                   last_failure=self._last_failure, cooldown_s=self.cooldown_s,
                                   outage=outage, windows=windows)

    def restore(self, snapshot: BreakerSnapshot) -> None:
        """Take over what an earlier breaker (another run) knew.

        An open or half-open snapshot reopens this breaker, its cool-down
        counted from the snapshot's last opening on the wall clock (with this
        breaker's ``cooldown_s``), and continues the same outage window. A
        closed one only keeps the last failure for the record: failures of an
        earlier run do not count towards this run's threshold.
        """
        with self._lock:
            self._last_failure_wall, self._last_failure = snapshot.last_failure_at, snapshot.last_failure
            if snapshot.state == "closed" or snapshot.outage is None:
                return
            opened = snapshot.last_opened_at or snapshot.outage.opened_at
            elapsed = max(0.0, (self._wall() - opened).total_seconds())
            self._state, self._probing, self._consecutive = "open", False, 0
            self._opened_at = self._clock() - elapsed
            self._since, self._last_opened_wall = snapshot.since, opened
            self._outage = replace(snapshot.outage)
            self._windows[self._outage.outage_id] = self._outage

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.name!r}, state={self.state!r}, {self.stats})"
