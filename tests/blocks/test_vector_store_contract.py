"""Contract every ``VectorStore`` implementation passes.

Add an implementation by adding a factory to ``STORE_FACTORIES``: a callable
taking ``tmp_path`` and returning a store usable as a context manager.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from blocks.duckdb_store import DuckDBVectorStore
from blocks.errors import StoreSchemaMismatch
from blocks.vector_store import VectorStore, vector_column
from tests.blocks.object_tables import (
    PROPERTIES,
    PROPERTY_TYPES,
    case_id_of,
    fake_case,
    object_table,
    rows_by_case,
    unit_vectors,
)
from tests.weaviate_standin.fixture import standin_store

STORE_FACTORIES: dict[str, Callable[[Path], VectorStore]] = {
    "duckdb": lambda tmp_path: DuckDBVectorStore(path=str(tmp_path / "store" / "vectors.duckdb")),
    "weaviate": standin_store,
}

SIZES = {"primary": 32, "fallback": 12}


@pytest.fixture(params=sorted(STORE_FACTORIES))
def store(request, tmp_path):
    with STORE_FACTORIES[request.param](tmp_path) as s:
        yield s


@pytest.fixture
def ready(store):
    store.ensure_schema(SIZES)
    return store


def _objects(numbers, seed=0, **vector_overrides):
    """Object table of fake cases ``numbers`` with both vectors (overridable per name)."""
    cases = [fake_case(n) for n in numbers]
    vectors = {
        "primary": unit_vectors(len(cases), SIZES["primary"], seed),
        "fallback": unit_vectors(len(cases), SIZES["fallback"], seed + 1),
    }
    vectors.update(vector_overrides)
    return object_table(cases, vectors)


def test_ensure_schema_is_idempotent(store):
    """Calling ensure_schema again with the same sizes changes nothing and keeps objects."""
    store.ensure_schema(SIZES)
    store.upsert(_objects(range(3)))
    store.ensure_schema(SIZES)
    store.ensure_schema(dict(SIZES))
    assert store.count() == 3


def test_ensure_schema_mismatch_raises_and_leaves_data_intact(ready):
    """A different vector size raises StoreSchemaMismatch naming vector, expected and actual; data stays."""
    ready.upsert(_objects(range(3)))
    before = rows_by_case(ready.fetch([case_id_of(n) for n in range(3)]))
    with pytest.raises(StoreSchemaMismatch) as info:
        ready.ensure_schema({"primary": 64, "fallback": SIZES["fallback"]})
    message = str(info.value)
    assert "primary" in message and "64" in message and "32" in message
    assert ready.count() == 3
    assert rows_by_case(ready.fetch([case_id_of(n) for n in range(3)])) == before
    lengths = ready.vector_lengths([case_id_of(0)]).to_pylist()
    assert lengths[0][vector_column("primary")] == SIZES["primary"]
    ready.ensure_schema(SIZES)


def test_ensure_schema_leaves_unrequested_vectors_alone(ready):
    """Sizing only some vectors of an existing store passes; the other vectors keep working."""
    ready.upsert(_objects([0]))
    ready.ensure_schema({"primary": SIZES["primary"]})
    ready.ensure_schema({"primary": SIZES["primary"], "fallback": None})
    assert ready.upsert(_objects([1])).succeeded == [case_id_of(1)]
    lengths = ready.vector_lengths([case_id_of(1)]).to_pylist()[0]
    assert lengths[vector_column("fallback")] == SIZES["fallback"]
    with pytest.raises(StoreSchemaMismatch, match="extra"):
        ready.ensure_schema({**SIZES, "extra": 4})


def test_upsert_then_fetch_round_trips_all_properties(ready):
    """Every one of the 44 properties and the lineage properties comes back as written."""
    objects = _objects(range(4))
    result = ready.upsert(objects)
    assert sorted(result.succeeded) == sorted(case_id_of(n) for n in range(4))
    assert result.failed == []
    fetched = ready.fetch([case_id_of(n) for n in range(4)] + ["500Kh_not_stored__"])
    assert set(fetched.column_names) == set(PROPERTIES)
    assert not any(c.startswith(vector_column("")) for c in fetched.column_names)
    assert rows_by_case(fetched) == rows_by_case(objects)
    stored = rows_by_case(fetched)[case_id_of(2)]
    assert len(stored["task_subjects"]) == 3 and stored["parent_id"] is None
    assert stored["created_date"] == fake_case(2)["created_date"]


def test_fetch_returns_the_same_arrow_layout_for_every_store(ready):
    """fetch() returns every property in object-table order with the same Arrow types, found or not."""
    expected = pa.schema(list(PROPERTY_TYPES.items()))
    ready.upsert(_objects(range(2)))
    assert ready.fetch([case_id_of(0), case_id_of(1)]).schema == expected
    assert ready.fetch(["500Kh_not_stored__"]).schema == expected
    assert ready.fetch([]).schema == expected


def test_rerun_upsert_with_same_ids_does_not_duplicate(ready):
    """Upserting the same cases twice (and a case twice in one batch) keeps one object per case."""
    ready.upsert(_objects(range(5)))
    ready.upsert(_objects(range(5), seed=7))
    assert ready.count() == 5
    twice = pa.concat_tables([_objects([9], seed=1), _objects([9], seed=2)])
    result = ready.upsert(twice)
    assert result.succeeded == [case_id_of(9)]
    assert ready.count() == 6


def test_upsert_replaces_whole_object(ready):
    """A field set to null, a missing column or a dropped vector disappears on the next upsert."""
    ready.upsert(_objects([1]))
    changed = fake_case(1, subject=None, comment_bodies=None, task_types=["Plan of Action"])
    objects = object_table([changed], {"primary": unit_vectors(1, SIZES["primary"], 3)})
    objects = objects.drop_columns(["close_comments"])
    assert ready.upsert(objects).succeeded == [case_id_of(1)]
    stored = rows_by_case(ready.fetch([case_id_of(1)]))[case_id_of(1)]
    assert stored["subject"] is None
    assert stored["comment_bodies"] is None
    assert stored["close_comments"] is None
    assert stored["task_types"] == ["Plan of Action"]
    assert stored["description"] == fake_case(1)["description"]
    lengths = ready.vector_lengths([case_id_of(1)]).to_pylist()[0]
    assert lengths[vector_column("primary")] == SIZES["primary"]
    assert lengths[vector_column("fallback")] is None


def test_delete_removes_objects_and_counts_existing(ready):
    """delete() removes the given cases, ignores unknown ids and returns how many existed."""
    ready.upsert(_objects(range(6)))
    assert ready.delete([case_id_of(1), case_id_of(4), "500Kh_not_stored__"]) == 2
    assert ready.count() == 4
    assert ready.fetch([case_id_of(1), case_id_of(4)]).num_rows == 0
    assert ready.delete([]) == 0
    assert ready.delete([case_id_of(1)]) == 0


def test_iter_checksums_covers_all_objects_across_batches(ready):
    """iter_checksums yields every (case_id, checksum) once, in batches no larger than asked."""
    ready.upsert(_objects(range(25)))
    batches = list(ready.iter_checksums(batch_size=10))
    assert len(batches) >= 3
    assert all(0 < b.num_rows <= 10 for b in batches)
    assert all(b.schema.names == ["case_id", "checksum"] for b in batches)
    pairs = [p for b in batches for p in zip(b.column("case_id").to_pylist(), b.column("checksum").to_pylist())]
    assert sorted(pairs) == sorted((case_id_of(n), fake_case(n)["checksum"]) for n in range(25))


def test_fetch_while_iterating_checksums(ready):
    """fetch() may be called between the batches of iter_checksums (the export pattern)."""
    ready.upsert(_objects(range(12)))
    seen = 0
    for batch in ready.iter_checksums(batch_size=5):
        fetched = ready.fetch(batch.column("case_id").to_pylist())
        assert fetched.num_rows == batch.num_rows
        seen += fetched.num_rows
    assert seen == 12


def test_bad_vectors_are_rejected_per_object(ready):
    """Wrong-length or non-finite vectors fail their own object, naming case and vector; others are stored."""
    primary = list(unit_vectors(4, SIZES["primary"], 1))
    fallback = list(unit_vectors(4, SIZES["fallback"], 2))
    primary[1] = unit_vectors(1, SIZES["primary"] + 1, 3)[0]
    fallback[2] = fallback[2].copy()
    fallback[2][0] = np.nan
    primary[3] = primary[3].copy()
    primary[3][5] = np.inf
    objects = object_table([fake_case(n) for n in range(4)], {"primary": primary, "fallback": fallback})
    result = ready.upsert(objects)
    assert result.succeeded == [case_id_of(0)]
    reasons = dict(result.failed)
    assert set(reasons) == {case_id_of(1), case_id_of(2), case_id_of(3)}
    assert case_id_of(1) in reasons[case_id_of(1)] and "primary" in reasons[case_id_of(1)]
    assert case_id_of(2) in reasons[case_id_of(2)] and "fallback" in reasons[case_id_of(2)]
    assert case_id_of(3) in reasons[case_id_of(3)] and "primary" in reasons[case_id_of(3)]
    assert ready.count() == 1


def test_search_returns_nearest_object_first(ready):
    """search() on a named vector ranks the closest object first, with case_number and subject."""
    primary = unit_vectors(12, SIZES["primary"], 5)
    ready.upsert(_objects(range(12), primary=primary))
    rng = np.random.default_rng(9)
    query = primary[7] + 0.05 * rng.standard_normal(SIZES["primary"]).astype(np.float32)
    hits = ready.search(query, "primary", k=5)
    assert len(hits) == 5
    assert hits[0].case_id == case_id_of(7)
    assert hits[0].score > 0.9
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].properties["case_number"] == fake_case(7)["case_number"]
    assert hits[0].properties["subject"] == fake_case(7)["subject"]


def test_fallback_only_objects_are_found_on_fallback_not_primary(ready):
    """An object with only a fallback vector is found on 'fallback' and never on 'primary'."""
    fallback = unit_vectors(3, SIZES["fallback"], 11)
    primary = [*unit_vectors(2, SIZES["primary"], 12), None]
    ready.upsert(_objects(range(3), primary=primary, fallback=fallback))
    assert ready.search(fallback[2], "fallback", k=1)[0].case_id == case_id_of(2)
    on_primary = ready.search(unit_vectors(1, SIZES["primary"], 13)[0], "primary", k=10)
    assert {h.case_id for h in on_primary} == {case_id_of(0), case_id_of(1)}


def test_close_then_reuse_reopens_and_keeps_objects(ready):
    """After close() the store reopens on next use and still holds its objects."""
    ready.upsert(_objects(range(3)))
    ready.close()
    assert ready.count() == 3
    assert ready.search(unit_vectors(1, SIZES["primary"], 4)[0], "primary", k=3)


def test_zone_aware_timestamps_are_stored_as_the_same_instant(ready):
    """A zone-aware timestamp column is stored as that instant (read back as naive UTC)."""
    objects = _objects([0])
    utc = objects.column("created_date").cast(pa.timestamp("us", tz="UTC"))
    berlin = utc.cast(pa.timestamp("us", tz="Europe/Berlin"))
    objects = objects.set_column(objects.schema.get_field_index("created_date"), "created_date", berlin)
    ready.upsert(objects)
    stored = rows_by_case(ready.fetch([case_id_of(0)]))[case_id_of(0)]
    assert stored["created_date"] == fake_case(0)["created_date"]


def test_search_on_unknown_vector_or_wrong_length_raises(ready):
    """Searching a vector the store does not have, or with a wrong-length query, raises ValueError."""
    ready.upsert(_objects(range(2)))
    with pytest.raises(ValueError, match="nonexistent"):
        ready.search(unit_vectors(1, SIZES["primary"])[0], "nonexistent")
    with pytest.raises(ValueError, match="primary"):
        ready.search(unit_vectors(1, SIZES["primary"] + 1)[0], "primary")


def test_empty_upsert_reports_nothing(ready):
    """Upserting an empty object table succeeds with no outcomes."""
    result = ready.upsert(_objects([]))
    assert result.succeeded == [] and result.failed == []
    assert ready.count() == 0


# -- DuckDBVectorStore only --------------------------------------------------------


@pytest.fixture
def duckdb_store(tmp_path):
    with DuckDBVectorStore(path=str(tmp_path / "vectors.duckdb")) as s:
        yield s


def test_duckdb_upsert_before_ensure_schema_raises(duckdb_store):
    """Writing to a store whose table does not exist raises StoreSchemaMismatch; reads see nothing."""
    with pytest.raises(StoreSchemaMismatch, match="ensure_schema"):
        duckdb_store.upsert(_objects([0]))
    assert duckdb_store.count() == 0
    assert duckdb_store.fetch([case_id_of(0)]).num_rows == 0
    assert list(duckdb_store.iter_checksums()) == []


def test_duckdb_rejects_unknown_columns_and_foreign_ids(duckdb_store):
    """An unknown column fails the whole call; an id that is not uuid5(case_id) fails its object."""
    duckdb_store.ensure_schema(SIZES)
    with pytest.raises(ValueError, match="composite_text"):
        duckdb_store.upsert(_objects([0]).append_column("composite_text", pa.array(["x"])))
    objects = _objects([0, 1])
    ids = objects.column("id").to_pylist()
    objects = objects.set_column(0, "id", pa.array([ids[1], ids[1]]))
    result = duckdb_store.upsert(objects)
    assert result.succeeded == [case_id_of(1)]
    assert result.failed[0][0] == case_id_of(0) and "uuid5" in result.failed[0][1]


def test_duckdb_new_instance_reads_existing_file(tmp_path):
    """A second block on the same file finds the table and its vector sizes without ensure_schema."""
    path = str(tmp_path / "vectors.duckdb")
    with DuckDBVectorStore(path=path) as first:
        first.ensure_schema({"primary": SIZES["primary"], "fallback": None})
        first.upsert(_objects([0], fallback=[None]))
    with DuckDBVectorStore(path=path) as second:
        assert second.count() == 1
        assert second.vector_lengths([case_id_of(0)]).column_names == ["case_id", vector_column("primary")]
        rejected = second.upsert(_objects([1]))
        assert "fallback" in rejected.failed[0][1]
