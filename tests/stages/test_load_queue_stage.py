"""The load stage under a store outage: queue instead of fail; load_queued writes only what is still current."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from pydantic import PrivateAttr

from blocks.duckdb_store import DuckDBVectorStore
from blocks.errors import StoreUnavailable
from blocks.hashing_embedder import HashingEmbedder
from blocks.load_queue import OP_DELETE, LoadQueue
from schemas.checkpoints import CHECKPOINTS
from stages.checkpoint import read_checkpoint_table
from stages.embed import embed_cases
from stages.load import QUEUED_REASON, load_cases, load_queued
from tests.stages.test_changes_embed_load import _through_redact, composed  # noqa: F401 - fixture

SIZES = {"primary": 64, "fallback": 16}


class FlakyStore(DuckDBVectorStore):
    """The DuckDB store, going down after ``up_for`` upserts: from then on every call raises StoreUnavailable."""

    _block_type_name = "Flaky Test Vector Store"  # not DuckDBVectorStore's registry key

    up_for: int = 1_000_000
    down: bool = False
    _upserts: int = PrivateAttr(default=0)

    def _gate(self) -> None:
        if self.down:
            raise StoreUnavailable("flaky store: down")

    def ensure_schema(self, vector_sizes) -> None:
        self._gate()
        super().ensure_schema(vector_sizes)

    def upsert(self, objects):
        if self._upserts >= self.up_for:
            self.down = True
        self._gate()
        self._upserts += 1
        return super().upsert(objects)

    def delete(self, case_ids):
        self._gate()
        return super().delete(case_ids)


@pytest.fixture
def checkpoints(tmp_path, composed):  # noqa: F811 - the imported fixture
    con, path = composed
    changes, red = _through_redact(tmp_path, con, path)
    emb = embed_cases(red.path, tmp_path / "embed.parquet", HashingEmbedder(dimensions=SIZES["primary"]),
                      HashingEmbedder(dimensions=SIZES["fallback"]), batch_size=2, request_size=2)
    return changes, red.path, emb.path


def _load(tmp_path, store, checkpoints, queue):
    changes, red, emb = checkpoints
    return load_cases(store, changes, red, emb, tmp_path / "load.parquet", run_id="r1", batch_size=2,
                      queue=queue, vector_sizes=SIZES)


def test_outage_mid_load_queues_that_batch_and_every_later_one_with_vectors(tmp_path, checkpoints):
    """Store down after one batch: 2 loaded, 3 upserts and the delete queued (pending), vectors as embedded."""
    store = FlakyStore(path=str(tmp_path / "v.duckdb"), up_for=1)
    queue = LoadQueue.under(tmp_path / "home")
    with store:
        res = _load(tmp_path, store, checkpoints, queue)
    assert (res.loaded, res.failed, res.deleted, res.queued) == (2, 0, 0, 4)
    assert queue.segments() == [res.segment]
    outcomes = pq.read_table(res.path)
    pending = outcomes.filter(pc.equal(outcomes.column("outcome"), "pending"))
    assert pending.num_rows == 4 and set(pending.column("reason").to_pylist()) == {QUEUED_REASON}
    segment = pq.read_table(res.segment)
    assert set(segment.column("case_id").to_pylist()) == set(pending.column("case_id").to_pylist())
    assert segment.filter(pc.equal(segment.column("op"), OP_DELETE)).column("case_id").to_pylist() == ["500GONE"]
    embedded = read_checkpoint_table(checkpoints[2], CHECKPOINTS["embed"])
    by_case = dict(zip(embedded.column("case_id").to_pylist(), embedded.column("vector_primary").to_pylist()))
    for row in segment.filter(pc.equal(segment.column("op"), "upsert")).to_pylist():
        assert np.allclose(row["vector_primary"], by_case[row["case_id"]])  # nothing to re-embed
        assert row["subject"] and row["checksum"] and row["run_id"] == "r1"
    store.down = False
    with store:
        assert store.count() == 2  # the store was not asked again once it was down


def test_outage_at_the_schema_check_queues_everything(tmp_path, checkpoints):
    """Store unreachable from the start: no upsert is attempted, all five cases and the delete are queued."""
    store = FlakyStore(path=str(tmp_path / "v.duckdb"), down=True)
    queue = LoadQueue.under(tmp_path / "home")
    res = _load(tmp_path, store, checkpoints, queue)
    assert (res.loaded, res.queued) == (0, 6)
    assert queue.size().rows == 6 and store._upserts == 0


def test_without_a_queue_an_outage_still_fails_the_stage(tmp_path, checkpoints):
    """Library callers that pass no queue keep the old contract: StoreUnavailable propagates."""
    store = FlakyStore(path=str(tmp_path / "v.duckdb"), up_for=1)
    with store, pytest.raises(StoreUnavailable):
        _load(tmp_path, store, checkpoints, None)
    assert not (tmp_path / "load.parquet").exists()


def test_healthy_store_queues_nothing(tmp_path, checkpoints):
    """No outage: no segment, outcomes as before."""
    queue = LoadQueue.under(tmp_path / "home")
    with FlakyStore(path=str(tmp_path / "v.duckdb")) as store:
        res = _load(tmp_path, store, checkpoints, queue)
    assert (res.loaded, res.deleted, res.queued, res.segment) == (5, 1, 0, None) and queue.is_empty()


def _state(rows):
    return pa.table({"record_id": [r[0] for r in rows], "checksum": [r[1] for r in rows],
                     "status": [r[2] for r in rows]})


def test_load_queued_writes_only_entries_lineage_still_waits_for(tmp_path, checkpoints):
    """Pending with the same checksum: written. Another checksum, completed, or no record: superseded, not written."""
    down = FlakyStore(path=str(tmp_path / "v.duckdb"), down=True)
    queue = LoadQueue.under(tmp_path / "home")
    _load(tmp_path, down, checkpoints, queue)
    entries = pq.read_table(queue.segments()[0])
    sums = dict(zip(entries.column("case_id").to_pylist(), entries.column("checksum").to_pylist()))
    state = _state([("500E0", sums["500E0"], "load_pending"), ("500E1", "f" * 64, "load_pending"),
                    ("500E2", sums["500E2"], "completed"), ("500E3", sums["500E3"], "in_progress"),
                    ("500GONE", sums["500GONE"], "load_pending")])
    store = DuckDBVectorStore(path=str(tmp_path / "v2.duckdb"))
    with store:
        store.ensure_schema(SIZES)
        out = load_queued(store, entries, state)
        got = dict(zip(out.column("case_id").to_pylist(), out.column("outcome").to_pylist()))
        assert got == {"500E0": "loaded", "500E1": "superseded", "500E2": "superseded", "500E3": "superseded",
                       "500E4": "superseded", "500GONE": "deleted"}
        assert store.fetch(list(got)).column("case_id").to_pylist() == ["500E0"]
        again = load_queued(store, entries, state)  # a repeat after a crash: same outcome, still one object
        assert again.column("outcome").to_pylist() == out.column("outcome").to_pylist() and store.count() == 1
        assert out.column("checksum").to_pylist() == entries.column("checksum").to_pylist()


def test_load_queued_raises_when_the_store_is_down(tmp_path, checkpoints):
    """A drain batch against a dead store raises (the drain keeps the segment), it does not mark failures."""
    store = FlakyStore(path=str(tmp_path / "v.duckdb"), down=True)
    queue = LoadQueue.under(tmp_path / "home")
    _load(tmp_path, store, checkpoints, queue)
    entries = pq.read_table(queue.segments()[0])
    state = _state([(c, s, "load_pending") for c, s in zip(entries.column("case_id").to_pylist(),
                                                          entries.column("checksum").to_pylist())])
    with pytest.raises(StoreUnavailable):
        load_queued(store, entries, state)
