"""``validate_checkpoint_file``: free text is checked from the file's schema and statistics, not read back."""

from __future__ import annotations

import pandera.pandas as pdx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas.checkpoints import CheckpointSchema
from stages.checkpoint import validate_checkpoint_file
from stages.errors import CheckpointInvalid

SCHEMA = CheckpointSchema(
    name="test",
    frame=pdx.DataFrameSchema(
        {
            "case_id": pdx.Column(str, unique=True, nullable=False),
            "size": pdx.Column(int, pdx.Check.ge(0)),
            "text": pdx.Column(str, nullable=False, required=False),
            "note": pdx.Column(str, nullable=True, required=False),
        },
        strict=True,
    ),
)


def _table(texts, notes=None, sizes=None) -> pa.Table:
    n = len(texts)
    return pa.table({
        "case_id": [f"500{i:04d}" for i in range(n)],
        "size": pa.array(sizes or list(range(n)), pa.int64()),
        "text": pa.array(texts, pa.string()),
        "note": pa.array(notes or [None] * n, pa.string()),
    })


def test_plain_text_is_not_read_and_the_checked_columns_are(tmp_path):
    assert set(SCHEMA.plain_text_columns) == {"text", "note"}
    path = tmp_path / "ok.parquet"
    pq.write_table(_table(["a"] * 10), path, row_group_size=3)
    batches = list(validate_checkpoint_file(path, SCHEMA, batch_size=4))
    assert sum(b.num_rows for b in batches) == 10
    assert batches[0].schema.names == ["case_id", "size"]
    assert batches[0].schema.names + ["note"] == list(validate_checkpoint_file(path, SCHEMA, columns=["note"]))[0].schema.names


@pytest.mark.parametrize("statistics", [True, False], ids=["from statistics", "read when there are none"])
def test_a_null_in_required_text_is_refused(tmp_path, statistics):
    path = tmp_path / "null.parquet"
    pq.write_table(_table(["a", "b", None, "d"], notes=[None, None, None, "x"]), path, row_group_size=2,
                   write_statistics=statistics)
    assert pq.ParquetFile(path).metadata.row_group(1).column(2).is_stats_set is statistics
    with pytest.raises(CheckpointInvalid, match="'text' has 1 null values"):
        list(validate_checkpoint_file(path, SCHEMA))


def test_text_of_another_type_and_bad_checked_values_are_refused(tmp_path):
    pq.write_table(_table(["a", "b"]).set_column(2, "text", pa.array([1, 2])), tmp_path / "type.parquet")
    with pytest.raises(CheckpointInvalid, match="'text' must be text"):
        list(validate_checkpoint_file(tmp_path / "type.parquet", SCHEMA))
    pq.write_table(_table(["a", "b"], sizes=[1, -1]), tmp_path / "neg.parquet")
    with pytest.raises(CheckpointInvalid, match="failing cells"):
        list(validate_checkpoint_file(tmp_path / "neg.parquet", SCHEMA))
    pq.write_table(_table(["a"]).append_column("extra", pa.array(["?"])), tmp_path / "extra.parquet")
    with pytest.raises(CheckpointInvalid, match="unexpected columns"):
        list(validate_checkpoint_file(tmp_path / "extra.parquet", SCHEMA))
