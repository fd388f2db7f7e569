"""The redact stage isolates a case the redactor cannot handle and goes on."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from blocks.pii_redactor import PiiRedactor
from schemas.context import CONTEXT_COLUMNS
from schemas.settings import DateWindow
from stages.changes import plan_changes
from stages.compose import compose_cases
from stages.extract import extract_window
from stages.redact import redact_cases
from tests.stages.test_extract_compose import TASK_TYPES, _register
from tests.staging_builder import StagingBuilder


class _ChokesOn(PiiRedactor):
    """Replaces every text with 'clean' and fails on cases whose subject holds a marker."""

    marker: str = "BOOM"

    def redact(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        subjects = batch.column("subject").to_pylist()
        if any(s and self.marker in s for s in subjects):
            raise ValueError("cannot redact this")
        t = pa.Table.from_batches([batch]).drop_columns(list(CONTEXT_COLUMNS))
        t = t.set_column(t.schema.get_field_index("subject"), "subject", pa.array(["clean"] * t.num_rows))
        t = t.append_column("pii_entities_removed", pa.array([0] * t.num_rows, pa.int32()))
        return t.combine_chunks().to_batches()[0]


def _changes(tmp_path, builder):
    folder = builder.write(tmp_path / "stg")
    con = duckdb.connect()
    extract_window(con, _register(con, folder), DateWindow(start=datetime(2000, 1, 1), end=datetime(2030, 1, 1)),
                   tmp_path / "extract")
    comp = compose_cases(con, tmp_path / "extract", tmp_path / "compose.parquet", task_types=TASK_TYPES,
                         max_text_chars=1000)
    empty = pa.table({"record_id": pa.array([], pa.string()), "checksum": pa.array([], pa.string()),
                      "status": pa.array([], pa.string())})
    return con, plan_changes(con, comp.path, empty, tmp_path / "changes.parquet").path


def test_one_bad_case_is_isolated_and_the_rest_goes_on(tmp_path):
    """A case the redactor raises on is reported by id and error type; the others are written."""
    b = StagingBuilder()
    for i in range(7):
        b.case(f"500C{i}", Subject="BOOM secret text" if i == 4 else "fine")
    con, changes = _changes(tmp_path, b)
    res = redact_cases(con, changes, tmp_path / "redact.parquet", _ChokesOn(), batch_size=100, max_text_chars=500)
    assert res.failed == [("500C4", "ValueError")]
    out = pq.read_table(res.path)
    assert out.num_rows == 6 and "500C4" not in out.column("case_id").to_pylist()
    assert pc.all(pc.equal(out.column("subject"), "clean")).as_py()
    assert "BOOM" not in str(res.failed)


def test_redactor_failing_everything_stops_the_stage(tmp_path):
    """When every case fails the fault is systemic: the error propagates instead of failing each case."""
    b = StagingBuilder()
    for i in range(3):
        b.case(f"500D{i}", Subject="BOOM")
    con, changes = _changes(tmp_path, b)
    with pytest.raises(ValueError):
        redact_cases(con, changes, tmp_path / "redact.parquet", _ChokesOn(), batch_size=100, max_text_chars=500)
