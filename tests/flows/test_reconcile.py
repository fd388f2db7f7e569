"""Reconciliation scenarios: inject one fault, find exactly it, repair it."""

from __future__ import annotations

import shutil
from datetime import timedelta

import duckdb
import pytest

from flows.config import load_blocks
from flows.pipeline import run_pipeline
from flows.reconcile import reconcile
from generator import generate_staging


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("recgen") / "staging"
    generate_staging(out, 60, seed=21)
    return out


@pytest.fixture
def loaded(generated, tmp_path):
    staging = tmp_path / "staging"
    shutil.copytree(generated, staging)
    blocks = load_blocks(home=tmp_path / "home", staging_path=staging)
    summary = run_pipeline(blocks)
    assert summary["failed"] == 0
    return blocks, summary


def _store_sql(blocks, sql, params=()):
    blocks.store.close()
    con = duckdb.connect(blocks.store.path)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _kinds(result):
    return {d["type"]: d for d in result["discrepancies"]}


def test_clean_run_has_no_discrepancies(loaded):
    """After a clean run the diff finds nothing and counts agree."""
    blocks, summary = loaded
    result = reconcile(blocks)
    assert result["discrepancies"] == []
    assert result["counts"]["diff"]["lineage_completed"] == summary["loaded"]
    assert result["counts"]["join_coverage"]["total_cases"] == summary["loaded"]


def test_object_removed_behind_the_pipeline_is_found_and_restored(loaded):
    """An object deleted from the store directly is reported missing by id, and repair reloads it."""
    blocks, summary = loaded
    victim = _store_sql(blocks, "SELECT case_id FROM case_vectorized ORDER BY case_id LIMIT 1")[0][0]
    _store_sql(blocks, "DELETE FROM case_vectorized WHERE case_id = ?", [victim])
    found = reconcile(blocks)
    assert _kinds(found)["missing_from_store"]["actual"] == 1
    assert found["counts"]["diff"]["sample_ids"]["missing_from_store"] == [victim]
    repaired = reconcile(blocks, repair=True)
    assert repaired["repair"]["recovered"] == 1 and repaired["discrepancies"] == []
    with blocks.store as store:
        assert store.count() == summary["loaded"]


def test_stale_object_is_found_and_rewritten(loaded):
    """An object whose checksum differs from lineage is stale; repair rewrites it with the right one."""
    blocks, _ = loaded
    victim = _store_sql(blocks, "SELECT case_id FROM case_vectorized ORDER BY case_id DESC LIMIT 1")[0][0]
    _store_sql(blocks, "UPDATE case_vectorized SET checksum = 'stale' WHERE case_id = ?", [victim])
    assert _kinds(reconcile(blocks))["stale_checksum"]["actual"] == 1
    assert reconcile(blocks, repair=True)["discrepancies"] == []
    assert _store_sql(blocks, "SELECT checksum FROM case_vectorized WHERE case_id = ?", [victim])[0][0] != "stale"


def test_deleted_case_still_stored_is_critical_and_removed(loaded):
    """A case lineage says deleted but the store still holds is critical; repair deletes it."""
    blocks, _ = loaded
    victim = _store_sql(blocks, "SELECT case_id FROM case_vectorized ORDER BY case_id LIMIT 1 OFFSET 3")[0][0]
    blocks.lineage.mark([victim], stage="deleted", status="deleted")
    found = _kinds(reconcile(blocks))
    assert found["deleted_but_stored"]["severity"] == "critical"
    repaired = reconcile(blocks, repair=True)
    assert repaired["repair"]["deleted"] == 1
    assert _store_sql(blocks, "SELECT count(*) FROM case_vectorized WHERE case_id = ?", [victim])[0][0] == 0


@pytest.mark.parametrize("stage", ["composed", "redacted", "embedded", "loaded"])
def test_stuck_record_is_recomposed_from_staging(loaded, stage):
    """A record left in progress at any stage past the age limit is reported stuck and recovery completes it."""
    blocks, _ = loaded
    victim = blocks.lineage.lineage_state(
        [_store_sql(blocks, "SELECT case_id FROM case_vectorized ORDER BY case_id LIMIT 1 OFFSET 5")[0][0]]
    ).to_pylist()[0]["record_id"]
    blocks.lineage.mark([victim], stage=stage, status="in_progress")
    found = reconcile(blocks, stuck_after=timedelta(0))
    assert _kinds(found)["stuck_records"]["actual"] == 1
    reconcile(blocks, repair=True, stuck_after=timedelta(0))
    assert blocks.lineage.lineage_state([victim]).to_pylist()[0]["status"] == "completed"


def test_untracked_object_for_unknown_case_is_deleted(loaded):
    """An object no lineage record and no staging row explains is reported and removed by repair."""
    blocks, summary = loaded
    _store_sql(blocks, "INSERT INTO case_vectorized (id, case_id, checksum) VALUES (?, ?, ?)",
               ["00000000-0000-0000-0000-000000000001", "500NOSUCHCASE", "x"])
    assert _kinds(reconcile(blocks))["untracked_in_store"]["actual"] == 1
    reconcile(blocks, repair=True)
    with blocks.store as store:
        assert store.count() == summary["loaded"]


def test_repeatedly_failing_record_is_parked(loaded):
    """A failed record retried max_attempts times is parked, not retried forever."""
    blocks, _ = loaded
    victim = _store_sql(blocks, "SELECT case_id FROM case_vectorized ORDER BY case_id LIMIT 1 OFFSET 7")[0][0]
    for _ in range(3):
        blocks.lineage.mark([victim], stage="load", status="failed", increment_retry=True)
    result = reconcile(blocks, max_attempts=3)
    assert result["counts"]["parked"] == 1
    assert blocks.lineage.lineage_state([victim]).to_pylist()[0]["status"] == "parked"


def test_deep_check_finds_corrupted_property_and_wrong_vector_size(loaded):
    """--deep compares stored key properties with staging and checks each named vector's size."""
    blocks, summary = loaded
    clean = reconcile(blocks, deep=True, sample_size=None)
    assert clean["counts"]["deep"]["integrity"]["sampled"] == summary["loaded"]
    assert not [d for d in clean["discrepancies"] if d["type"] in ("content_corruption", "embedding_dimension_error")]
    victim = _store_sql(blocks, "SELECT case_id FROM case_vectorized ORDER BY case_id LIMIT 1 OFFSET 2")[0][0]
    _store_sql(blocks, "UPDATE case_vectorized SET priority = 'Bogus' WHERE case_id = ?", [victim])
    blocks.primary = type(blocks.primary)(dimensions=1024)  # the store holds 3072: every object is the wrong size
    found = _kinds(reconcile(blocks, deep=True, sample_size=None))
    assert found["content_corruption"]["gap"] == 1 and victim in found["content_corruption"]["detail"]
    assert found["embedding_dimension_error"]["gap"] == summary["loaded"]


def test_deep_check_finds_a_planted_pii_leak_and_reports_no_value(loaded, generated):
    """A context email planted in a stored object is a critical pii_leakage naming the case, not the value."""
    blocks, _ = loaded
    clean = reconcile(blocks, deep=True, sample_size=None)
    assert clean["counts"]["pii_leaks"] == 0
    con = duckdb.connect()
    victim, email = con.execute(
        f"""SELECT Id, ContactEmail FROM read_parquet('{generated}/case/*.parquet')
            WHERE NOT IsDeleted AND ContactEmail IS NOT NULL ORDER BY Id LIMIT 1""").fetchall()[0]
    _store_sql(blocks, "UPDATE case_vectorized SET close_comments = ? WHERE case_id = ?",
               [f"Customer can be reached at {email}", victim])
    result = reconcile(blocks, deep=True, sample_size=None)
    leak = _kinds(result)["pii_leakage"]
    assert leak["severity"] == "critical" and victim in result["counts"]["pii_leak_ids"]
    assert email.lower() not in str(result).lower()
