"""Breaker state and outage windows in the lineage database (SQLite and PostgreSQL), and restoring them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from blocks.circuit_breaker import CircuitBreaker
from blocks.lineage import LineageStore
from blocks.lineage_service_status import embedder_service


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def lineage(request, tmp_path):
    url = (f"sqlite:///{tmp_path}/lineage.db" if request.param == "sqlite"
           else request.getfixturevalue("postgres_database_url"))
    with LineageStore.from_url(url) as store:
        store.ensure_schema()
        yield store


class Clocks:
    """A monotonic and a wall clock that move together."""

    def __init__(self):
        self.mono = 1_000.0
        self.wall_time = datetime(2026, 3, 1, 2, 0, 0)

    def clock(self) -> float:
        return self.mono

    def wall(self) -> datetime:
        return self.wall_time

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall_time += timedelta(seconds=seconds)


def _breaker(clocks: Clocks, cooldown_s: float = 600) -> CircuitBreaker:
    return CircuitBreaker("embedder:m", failure_threshold=2, cooldown_s=cooldown_s, clock=clocks.clock,
                          wall=clocks.wall)


SERVICE = embedder_service("text-embedding-3-large-3072")


def test_an_open_breaker_is_saved_with_its_outage_window(lineage):
    """Two failures open it: service_status says open since then, one outage window holds failures and refusals."""
    clocks = Clocks()
    breaker = _breaker(clocks)
    for _ in range(2):
        breaker.allow()
        breaker.record_failure("EmbedderUnavailable")
    breaker.allow(), breaker.allow()  # two chunks short-circuited
    lineage.save_breaker(SERVICE, breaker.snapshot(), "run-1")
    (status,) = lineage.service_statuses()
    assert (status["service"], status["state"], status["since"]) == (SERVICE, "open", clocks.wall_time)
    assert status["last_failure"] == "EmbedderUnavailable" and status["run_id"] == "run-1"
    (outage,) = lineage.service_outages()
    assert outage["closed_at"] is None and outage["opened_by_run"] == "run-1"
    assert (outage["failures"], outage["short_circuited"], outage["times_opened"]) == (2, 2, 1)


def test_next_run_starts_open_inside_the_cooldown_and_probes_after_it(lineage):
    """Restored 5 minutes into a 10-minute cool-down it refuses calls; 5 minutes later it lets one probe through."""
    clocks = Clocks()
    first = _breaker(clocks)
    first.record_failure("E"), first.record_failure("E")
    lineage.save_breaker(SERVICE, first.snapshot(), "run-1")
    clocks.advance(300)
    second = _breaker(clocks)  # a new process: a fresh breaker
    second.restore(lineage.breaker_snapshot(SERVICE))
    assert second.state == "open" and not second.allow()
    clocks.advance(300)
    assert second.state == "half_open" and second.allow() and not second.allow()


def test_a_successful_probe_closes_the_same_outage_window(lineage):
    """The run that sees the primary answer closes the outage opened by an earlier run, counts added up."""
    clocks = Clocks()
    first = _breaker(clocks, cooldown_s=60)
    first.record_failure("E"), first.record_failure("E")
    first.allow()
    lineage.save_breaker(SERVICE, first.snapshot(), "run-1")
    clocks.advance(3600)
    second = _breaker(clocks, cooldown_s=60)
    second.restore(lineage.breaker_snapshot(SERVICE))
    assert second.allow()
    second.record_success()
    lineage.save_breaker(SERVICE, second.snapshot(), "run-2")
    (outage,) = lineage.service_outages()
    assert outage["closed_at"] == clocks.wall_time and outage["closed_by_run"] == "run-2"
    assert outage["opened_by_run"] == "run-1" and (outage["failures"], outage["short_circuited"]) == (2, 1)
    assert lineage.service_statuses()[0]["state"] == "closed"
    assert lineage.breaker_snapshot(SERVICE).outage is None


def test_flapping_gives_one_window_per_outage(lineage):
    """Open, close, open again: two windows, the first closed, the second open."""
    clocks = Clocks()
    breaker = _breaker(clocks, cooldown_s=10)
    for _ in range(2):
        breaker.record_failure("E"), breaker.record_failure("E")
        clocks.advance(10)
        assert breaker.allow()
        breaker.record_success()
        clocks.advance(5)
    breaker.record_failure("E"), breaker.record_failure("E")
    lineage.save_breaker(SERVICE, breaker.snapshot(), "run-1")
    windows = lineage.service_outages()
    assert [w["closed_at"] is None for w in windows] == [False, False, True]
    report = lineage.service_report(clocks.wall_time - timedelta(days=1))
    assert report["open_outages"] == 1 and len(report["outages"]) == 3
    assert report["states"][SERVICE]["state"] == "open"


def test_a_closed_state_does_not_carry_failures_into_the_next_run(lineage):
    """One failure below the threshold, saved and restored: the next run needs the full threshold again."""
    clocks = Clocks()
    breaker = _breaker(clocks)
    breaker.record_failure("E")
    lineage.save_breaker(SERVICE, breaker.snapshot(), "run-1")
    restored = _breaker(clocks)
    restored.restore(lineage.breaker_snapshot(SERVICE))
    restored.record_failure("E")
    assert restored.state == "closed" and lineage.service_outages() == []
    assert lineage.breaker_snapshot("embedder:unknown") is None


def test_reembed_candidates_page_by_id_and_count_only_completed_other_models(lineage):
    """Completed cases of another model than the primary, in id pages; in-progress ones and primary ones are not."""
    rows = [{"record_id": f"c{i}", "status": "completed", "embedding_model": "nomic-embed-text-768"} for i in range(5)]
    rows += [{"record_id": "p0", "status": "completed", "embedding_model": "primary-3072"},
             {"record_id": "w0", "status": "in_progress", "embedding_model": "nomic-embed-text-768"}]
    lineage.upsert_records(rows)
    assert lineage.reembed_candidates("primary-3072", limit=3) == ["c0", "c1", "c2"]
    assert lineage.reembed_candidates("primary-3072", after="c2", limit=3) == ["c3", "c4"]
    assert lineage.reembed_backlog("primary-3072") == 5
    assert lineage.service_report(datetime(2000, 1, 1), primary_model="primary-3072")["awaiting_reembed"] == 5
