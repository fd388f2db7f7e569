"""CircuitBreaker: closed -> open after K failures in a row -> half-open probe after the cool-down."""

from __future__ import annotations

import pytest

from blocks.circuit_breaker import CircuitBreaker


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def test_opens_after_threshold_consecutive_failures_and_refuses_calls(clock):
    """Three failures in a row open it; while open, allow() says no and counts the refusals."""
    breaker = CircuitBreaker("p", failure_threshold=3, cooldown_s=10, clock=clock)
    for _ in range(3):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow() and not breaker.allow()
    assert (breaker.stats.allowed, breaker.stats.short_circuited, breaker.stats.opened) == (3, 2, 1)


def test_a_success_resets_the_consecutive_count(clock):
    """Failures separated by a success never reach the threshold."""
    breaker = CircuitBreaker("p", failure_threshold=2, clock=clock)
    for _ in range(5):
        breaker.record_failure()
        breaker.record_success()
    assert breaker.state == "closed" and breaker.stats.opened == 0


def test_after_the_cooldown_exactly_one_probe_goes_through_and_success_closes(clock):
    """Half-open lets one probe through at a time; its success closes the breaker."""
    breaker = CircuitBreaker("p", failure_threshold=1, cooldown_s=10, clock=clock)
    breaker.record_failure()
    clock.now += 9.9
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.state == "half_open"
    assert breaker.allow() and not breaker.allow()  # the probe, then everyone else waits
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow()


def test_a_failed_probe_reopens_for_another_cooldown(clock):
    """A failed probe opens the breaker again, counted as a second opening."""
    breaker = CircuitBreaker("p", failure_threshold=2, cooldown_s=5, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    clock.now += 5
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow() and breaker.stats.opened == 2
    clock.now += 5
    assert breaker.allow()


def test_late_answers_while_open_change_nothing(clock):
    """A call started before the breaker opened and answering afterwards neither closes nor extends it."""
    breaker = CircuitBreaker("p", failure_threshold=1, cooldown_s=5, clock=clock)
    breaker.record_failure()
    clock.now += 3
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now += 2
    assert breaker.state == "half_open"


def test_rejects_nonsense_settings():
    """A threshold below one or a negative cool-down is refused, naming the setting."""
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0)
    with pytest.raises(ValueError, match="cooldown_s"):
        CircuitBreaker(cooldown_s=-1)
