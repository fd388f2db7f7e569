"""LineageStore contract, run against SQLite and a real PostgreSQL alike."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import copy
import pickle

import pyarrow as pa
import pytest
from sqlalchemy import select

from blocks.lineage import LINEAGE_STATE_SCHEMA, LineageStore
from blocks.lineage_sql import ID_CHUNK
from blocks.lineage_tables import data_lineage, reconciliation_runs


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/home/lineage.db"
    return request.getfixturevalue("postgres_database_url")


@pytest.fixture
def store(db_url):
    with LineageStore.from_url(db_url) as lineage:
        lineage.ensure_schema()
        yield lineage


def _row(store: LineageStore, table, **where) -> dict:
    stmt = select(table).where(*[table.c[k] == v for k, v in where.items()])
    with store.engine.connect() as conn:
        return dict(conn.execute(stmt).one()._mapping)


def _extracted(ids, **extra) -> list[dict]:
    return [
        {
            "record_id": i,
            "case_number": f"CN-{i}",
            "source_timestamp": datetime(2024, 1, 1),
            "current_stage": "extracted",
            "status": "in_progress",
            "checksum": f"sum-{i}",
            **extra,
        }
        for i in ids
    ]


def test_ensure_schema_is_idempotent(store):
    """A second ensure_schema on an existing database changes nothing and keeps data."""
    store.upsert_records(_extracted(["a"]))
    store.ensure_schema()
    assert store.lineage_state(["a"]).num_rows == 1


def test_ensure_schema_adds_new_nullable_columns_to_an_older_database(store):
    """A database created before ``source_fingerprint`` existed gets the column, data kept."""
    from sqlalchemy import inspect, text

    store.upsert_records(_extracted(["a"]))
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE data_lineage DROP COLUMN source_fingerprint"))
    store.close()
    assert "source_fingerprint" not in {c["name"] for c in inspect(store.engine).get_columns("data_lineage")}
    store.ensure_schema()
    assert "source_fingerprint" in {c["name"] for c in inspect(store.engine).get_columns("data_lineage")}
    state = store.lineage_state(["a"]).to_pylist()
    assert state[0]["checksum"] == "sum-a" and state[0]["source_fingerprint"] is None


def test_upsert_then_partial_update_keeps_other_columns(store):
    """An upsert with fewer keys updates only those keys; created_at stays, updated_at moves."""
    assert store.upsert_records(_extracted(["a", "b"], has_tasks=True, task_count=2)) == 2
    before = _row(store, data_lineage, record_id="a")

    store.upsert_records([{"record_id": "a", "checksum": "new", "embedding_model": "m1"}])

    after = _row(store, data_lineage, record_id="a")
    changed = {"checksum": "new", "embedding_model": "m1", "updated_at": after["updated_at"]}
    assert after == {**before, **changed}
    assert after["updated_at"] > before["updated_at"] and after["created_at"] == before["created_at"]
    assert _row(store, data_lineage, record_id="b")["checksum"] == "sum-b"


def test_upsert_rejects_unknown_and_uneven_keys(store):
    """Rows naming an unknown column, or not sharing one key set, are refused with the table named."""
    with pytest.raises(ValueError, match="data_lineage has no column"):
        store.upsert_records([{"record_id": "a", "colour": "red"}])
    with pytest.raises(ValueError, match="one key set"):
        store.upsert_records([{"record_id": "a"}, {"record_id": "b", "checksum": "x"}])


def test_upsert_repeated_id_keeps_last_row_and_stores_aware_times_as_utc(store):
    """A repeated record_id in one batch keeps its last row; aware datetimes land as naive UTC."""
    aware = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    rows = _extracted(["a"]) + [{**_extracted(["a"])[0], "checksum": "last", "source_timestamp": aware}]
    assert store.upsert_records(rows) == 1
    row = _row(store, data_lineage, record_id="a")
    assert row["checksum"] == "last" and row["source_timestamp"] == datetime(2024, 5, 1, 10, 0)


def test_upsert_batch_stores_each_rows_own_values_when_many_repeat(store):
    """Repeated, distinct, naive, aware and missing values in one batch each land on their own row."""
    now = datetime(2024, 6, 1, 9, 30)
    stamps = [now, now, datetime(2024, 6, 1, 11, 30, tzinfo=timezone(timedelta(hours=2))), None,
              datetime(2023, 1, 2, 3, 4, 5, 678901)]
    rows = [{**r, "source_timestamp": ts, "staging_timestamp": now, "has_tasks": i % 2 == 0}
            for i, (r, ts) in enumerate(zip(_extracted([f"r{i}" for i in range(5)]), stamps))]
    assert store.upsert_records(rows) == 5
    got = [_row(store, data_lineage, record_id=f"r{i}") for i in range(5)]
    assert [g["source_timestamp"] for g in got] == [now, now, now, None, datetime(2023, 1, 2, 3, 4, 5, 678901)]
    assert [g["has_tasks"] for g in got] == [True, False, True, False, True]
    assert {g["staging_timestamp"] for g in got} == {now}


def test_mark_updates_every_id_in_bulk(store):
    """mark sets stage, status, run, extra columns and retries on all given ids, ignoring unknown ids."""
    ids = [f"c{i}" for i in range(ID_CHUNK + 10)]
    store.upsert_records(_extracted(ids))
    loaded = datetime(2024, 2, 2, 3, 4, 5)

    updated = store.mark(
        ids[:-1] + ["missing"],
        stage="weaviate_loaded",
        status="completed",
        run_id="run-1",
        increment_retry=True,
        weaviate_timestamp=loaded,
        embedding_model="nomic",
    )

    assert updated == len(ids) - 1
    state = {r["record_id"]: r for r in store.lineage_state(ids).to_pylist()}
    assert state[ids[0]] == {
        "record_id": ids[0],
        "checksum": f"sum-{ids[0]}",
        "source_fingerprint": None,
        "status": "completed",
        "current_stage": "weaviate_loaded",
        "retry_count": 1,
        "embedding_model": "nomic",
        "run_id": "run-1",
    }
    assert state[ids[-1]]["status"] == "in_progress"

    store.mark([ids[0]], stage="embedding_generated", status="failed", error_message="boom")
    assert store.lineage_state([ids[0]]).to_pylist()[0]["run_id"] == "run-1"  # kept when not given
    with pytest.raises(ValueError, match="data_lineage.created_at"):
        store.mark(ids, stage="x", status="y", created_at=loaded)


def test_lineage_state_reads_more_ids_than_one_chunk(store):
    """lineage_state over more than ID_CHUNK ids returns every existing one, typed, and skips the rest."""
    ids = [f"r{i:06d}" for i in range(2 * ID_CHUNK + 7)]
    store.upsert_records(_extracted(ids[::2]))

    state = store.lineage_state(ids + ids[:3])

    assert state.schema == LINEAGE_STATE_SCHEMA
    assert sorted(state["record_id"].to_pylist()) == ids[::2]
    assert store.lineage_state([]).num_rows == 0


def test_failures_are_recorded_and_resolved(store):
    """Failures are stored with payload and run; resolving closes only the matching open ones."""
    n = store.record_failures(
        [
            {"record_id": "a", "stage": "embed", "error_type": "EmbedderUnavailable",
             "error_message": "503", "payload": {"chars": 1200, "at": datetime(2024, 1, 1)}, "run_id": "r1"},
            {"record_id": "b", "stage": "embed", "error_type": "EmbedderUnavailable", "error_message": "503"},
            {"record_id": "a", "stage": "load", "error_type": "StoreUnavailable", "error_message": "down",
             "retry_count": 2},
        ]
    )
    assert n == 3
    open_embed = store.unresolved_failures("embed")
    assert [f["record_id"] for f in open_embed] == ["a", "b"]
    assert open_embed[0]["payload"] == {"chars": 1200, "at": "2024-01-01T00:00:00"}
    assert open_embed[0]["run_id"] == "r1" and len(open_embed[0]["failure_id"]) == 36

    assert store.resolve_failures(["a"], stage="embed") == 1
    remaining = store.unresolved_failures()
    assert sorted((f["record_id"], f["stage"]) for f in remaining) == [("a", "load"), ("b", "embed")]
    assert store.resolve_failures(["a", "b"]) == 2
    assert store.unresolved_failures() == []
    with pytest.raises(ValueError, match="lacks"):
        store.record_failures([{"record_id": "c", "stage": "embed"}])


def test_runs_and_last_successful_run(store):
    """Runs move running -> completed/failed; the last successful run is the latest completed one."""
    window = (datetime(2024, 1, 1), datetime(2024, 1, 2))
    assert store.last_successful_run("sync") is None
    for run_id, status, mark in [("r1", "completed", datetime(2024, 1, 1, 6)),
                                 ("r2", "completed", datetime(2024, 1, 2, 6)),
                                 ("r3", "failed", None)]:
        store.start_run(run_id, flow_name="sync", window_start=window[0], window_end=window[1],
                        parameters={"batch_size": 100, "since": window[0]})
        assert store.get_run(run_id)["status"] == "running"
        store.finish_run(run_id, status=status, high_water_mark=mark, summary={"loaded": 3})

    last = store.last_successful_run("sync")
    assert last["run_id"] == "r2" and last["high_water_mark"] == datetime(2024, 1, 2, 6)
    assert last["parameters"] == {"batch_size": 100, "since": "2024-01-01T00:00:00"}
    assert last["summary"] == {"loaded": 3} and last["window_end"] == window[1]
    assert store.get_run("r3")["status"] == "failed"
    assert store.get_run("nope") is None
    assert store.last_successful_run("other") is None
    with pytest.raises(LookupError, match="nope"):
        store.finish_run("nope", status="completed")
    with pytest.raises(ValueError, match="pipeline_runs.status"):
        store.finish_run("r1", status="done")


def test_lock_acquire_refuse_take_over_release(store):
    """One owner holds a lease; others are refused until it expires or is released."""
    assert store.acquire_lock("sync", "w1", ttl_seconds=60)
    assert not store.acquire_lock("sync", "w2", ttl_seconds=60)
    assert store.acquire_lock("sync", "w1", ttl_seconds=60)  # re-entrant for its owner
    holder = store.lock_holder("sync")
    assert holder["owner"] == "w1" and not holder["expired"]

    assert store.refresh_lock("sync", "w1", ttl_seconds=-1)  # lease now in the past
    assert store.lock_holder("sync")["expired"]
    assert store.acquire_lock("sync", "w2", ttl_seconds=60)  # expired: taken over
    assert store.lock_holder("sync")["owner"] == "w2"
    assert not store.refresh_lock("sync", "w1", ttl_seconds=60)

    store.release_lock("sync", "w1")  # not the holder: no effect
    assert store.lock_holder("sync")["owner"] == "w2"
    store.release_lock("sync", "w2")
    assert store.lock_holder("sync") is None
    assert store.acquire_lock("sync", "w3", ttl_seconds=60)


def test_lock_race_between_two_connections_has_one_winner(db_url, store):
    """Two workers with their own engines race for a free or an expired lease: exactly one wins, every round."""
    rounds = 16
    for r in range(1, rounds, 2):  # odd rounds: a stale lease left by a dead worker
        store.acquire_lock(f"race-{r}", "dead-worker", ttl_seconds=-1)
    winners: dict[int, list[str]] = {r: [] for r in range(rounds)}
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(owner: str) -> None:
        try:
            with LineageStore.from_url(db_url) as own:
                own.lock_holder("warm-up")  # connect before the race starts
                for r in range(rounds):
                    barrier.wait(timeout=30)
                    if own.acquire_lock(f"race-{r}", owner, ttl_seconds=60):
                        winners[r].append(owner)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not errors, errors
    assert all(len(w) == 1 for w in winners.values()), winners
    assert store.lock_holder("race-0")["owner"] == winners[0][0]


def test_iter_completed_checksums_streams_batches(store):
    """Completed records' (record_id, checksum) come in batches of at most batch_size, in id order."""
    ids = [f"k{i:04d}" for i in range(25)]
    store.upsert_records(_extracted(ids))
    store.mark(ids[:23], stage="weaviate_loaded", status="completed")

    batches = list(store.iter_completed_checksums(batch_size=10))

    assert [b.num_rows for b in batches] == [10, 10, 3]
    table = pa.Table.from_batches(batches)
    assert table.column_names == ["record_id", "checksum"]
    assert table["record_id"].to_pylist() == ids[:23]
    assert table["checksum"].to_pylist() == [f"sum-{i}" for i in ids[:23]]


def test_join_stats_coverage_and_stage_counts(store):
    """Join stats insert in bulk; coverage and stage counts summarise completed lineage."""
    now = datetime(2024, 3, 1)
    assert store.record_join_stats(
        [{"case_id": i, "case_number": f"CN-{i}", "execution_timestamp": now, "case_found": True,
          "tasks_joined": 2, "run_id": "r1"} for i in "abc"]
    ) == 3
    store.upsert_records(_extracted(["a", "b", "c"], has_tasks=False, task_count=0))
    store.upsert_records([
        {"record_id": "a", "has_tasks": True, "task_count": 3, "has_feeds": True, "feed_count": 1,
         "total_fields_populated": 30},
        {"record_id": "b", "has_tasks": True, "task_count": 1, "has_feeds": False, "feed_count": 0,
         "total_fields_populated": 10},
    ])
    store.mark(["a", "b"], stage="weaviate_loaded", status="completed")

    coverage = store.join_coverage()

    assert coverage["total_cases"] == 2 and coverage["cases_with_tasks"] == 2
    assert coverage["avg_tasks"] == pytest.approx(2.0)
    assert coverage["cases_with_feeds"] == 1 and coverage["avg_feeds"] == pytest.approx(0.5)
    assert coverage["cases_with_emails"] == 0 and coverage["avg_fields_populated"] == pytest.approx(20.0)
    assert store.stage_status_counts() == [
        {"stage": "extracted", "status": "in_progress", "count": 1},
        {"stage": "weaviate_loaded", "status": "completed", "count": 2},
    ]


def test_record_reconciliation_inserts_then_updates(store):
    """A reconciliation run is recorded at start and completed later under the same run_id."""
    start = datetime(2024, 4, 1)
    row = {"run_id": "rec-1", "run_type": "daily", "start_time": start, "status": "running"}
    store.record_reconciliation(row)
    store.record_reconciliation({**row, "status": "completed", "end_time": start + timedelta(minutes=5),
                                 "discrepancies_found": 2, "error_details": {"missing": ["a", "b"]}})
    with pytest.raises(ValueError, match="start_time"):
        store.record_reconciliation({"run_id": "rec-1", "status": "failed"})
    row = _row(store, reconciliation_runs, run_id="rec-1")
    assert row["run_type"] == "daily" and row["status"] == "completed"
    assert row["error_details"] == {"missing": ["a", "b"]} and row["discrepancies_found"] == 2


def test_from_url_keeps_password_out_of_the_saved_url():
    """from_url stores the password as a secret field, not inside a plain URL string."""
    lineage = LineageStore.from_url("postgresql+psycopg://app:s3cret@db:5432/lineage")
    info = lineage.connector.connection_info
    assert info.driver == "postgresql+psycopg" and info.database == "lineage"
    assert "s3cret" not in repr(lineage.connector)
    assert lineage.url.render_as_string(hide_password=False) == "postgresql+psycopg://app:s3cret@db:5432/lineage"


def test_copies_and_pickles_open_their_own_engine(tmp_path):
    """A deep-copied or unpickled store starts without the original's engine and still works."""
    with LineageStore.from_url(f"sqlite:///{tmp_path}/lineage.db") as lineage:
        lineage.ensure_schema()
        lineage.upsert_records(_extracted(["a"]))
        for clone in (copy.deepcopy(lineage), pickle.loads(pickle.dumps(lineage))):
            with clone:
                assert clone.engine is not lineage.engine
                assert clone.lineage_state(["a"]).num_rows == 1


def test_set_fingerprints_updates_existing_rows_only(store):
    """Fingerprints land on existing rows in one batch; an unknown id never creates a row."""
    ids = [f"f{i}" for i in range(ID_CHUNK + 5)]
    store.upsert_records(_extracted(ids))
    store.set_fingerprints(ids + ["unknown"], [f"fp-{i}" for i in ids] + ["fp-x"])
    state = {r["record_id"]: r for r in store.lineage_state(ids + ["unknown"]).to_pylist()}
    assert "unknown" not in state
    assert all(state[i]["source_fingerprint"] == f"fp-{i}" for i in ids)
    assert state[ids[0]]["status"] == "in_progress" and state[ids[0]]["checksum"] == f"sum-{ids[0]}"
