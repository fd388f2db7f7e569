"""Vector columns of checkpoints: binary on disk, float32 vectors to every stage, copies pass through."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas.checkpoints import CHECKPOINTS, embed_arrow
from stages.checkpoint import CheckpointWriter, read_checkpoint, read_checkpoint_table, validate_checkpoint_file
from stages.errors import CheckpointInvalid


def _embedded(n: int, size: int = 6) -> pa.Table:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((n, size)).astype(np.float32)
    primary = [None if i % 4 == 1 else vectors[i].tolist() for i in range(n)]
    return pa.table({
        "case_id": [f"500{i:04d}" for i in range(n)],
        "vector_primary": pa.array(primary, pa.list_(pa.float32(), size)),
        "vector_fallback": pa.nulls(n, pa.list_(pa.float32(), 3)),
        "primary_model": ["m"] * n,
        "fallback_model": pa.nulls(n, pa.string()),
        "embed_error": pa.nulls(n, pa.string()),
    }, schema=embed_arrow(size, 3))


def test_vectors_are_binary_on_disk_and_come_back_exactly_in_any_batch_size(tmp_path):
    table = _embedded(23)
    path = tmp_path / "embed.parquet"
    with CheckpointWriter(path, CHECKPOINTS["embed"], table.schema) as writer:
        writer.write(table.slice(0, 10))
        writer.write(table.slice(10))
        writer.close()
    on_disk = pq.ParquetFile(path).schema_arrow
    assert on_disk.field("vector_primary").type == pa.binary(4 * 6)
    for batch_size in (1, 4, 7, 100):
        back = pa.Table.from_batches(list(read_checkpoint(path, CHECKPOINTS["embed"], batch_size=batch_size)))
        assert back.schema.field("vector_primary").type == pa.list_(pa.float32(), 6)
        assert back.column("vector_primary").to_pylist() == table.column("vector_primary").to_pylist()
        assert back.column("vector_fallback").null_count == 23


def test_a_checkpoint_copied_batch_by_batch_stays_valid(tmp_path):
    """Recovery copies raw (encoded) batches into a new checkpoint; the copy decodes like the original."""
    table = _embedded(9)
    src, dst = tmp_path / "src.parquet", tmp_path / "dst.parquet"
    with CheckpointWriter(src, CHECKPOINTS["embed"], table.schema) as writer:
        writer.write(table)
        writer.close()
    raw = pq.ParquetFile(src)
    with CheckpointWriter(dst, CHECKPOINTS["embed"], raw.schema_arrow) as writer:
        for batch in raw.iter_batches(batch_size=4):
            writer.write(batch)
        writer.close()
    assert read_checkpoint_table(dst, CHECKPOINTS["embed"]).equals(read_checkpoint_table(src, CHECKPOINTS["embed"]))


def test_a_binary_column_that_is_not_a_vector_column_is_still_refused(tmp_path):
    table = _embedded(2).drop_columns(["primary_model"]).append_column("primary_model", pa.array([b"x", b"y"]))
    with pytest.raises(CheckpointInvalid):
        with CheckpointWriter(tmp_path / "bad.parquet", CHECKPOINTS["embed"]) as writer:
            writer.write(table)


def test_file_validation_reads_scalars_only_yet_catches_bad_values_and_bad_layouts(tmp_path):
    """``validate_checkpoint_file`` (compose's check of its own output) refuses what ``read_checkpoint`` refuses."""
    good = _embedded(6)
    path = tmp_path / "good.parquet"
    pq.write_table(good, path)
    batches = list(validate_checkpoint_file(path, CHECKPOINTS["embed"], batch_size=4))
    assert sum(b.num_rows for b in batches) == 6 and "vector_primary" not in batches[0].schema.names

    duplicate = good.set_column(0, "case_id", pa.array(["500X"] * 6))
    pq.write_table(duplicate, tmp_path / "dup.parquet")
    with pytest.raises(CheckpointInvalid, match="failing cells"):
        list(validate_checkpoint_file(tmp_path / "dup.parquet", CHECKPOINTS["embed"]))

    not_a_list = good.set_column(1, "vector_primary", pa.array(["x"] * 6))
    pq.write_table(not_a_list, tmp_path / "layout.parquet")
    with pytest.raises(CheckpointInvalid, match="must be a list"):
        list(validate_checkpoint_file(tmp_path / "layout.parquet", CHECKPOINTS["embed"]))


def test_streaming_a_checkpoint_holds_about_one_row_group_not_the_whole_file(tmp_path):
    """pyarrow's default pre-buffering would keep every row group read so far (1.1 GB at 100k cases)."""
    table = _embedded(200, size=1024)  # 4 KB per vector
    path = tmp_path / "embed.parquet"
    with CheckpointWriter(path, CHECKPOINTS["embed"], table.schema, compression="none") as writer:
        for start in range(0, 200, 10):  # 20 row groups of about 40 KB of vectors each
            writer.write(table.slice(start, 10))
        writer.close()
    base, peak = pa.total_allocated_bytes(), 0
    for batch in read_checkpoint(path, CHECKPOINTS["embed"], batch_size=10):
        peak = max(peak, pa.total_allocated_bytes() - base)
        del batch
    whole_file_vectors = 200 * 1024 * 4
    assert peak < whole_file_vectors / 4
