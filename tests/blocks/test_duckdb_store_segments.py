"""DuckDBVectorStore's vector segments: compaction, damage, crash leftovers and the earlier layout.

The behaviour every store shares is in ``test_vector_store_contract.py``;
these tests cover what only the embedded store's own files can get wrong.
"""

from __future__ import annotations

import os
import time

import duckdb
import pyarrow as pa
import pytest

from blocks.duckdb_layout import PROPERTY_SQL_TYPES
from blocks.duckdb_store import DuckDBVectorStore
from blocks.errors import StoreDamaged
from blocks.vector_store import vector_column
from tests.blocks.object_tables import case_id_of, fake_case, object_table, rows_by_case, unit_vectors

SIZES = {"primary": 16, "fallback": 8}


def _objects(numbers, seed=0):
    cases = [fake_case(n) for n in numbers]
    return object_table(cases, {"primary": unit_vectors(len(cases), SIZES["primary"], seed),
                                "fallback": unit_vectors(len(cases), SIZES["fallback"], seed + 1)})


def _segment_files(path) -> set[str]:
    root = f"{path}.vectors/case_vectorized"
    return {name for name in os.listdir(root) if name.endswith(".arrow")} if os.path.isdir(root) else set()


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "vectors.duckdb")


def test_each_upsert_writes_one_segment_and_the_table_holds_no_vectors(path):
    """Vectors go to an Arrow file beside the database; the table keeps properties and a pointer."""
    with DuckDBVectorStore(path=path) as store:
        store.ensure_schema(SIZES)
        store.upsert(_objects(range(5)))
        store.upsert(_objects(range(5, 8)))
    assert len(_segment_files(path)) == 2
    con = duckdb.connect(path, read_only=True)
    types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                             "WHERE table_name = 'case_vectorized'").fetchall())
    con.close()
    assert not any(t.startswith("FLOAT") for t in types.values())
    assert types["segment"] == "VARCHAR" and types["segment_row"] == "INTEGER"


def test_replacing_most_objects_retires_the_sparse_segment_and_search_still_finds_everyone(path):
    """A segment under half live is rewritten: its survivors move, its file goes, nothing is lost."""
    with DuckDBVectorStore(path=path) as store:
        store.ensure_schema(SIZES)
        first = _objects(range(10), seed=1)
        store.upsert(first)
        [old] = _segment_files(path)
        replaced = _objects(range(6), seed=2)  # 6 of 10 rows of the first segment become dead
        store.upsert(replaced)
        files = _segment_files(path)
        assert old not in files
        assert store.count() == 10
        primary = {**dict(zip(range(10), unit_vectors(10, SIZES["primary"], 1))),
                   **dict(zip(range(6), unit_vectors(6, SIZES["primary"], 2)))}
        for n, vector in primary.items():
            assert store.search(vector, "primary", k=1)[0].case_id == case_id_of(n)
        lengths = store.vector_lengths([case_id_of(n) for n in range(10)]).to_pylist()
        assert all(r[vector_column("primary")] == SIZES["primary"] for r in lengths)


def test_deleting_every_object_of_a_segment_removes_its_file(path):
    with DuckDBVectorStore(path=path) as store:
        store.ensure_schema(SIZES)
        store.upsert(_objects(range(4)))
        store.upsert(_objects(range(4, 6)))
        assert len(_segment_files(path)) == 2
        assert store.delete([case_id_of(n) for n in range(4)]) == 4
        assert len(_segment_files(path)) == 1
        assert store.count() == 2


def test_forced_compaction_merges_segments_without_changing_results(path):
    with DuckDBVectorStore(path=path) as store:
        store.ensure_schema(SIZES)
        for start in range(0, 12, 3):
            store.upsert(_objects(range(start, start + 3), seed=start))
        query = unit_vectors(1, SIZES["primary"], 99)[0]
        before = [(h.case_id, round(h.score, 6)) for h in store.search(query, "primary", k=12)]
        props_before = rows_by_case(store.fetch([case_id_of(n) for n in range(12)]))
        assert len(_segment_files(path)) == 4
        assert store.compact(force=True) == 4
        assert len(_segment_files(path)) == 1
        assert [(h.case_id, round(h.score, 6)) for h in store.search(query, "primary", k=12)] == before
        assert rows_by_case(store.fetch([case_id_of(n) for n in range(12)])) == props_before


def test_a_missing_segment_is_reported_not_silently_skipped(path):
    """Search names the lost file; vector_lengths shows the objects without vectors (deep checks find them)."""
    with DuckDBVectorStore(path=path) as store:
        store.ensure_schema(SIZES)
        store.upsert(_objects(range(3)))
        for name in _segment_files(path):
            os.remove(f"{path}.vectors/case_vectorized/{name}")
        with pytest.raises(StoreDamaged, match="missing or unreadable"):
            store.search(unit_vectors(1, SIZES["primary"], 3)[0], "primary", k=3)
        with pytest.raises(StoreDamaged):
            store.vector_lengths([case_id_of(0)])


def test_leftover_files_of_a_crash_are_swept_once_old(path):
    """A published-but-never-committed segment and a partial file go at the next compaction, once stale."""
    with DuckDBVectorStore(path=path) as store:
        store.ensure_schema(SIZES)
        store.upsert(_objects(range(3)))
        root = f"{path}.vectors/case_vectorized"
        orphan, partial, fresh = (os.path.join(root, n) for n in ("0-orphan.arrow", ".1-crash.partial", "2-new.arrow"))
        for p in (orphan, partial, fresh):
            with open(p, "wb") as fh:
                fh.write(b"x")
        stale = time.time() - 2 * 3600
        os.utime(orphan, (stale, stale))
        os.utime(partial, (stale, stale))
        store.compact(force=True)
        assert not os.path.exists(orphan) and not os.path.exists(partial)
        assert os.path.exists(fresh)  # may belong to a writer that has not committed yet
        assert store.count() == 3


def test_a_store_of_the_earlier_layout_is_converted_by_ensure_schema(path):
    """Vectors in FLOAT[n] columns move to segments; properties, vectors and search survive."""
    objects = _objects(range(5), seed=4)
    con = duckdb.connect(path)
    columns = ", ".join(f'"{c}" {t}' for c, t in PROPERTY_SQL_TYPES.items())
    con.execute(f"CREATE TABLE case_vectorized (id UUID PRIMARY KEY, {columns}, "
                f"vector_primary FLOAT[{SIZES['primary']}], vector_fallback FLOAT[{SIZES['fallback']}])")
    old = objects.select(["id", "case_id", "checksum", "vector_primary", "vector_fallback"])
    con.register("old", old)
    con.execute("INSERT INTO case_vectorized (id, case_id, checksum, vector_primary, vector_fallback) "
                "SELECT CAST(id AS UUID), case_id, checksum, vector_primary, vector_fallback FROM old")
    con.close()
    with DuckDBVectorStore(path=path) as store:
        store.ensure_schema(SIZES)
        assert store.count() == 5
        assert len(_segment_files(path)) == 1
        primary = unit_vectors(5, SIZES["primary"], 4)
        assert store.search(primary[3], "primary", k=1)[0].case_id == case_id_of(3)
        checksums = pa.Table.from_batches(list(store.iter_checksums())).sort_by("case_id")
        assert checksums.column("checksum").to_pylist() == old.sort_by("case_id").column("checksum").to_pylist()
        store.ensure_schema(SIZES)  # idempotent after the conversion
        assert store.upsert(_objects([5])).succeeded == [case_id_of(5)]


def test_in_memory_store_keeps_segments_in_a_private_folder_removed_on_close():
    store = DuckDBVectorStore(path=":memory:")
    store.ensure_schema(SIZES)
    store.upsert(_objects(range(2)))
    root = store._segments.root
    assert any(root.iterdir())
    assert store.search(unit_vectors(2, SIZES["primary"], 0)[1], "primary", k=1)[0].case_id == case_id_of(1)
    store.close()
    assert not root.exists()
