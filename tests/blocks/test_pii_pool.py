"""Large batches go to a process pool: same output in the same order, errors without text, safe fallback.

They use the default start method (forkserver): its server starts once per
test session and the pipeline test (tests/flows/test_no_pii_outside_store.py)
shares it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os

import pyarrow as pa
import pytest

from blocks.presidio_redactor import PiiRedactionError, PresidioRedactor
from schemas.context import CONTEXT_COLUMNS

LIST = pa.list_(pa.string())
SECRET = "boom.person@example.org"


class ChokingRedactor(PresidioRedactor):
    """Fails (inside whichever process runs it) on a case whose context names 'Boom Person'."""

    _block_type_name = "Test Choking Redactor"
    _block_type_slug = "test-choking-redactor"

    def _matcher(self, context):
        if "Boom Person" in (context.get("context_names") or []):
            raise ValueError(f"cannot parse {SECRET}")
        return super()._matcher(context)


class DeadWorkersRedactor(PresidioRedactor):
    """Its worker processes (built with workers=1) exit at start, as if the pool could not run."""

    _block_type_name = "Test Dead Workers Redactor"
    _block_type_slug = "test-dead-workers-redactor"

    def model_post_init(self, context) -> None:
        super().model_post_init(context)
        if self.workers == 1:
            os._exit(3)


def cases(n: int, boom_at: int | None = None) -> pa.RecordBatch:
    names = [[f"Person{i} Example"] if i != boom_at else ["Boom Person"] for i in range(n)]
    columns = {
        "case_id": [f"500P{i:05d}" for i in range(n)],
        "description": [f"Person{i} Example called from +1 415 555 {i:04d} about SN CZJ{i:04d}F2K." for i in range(n)],
        "comment_bodies": pa.array([[f"mail p{i}.x@example.org", "Spoke with Ottilie"] for i in range(n)], LIST),
    }
    for name in CONTEXT_COLUMNS:
        columns[name] = pa.array(names if name == "context_names" else [[] for _ in range(n)], LIST)
    return pa.RecordBatch.from_pydict(columns)


@pytest.fixture(scope="module")
def pooled():
    with ChokingRedactor(workers=2, pool_min_cases=10) as redactor:
        yield redactor


@pytest.fixture(scope="module")
def local() -> PresidioRedactor:
    return PresidioRedactor(workers=1)


def test_large_batch_runs_in_worker_processes_in_order(pooled, local):
    """Above pool_min_cases the batch is split over worker processes; output equals in-process, row for row."""
    batch = cases(40)
    out = pooled.redact(batch)
    assert len(multiprocessing.active_children()) == 2
    assert out.equals(local.redact(batch))
    assert pooled.find_pii(batch).equals(local.find_pii(batch))


def test_small_batch_stays_in_process():
    """At or below pool_min_cases no process is started."""
    before = len(multiprocessing.active_children())
    with PresidioRedactor(workers=2, pool_min_cases=10) as redactor:
        out = redactor.redact(cases(10))
        assert len(multiprocessing.active_children()) == before
    assert out.num_rows == 10


def test_worker_error_names_the_case_never_the_text(pooled):
    """A failure inside a worker reaches the caller as PiiRedactionError with the case id, without the cause."""
    with pytest.raises(PiiRedactionError) as caught:
        pooled.redact(cases(30, boom_at=17))
    message = str(caught.value)
    assert "500P00017" in message and "ValueError" in message
    assert SECRET not in message and caught.value.__cause__ is None


def test_pool_that_cannot_run_falls_back_in_process(caplog):
    """When the workers die the batch is redacted here instead, with a warning that quotes no text."""
    batch = cases(12)
    with caplog.at_level(logging.WARNING), DeadWorkersRedactor(workers=2, pool_min_cases=10) as redactor:
        out = redactor.redact(batch)
    assert out.equals(PresidioRedactor(workers=1).redact(batch))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("redacting in this process" in w for w in warnings)
    assert not any("Example" in w or "415" in w for w in warnings)


def test_slices_cover_the_batch_in_order_and_pickle_small():
    """Slices keep row order, cover every row once and carry only their own rows' buffers."""
    import pickle

    from blocks.pii_pool import slice_batch

    batch = cases(50)
    parts = slice_batch(batch, 4)
    assert [p.num_rows for p in parts] == [13, 13, 12, 12]
    assert pa.concat_batches(parts).equals(batch)
    assert len(pickle.dumps(parts[0])) < len(pickle.dumps(batch)) / 2
