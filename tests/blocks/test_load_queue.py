"""LoadQueue segments (atomic, ordered, newest entry wins) and the bounded batch retries of WeaviateStore."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from blocks.errors import StoreUnavailable
from blocks.load_queue import OP_DELETE, OP_UPSERT, SEGMENT_SCHEMA, LoadQueue
from blocks.weaviate_store import WeaviateStore
from tests.blocks.object_tables import case_id_of, fake_case, object_table, unit_vectors

SIZES = {"primary": 32, "fallback": 12}


def _objects(numbers, seed=0, **overrides):
    cases = [fake_case(n, **overrides) for n in numbers]
    return object_table(cases, {"primary": unit_vectors(len(cases), SIZES["primary"], seed),
                                "fallback": unit_vectors(len(cases), SIZES["fallback"], seed + 1)})


def _deletes(numbers):
    return pa.table({"case_id": [case_id_of(n) for n in numbers], "checksum": [f"{n:064x}" for n in numbers],
                     "case_number": [str(n) for n in numbers]})


def _queued(queue: LoadQueue, numbers, run_id="r1", **overrides):
    with queue.open_segment(run_id) as segment:
        segment.add_upserts(_objects(numbers, **overrides))
        return segment.commit()


def test_segment_is_invisible_until_committed_and_abort_leaves_nothing(tmp_path):
    """A drain never sees a half-written segment; an aborted or crashed writer leaves no segment."""
    queue = LoadQueue.under(tmp_path)
    segment = queue.open_segment("run-1")
    segment.add_upserts(_objects(range(3)))
    assert queue.is_empty() and queue.size().rows == 0
    path = segment.commit()
    assert queue.segments() == [path] and (queue.size().segments, queue.size().rows) == (1, 3)
    assert not [p for p in queue.root.iterdir() if p.name.startswith(".")]

    with pytest.raises(RuntimeError), queue.open_segment("run-2") as failing:
        failing.add_upserts(_objects([7]))
        raise RuntimeError("crash while queueing")
    assert queue.segments() == [path]
    assert list(queue.root.iterdir()) == [path]

    dead = queue.open_segment("run-3")  # a writer killed before commit leaves its partial file
    dead.add_upserts(_objects([8]))
    dead._writer.close()
    assert queue.segments() == [path] and queue.discard_partials() == 1
    assert list(queue.root.iterdir()) == [path]


def test_segment_keeps_whole_objects_vectors_and_deletes(tmp_path):
    """Properties, lineage properties and both named vectors survive the round trip; deletes carry their ids."""
    queue = LoadQueue.under(tmp_path)
    objects = _objects([1, 2])
    with queue.open_segment("r1") as segment:
        segment.add_upserts(objects)
        segment.add_deletes(_deletes([5]))
        path = segment.commit()
    back = pq.read_table(path)
    assert back.schema == SEGMENT_SCHEMA
    assert back.column("op").to_pylist() == [OP_UPSERT, OP_UPSERT, OP_DELETE]
    upserts = back.slice(0, 2)
    for name in ("case_id", "id", "checksum", "subject", "task_subjects", "created_date", "run_id"):
        assert upserts.column(name).to_pylist() == objects.column(name).to_pylist(), name
    for name in ("vector_primary", "vector_fallback"):
        assert np.allclose(np.array(upserts.column(name).to_pylist()), np.array(objects.column(name).to_pylist()))
    delete = back.slice(2).to_pylist()[0]
    assert (delete["case_id"], delete["checksum"], delete["vector_primary"]) == (case_id_of(5), f"{5:064x}", None)


def test_nothing_queued_commits_no_segment(tmp_path):
    """A run whose store never failed leaves the queue empty."""
    queue = LoadQueue.under(tmp_path)
    with queue.open_segment("r1") as segment:
        assert segment.commit() is None
    assert queue.is_empty()


def test_segments_sort_oldest_first_and_the_newest_entry_of_a_case_wins(tmp_path):
    """A case queued by two runs is read once, from the later segment; the earlier row counts as superseded."""
    queue = LoadQueue.under(tmp_path)
    first = _queued(queue, [0, 1, 2], run_id="zzz-first", checksum="a" * 64)
    second = _queued(queue, [1, 3], run_id="aaa-second", checksum="b" * 64)
    assert queue.segments() == [first, second]  # by sequence, whatever the run ids
    plan = queue.plan()
    assert plan.cases == 4
    rows = {}
    dropped = 0
    for path in plan.segments:
        for batch, superseded in plan.current_rows(path, batch_size=2):
            dropped += superseded
            for row in batch.select(["case_id", "checksum"]).to_pylist():
                assert row["case_id"] not in rows
                rows[row["case_id"]] = row["checksum"]
    assert dropped == 1
    assert rows == {case_id_of(0): "a" * 64, case_id_of(1): "b" * 64, case_id_of(2): "a" * 64,
                    case_id_of(3): "b" * 64}


def test_removing_a_segment_keeps_newer_entries(tmp_path):
    """Draining oldest first and removing a finished segment never loses a case's newest entry."""
    queue = LoadQueue.under(tmp_path)
    first = _queued(queue, [0, 1], checksum="a" * 64)
    _queued(queue, [1], checksum="b" * 64)
    queue.remove(first)  # as a drain that finished the first segment, then crashed
    plan = queue.plan()
    got = [b.column("checksum").to_pylist() for p in plan.segments for b, _ in plan.current_rows(p, 10)]
    assert got == [["b" * 64]]


# -- WeaviateStore: an outage during a batch ----------------------------------------


def test_outage_during_a_batch_raises_store_unavailable_after_the_configured_retries(weaviate_standin):
    """The client's batch retries UNAVAILABLE; with batch_retries=1 it tries twice, then upsert raises (no hang)."""
    store = WeaviateStore(http_port=weaviate_standin.http_port, grpc_port=weaviate_standin.grpc_port,
                          init_timeout=1.0, batch_retries=1)
    with store:
        store.ensure_schema(SIZES)
        weaviate_standin.faults.outage_after_batches = 1
        assert len(store.upsert(_objects(range(5))).succeeded) == 5
        calls_before = weaviate_standin.state.calls.count("grpc BatchObjects")
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            store.upsert(_objects(range(5, 10)))
        elapsed = time.monotonic() - started
        assert weaviate_standin.state.calls.count("grpc BatchObjects") - calls_before == 2  # one try, one retry
        assert elapsed < 10  # 1 s + 2 s of client back-off, not the client's default half hour
        weaviate_standin.faults.come_back()
        assert store.count() == 5


def test_rejected_objects_on_a_healthy_server_are_still_failures_not_outages(weaviate_standin):
    """Only an unhealthy server turns batch failures into StoreUnavailable; a rejected object stays failed."""
    from schemas.ids import object_uuid

    store = WeaviateStore(http_port=weaviate_standin.http_port, grpc_port=weaviate_standin.grpc_port,
                          init_timeout=1.0, batch_retries=0)
    with store:
        store.ensure_schema(SIZES)
        weaviate_standin.faults.reject[object_uuid(case_id_of(1))] = "bad object"
        result = store.upsert(_objects(range(3)))
        assert [c for c, _ in result.failed] == [case_id_of(1)] and len(result.succeeded) == 2


def test_size_reports_how_long_the_oldest_segment_has_waited(tmp_path):
    """The oldest segment's age comes from its sequence (commit time): what the LoadQueueBacklog alert reads."""
    import time

    queue = LoadQueue.under(tmp_path)
    assert queue.size().oldest_age_hours is None
    first = _queued(queue, range(2), run_id="r1")
    _queued(queue, range(2, 4), run_id="r2")
    seven_hours_ago = time.time_ns() - 7 * 3_600 * 10**9
    first.rename(first.with_name(f"{seven_hours_ago:026d}{first.name[26:]}"))
    size = queue.size()
    assert (size.segments, size.rows) == (2, 4) and 6.99 < size.oldest_age_hours < 7.01
