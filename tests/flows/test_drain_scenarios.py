"""Weaviate outages end to end: the real weaviate-client against the stand-in, the pipeline, the queue, the drain.

Each scenario counts objects in the store, lineage states and queue rows:
nothing lost, nothing stored twice, nothing embedded twice.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from blocks.load_queue import LoadQueue
from blocks.weaviate_store import WeaviateStore
from flows import drain as drain_module
from flows.config import load_blocks
from flows.drain import drain_queue, unqueued_pending
from flows.pipeline import PIPELINE_LOCK, run_pipeline
from generator import generate_staging
from stages.errors import RunLocked

ALL_HISTORY = datetime(2000, 1, 1)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("drain_generated") / "staging"
    generate_staging(out, 60, seed=5)
    return out


def _store(standin) -> WeaviateStore:
    return WeaviateStore(http_port=standin.http_port, grpc_port=standin.grpc_port, init_timeout=1.0, batch_retries=0)


def _setup(generated, tmp_path, standin, **settings):
    staging = tmp_path / "staging"
    shutil.copytree(generated, staging)
    blocks = load_blocks(home=tmp_path / "home", staging_path=staging)
    blocks.store = _store(standin)
    if settings:
        blocks.settings = blocks.settings.model_copy(update=settings)
    case = ds.dataset(staging / "case", format="parquet").to_table()
    deleted = case.filter(case.column("IsDeleted")).column("Id").to_pylist()
    live = case.filter(pc.invert(case.column("IsDeleted"))).column("Id").to_pylist()
    return blocks, sorted(live), sorted(deleted)


def _status(blocks, ids) -> dict[str, tuple[str, str, str]]:
    state = blocks.lineage.lineage_state(ids).to_pylist()
    return {r["record_id"]: (r["status"], r["current_stage"], r["checksum"]) for r in state}


def _stored(standin, blocks) -> list[tuple[str, str]]:
    """(case_id, checksum) of every object, straight from the stand-in: duplicates would show."""
    with standin.state.lock:
        objects = list(standin.state.objects.get(blocks.store.collection, {}).values())
    return sorted((o.properties["case_id"], o.properties["checksum"]) for o in objects)


def _assert_everything_loaded_once(blocks, standin, live, deleted):
    stored = _stored(standin, blocks)
    assert [c for c, _ in stored] == live  # every live case, once; no deleted case
    status = _status(blocks, live + deleted)
    assert {c: status[c][0] for c in live} == {c: "completed" for c in live}
    assert {c: status[c][0] for c in deleted} == {c: "deleted" for c in deleted}
    assert dict(stored) == {c: status[c][2] for c in live}  # lineage checksum = stored checksum


def test_weaviate_down_for_a_run_queues_everything_then_drain_loads_all_once(generated, tmp_path, weaviate_standin):
    """Down: the run completes with every load queued (load_pending), a rerun redoes nothing; back: drain loads all."""
    blocks, live, deleted = _setup(generated, tmp_path, weaviate_standin)
    queue = LoadQueue.under(blocks.home)
    weaviate_standin.faults.go_down()

    first = run_pipeline(blocks)
    assert (first["loaded"], first["failed"], first["deleted"]) == (0, 0, 0)
    assert first["queued"] == len(live) + len(deleted)
    assert blocks.lineage.last_successful_run(PIPELINE_LOCK)["high_water_mark"] is not None  # a completed run
    status = _status(blocks, live)
    assert {s[:2] for s in status.values()} == {("load_pending", "load")} and len(status) == len(live)
    counts = first["reconciliation"]["counts"]
    assert counts["lineage_pending"] == len(live) + len(deleted) and counts["store_count"] is None
    assert "store_lineage_mismatch" not in {d["type"] for d in first["reconciliation"]["discrepancies"]}
    size = queue.size()
    assert (size.segments, size.rows) == (1, first["queued"]) and size.oldest_age_hours is not None

    second = run_pipeline(blocks, window_start=ALL_HISTORY)  # still down: the queued cases are not redone
    assert second["stages"]["embed"]["processed"] == 0 and second["skipped_unchanged"] >= len(live)
    assert second["queued"] == len(deleted)  # deletes are cheap to queue again; the newer entry wins
    assert unqueued_pending(blocks) == []

    still_down = drain_queue(blocks)
    assert still_down["store_unavailable"] and still_down["drained"] == 0
    assert still_down["remaining_segments"] == 2 and _status(blocks, live)[live[0]][0] == "load_pending"

    weaviate_standin.faults.come_back()
    drained = drain_queue(blocks)
    assert drained["drained"] == len(live) and drained["deleted"] == len(deleted) and drained["failed"] == 0
    assert drained["superseded"] == len(deleted)  # the first run's deletes, superseded by the second run's
    assert (drained["remaining_segments"], drained["remaining_rows"], drained["store_unavailable"]) == (0, 0, False)
    _assert_everything_loaded_once(blocks, weaviate_standin, live, deleted)

    assert drain_queue(blocks)["drained"] == 0  # idempotent: nothing left
    third = run_pipeline(blocks, window_start=ALL_HISTORY)
    assert third["processed"] == 0 and third["queued"] == 0
    assert third["reconciliation"]["counts"]["store_count"] == len(live)
    assert third["reconciliation"]["discrepancies"] == []


def test_outage_starting_mid_load_loads_some_batches_and_queues_the_rest(generated, tmp_path, weaviate_standin):
    """Weaviate dies after two batches: those 20 cases are completed, the rest queued; the drain loads the rest."""
    blocks, live, deleted = _setup(generated, tmp_path, weaviate_standin, load_batch_size=10)
    weaviate_standin.faults.outage_after_batches = 2

    first = run_pipeline(blocks)
    assert first["loaded"] == 20 and first["failed"] == 0
    assert first["queued"] == len(live) - 20 + len(deleted)
    status = _status(blocks, live)
    assert sum(s[0] == "completed" for s in status.values()) == 20
    assert sum(s[0] == "load_pending" for s in status.values()) == len(live) - 20
    assert len(_stored(weaviate_standin, blocks)) == 20

    weaviate_standin.faults.come_back()
    drained = drain_queue(blocks)
    assert (drained["drained"], drained["deleted"], drained["failed"]) == (len(live) - 20, len(deleted), 0)
    _assert_everything_loaded_once(blocks, weaviate_standin, live, deleted)


class SimulatedCrash(BaseException):
    """The drain process dying: not an Exception, so nothing handles it on the way out."""


def test_crash_during_draining_is_finished_by_a_second_drain(generated, tmp_path, weaviate_standin, monkeypatch):
    """A drain killed after writing a batch it had not recorded: the next drain finishes, no duplicates, no loss."""
    blocks, live, deleted = _setup(generated, tmp_path, weaviate_standin, load_batch_size=10)
    weaviate_standin.faults.go_down()
    run_pipeline(blocks)
    weaviate_standin.faults.come_back()

    real = drain_module.record_drained
    recorded = []

    def crash_on_third_batch(lineage, outcomes):
        if len(recorded) == 2:
            raise SimulatedCrash  # the third batch is in the store, lineage does not know
        recorded.append(outcomes.num_rows)
        real(lineage, outcomes)

    monkeypatch.setattr(drain_module, "record_drained", crash_on_third_batch)
    with pytest.raises(SimulatedCrash):
        drain_queue(blocks)
    assert len(_stored(weaviate_standin, blocks)) == 30
    assert LoadQueue.under(blocks.home).size().segments == 1  # kept: not all of it was recorded

    monkeypatch.setattr(drain_module, "record_drained", real)
    second = drain_queue(blocks)
    assert second["drained"] == len(live) - 20  # the unrecorded batch is written again, by the same ids
    assert second["superseded"] == 20 and second["remaining_segments"] == 0
    _assert_everything_loaded_once(blocks, weaviate_standin, live, deleted)


def test_crash_after_a_segment_was_drained_but_before_it_was_removed(generated, tmp_path, weaviate_standin,
                                                                    monkeypatch):
    """Everything written and recorded, the segment file still there: the next drain writes nothing, removes it."""
    blocks, live, deleted = _setup(generated, tmp_path, weaviate_standin)
    weaviate_standin.faults.go_down()
    run_pipeline(blocks)
    weaviate_standin.faults.come_back()

    def crash(self, segment):
        raise SimulatedCrash

    with monkeypatch.context() as patch:
        patch.setattr(LoadQueue, "remove", crash)
        with pytest.raises(SimulatedCrash):
            drain_queue(blocks)
    batches_before = weaviate_standin.state.calls.count("grpc BatchObjects")
    second = drain_queue(blocks)
    assert (second["drained"], second["deleted"]) == (0, 0)
    assert second["superseded"] == len(live) + len(deleted) and second["remaining_segments"] == 0
    assert weaviate_standin.state.calls.count("grpc BatchObjects") == batches_before
    _assert_everything_loaded_once(blocks, weaviate_standin, live, deleted)


def test_a_case_queued_twice_is_loaded_once_in_its_newest_version(generated, tmp_path, weaviate_standin):
    """A forced recovery run queues three cases again while Weaviate is down: the drain writes each case once."""
    blocks, live, deleted = _setup(generated, tmp_path, weaviate_standin)
    weaviate_standin.faults.go_down()
    run_pipeline(blocks)
    again = run_pipeline(blocks, case_ids=live[:3], force=True)
    assert again["queued"] == 3 and LoadQueue.under(blocks.home).size().segments == 2
    weaviate_standin.faults.come_back()
    drained = drain_queue(blocks)
    assert drained["drained"] == len(live) and drained["superseded"] == 3
    runs = {r["record_id"]: r["run_id"] for r in blocks.lineage.lineage_state(live[:3]).to_pylist()}
    assert set(runs.values()) == {again["run_id"]}  # recorded from the newest segment
    _assert_everything_loaded_once(blocks, weaviate_standin, live, deleted)


def test_drain_takes_the_pipeline_lock(generated, tmp_path, weaviate_standin):
    """While a pipeline run holds the lock the drain writes nothing; an empty queue needs no lock at all."""
    blocks, live, _ = _setup(generated, tmp_path, weaviate_standin)
    assert drain_queue(blocks)["remaining_segments"] == 0  # nothing queued: no lock, no store call
    weaviate_standin.faults.go_down()
    run_pipeline(blocks)
    weaviate_standin.faults.come_back()
    assert blocks.lineage.acquire_lock(PIPELINE_LOCK, "a-pipeline-run", 60)
    with pytest.raises(RunLocked):
        drain_queue(blocks)
    assert _stored(weaviate_standin, blocks) == []
    blocks.lineage.release_lock(PIPELINE_LOCK, "a-pipeline-run")
    assert drain_queue(blocks)["drained"] == len(live)


@pytest.mark.slow
def test_drain_command_exit_codes(prefect_harness, generated, tmp_path, weaviate_standin, capsys):
    """`drain --json`: 5 while Weaviate is down (queue kept), 3 while the lock is held, 0 once drained."""
    from flows.run import main

    blocks, live, deleted = _setup(generated, tmp_path, weaviate_standin)
    config = tmp_path / "pipeline.toml"
    config.write_text(f'[staging]\ntype = "parquet"\npath = "{tmp_path / "staging"}"\n'
                      f'[store]\ntype = "weaviate"\nhttp_port = {weaviate_standin.http_port}\n'
                      f'grpc_port = {weaviate_standin.grpc_port}\ninit_timeout = 1.0\nbatch_retries = 0\n')
    args = ["drain", "--config", str(config), "--home", str(blocks.home), "--json"]
    weaviate_standin.faults.go_down()
    run_pipeline(blocks)
    capsys.readouterr()

    assert main(args) == 5
    down = json.loads(capsys.readouterr().out)
    assert down["store_unavailable"] and down["remaining_rows"] == len(live) + len(deleted)

    weaviate_standin.faults.come_back()
    assert blocks.lineage.acquire_lock(PIPELINE_LOCK, "a-pipeline-run", 60)
    assert main(args) == 3
    assert "a-pipeline-run" in json.loads(capsys.readouterr().out)["skipped"]
    blocks.lineage.release_lock(PIPELINE_LOCK, "a-pipeline-run")

    assert main(args) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["drained"] == len(live) and done["remaining_segments"] == 0


def test_reconciliation_counts_pending_loads_on_their_own(generated, tmp_path, weaviate_standin):
    """Queued loads are lineage_pending (not stuck, not missing); pending records no segment holds are reported."""
    from datetime import timedelta

    from flows.reconcile import reconcile

    blocks, live, deleted = _setup(generated, tmp_path, weaviate_standin)
    weaviate_standin.faults.go_down()
    run_pipeline(blocks)
    weaviate_standin.faults.come_back()  # back, not drained yet

    result = reconcile(blocks, stuck_after=timedelta(0))
    counts, kinds = result["counts"], {d["type"] for d in result["discrepancies"]}
    waiting = len(live) + len(deleted)
    queue = counts["load_queue"]
    assert counts["lineage_pending"] == waiting and (queue["segments"], queue["rows"]) == (1, waiting)
    assert 0 <= queue["oldest_age_hours"] < 0.1  # queued moments ago
    assert counts["stuck"] == 0 and counts["load_pending_unqueued"] == 0
    assert counts["diff"]["counts"]["missing_from_store"] == 0
    assert not kinds & {"stuck_records", "missing_from_store", "load_pending_unqueued", "store_lineage_mismatch"}

    for segment in LoadQueue.under(blocks.home).segments():  # the queue is lost
        segment.unlink()
    lost = reconcile(blocks, stuck_after=timedelta(0))
    assert lost["counts"]["load_pending_unqueued"] == waiting
    assert "load_pending_unqueued" in {d["type"] for d in lost["discrepancies"]}


def test_reconciliation_while_the_store_is_down_reports_it_and_still_counts_lineage(generated, tmp_path,
                                                                                     weaviate_standin):
    """A daily reconciliation during an outage does not crash: a critical store_unavailable, lineage counted."""
    from datetime import timedelta

    from flows.reconcile import reconcile

    blocks, live, deleted = _setup(generated, tmp_path, weaviate_standin)
    weaviate_standin.faults.go_down()
    run_pipeline(blocks)
    result = reconcile(blocks, stuck_after=timedelta(0))
    unavailable = [d for d in result["discrepancies"] if d["type"] == "store_unavailable"]
    assert len(unavailable) == 1 and unavailable[0]["severity"] == "critical"
    counts = result["counts"]
    assert counts["store_count"] is None and counts["store_unavailable"] is True
    assert counts["lineage_pending"] == len(live) + len(deleted) and counts["stuck"] == 0
    assert "diff" not in counts
    weaviate_standin.faults.come_back()
    back = reconcile(blocks, stuck_after=timedelta(0))
    assert "store_unavailable" not in {d["type"] for d in back["discrepancies"]}
    assert back["counts"]["store_count"] is not None
