"""The pipeline end to end under prefect_test_harness, on generated staging data."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from flows.config import load_blocks
from flows.pipeline import PIPELINE_LOCK, case_vector_pipeline, run_pipeline
from flows.queries import export_cases, search_cases
from generator import generate_staging
from tests.staging_builder import read_staging_table, rewrite_staging_table
from stages.errors import RunLocked

pytestmark = pytest.mark.slow
CASES = 120


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated") / "staging"
    generate_staging(out, CASES, seed=11)
    return out


@pytest.fixture
def staging(generated, tmp_path):
    target = tmp_path / "staging"
    shutil.copytree(generated, target)
    return target


def _run(home, staging, **kw):
    return case_vector_pipeline(home=str(home), staging_path=str(staging), **kw)


def _live_case_ids(staging) -> set[str]:
    case = read_staging_table(staging, "case")
    return set(case.filter(pc.invert(case.column("IsDeleted"))).column("Id").to_pylist())


def test_first_run_loads_every_live_case_then_rerun_does_nothing(prefect_harness, staging, tmp_path):
    """First run loads every live case; the second run processes 0 and loads nothing."""
    first = _run(tmp_path / "home", staging)
    live = _live_case_ids(staging)
    assert first["loaded"] == len(live) and first["failed"] == 0
    assert first["reconciliation"]["counts"]["store_count"] == len(live)
    assert first["reconciliation"]["discrepancies"] == []
    second = _run(tmp_path / "home", staging)
    assert second["processed"] == 0 and second["loaded"] == 0
    full = _run(tmp_path / "home", staging, window_start=datetime(2000, 1, 1))
    assert full["selected"] >= len(live) and full["processed"] == 0 and full["skipped_unchanged"] == full["selected"]


def test_editing_one_comment_reprocesses_exactly_that_case(prefect_harness, staging, tmp_path):
    """A changed comment body (with a new LastModifiedDate) reprocesses exactly its case."""
    _run(tmp_path / "home", staging)
    comments = read_staging_table(staging, "casecomment")
    live = _live_case_ids(staging)
    idx = next(i for i, (p, d) in enumerate(zip(comments.column("ParentId").to_pylist(),
                                                comments.column("IsDeleted").to_pylist())) if p in live and not d)
    target_case = comments.column("ParentId")[idx].as_py()
    body = comments.column("CommentBody").to_pylist()
    body[idx] = "Replaced system board 875076-001, POST error 1796 cleared."
    lmd = comments.column("LastModifiedDate").to_pylist()
    lmd[idx] = datetime.now() - timedelta(minutes=1)
    comments = comments.set_column(comments.schema.get_field_index("CommentBody"), "CommentBody", pa.array(body))
    comments = comments.set_column(comments.schema.get_field_index("LastModifiedDate"), "LastModifiedDate",
                                   pa.array(lmd, pa.timestamp("us")))
    rewrite_staging_table(staging, "casecomment", comments)
    second = _run(tmp_path / "home", staging)
    assert second["processed"] == 1 and second["loaded"] == 1
    blocks = load_blocks(home=tmp_path / "home", staging_path=staging)
    with blocks.store as store:
        stored = store.fetch([target_case]).to_pylist()[0]
    assert any("875076-001" in c for c in stored["comment_bodies"])


def test_deleting_a_case_removes_it_from_the_store(prefect_harness, staging, tmp_path):
    """A case flagged IsDeleted disappears from the store and lineage says deleted."""
    _run(tmp_path / "home", staging)
    case = read_staging_table(staging, "case")
    live = sorted(_live_case_ids(staging))
    victim = live[0]
    flags = [i == victim or d for i, d in zip(case.column("Id").to_pylist(), case.column("IsDeleted").to_pylist())]
    lmd = [datetime.now() - timedelta(minutes=1) if i == victim else t
           for i, t in zip(case.column("Id").to_pylist(), case.column("LastModifiedDate").to_pylist())]
    case = case.set_column(case.schema.get_field_index("IsDeleted"), "IsDeleted", pa.array(flags))
    case = case.set_column(case.schema.get_field_index("LastModifiedDate"), "LastModifiedDate",
                           pa.array(lmd, pa.timestamp("us")))
    rewrite_staging_table(staging, "case", case)
    second = _run(tmp_path / "home", staging)
    assert second["deleted"] == 1
    blocks = load_blocks(home=tmp_path / "home", staging_path=staging)
    with blocks.store as store:
        assert store.fetch([victim]).num_rows == 0
        assert store.count() == len(live) - 1
    assert blocks.lineage.lineage_state([victim]).to_pylist()[0]["status"] == "deleted"
    third = _run(tmp_path / "home", staging, window_start=datetime(2000, 1, 1))
    assert third["processed"] == 0


def test_corrupt_rows_are_quarantined_while_the_rest_loads(prefect_harness, staging, tmp_path):
    """Null ids and unparseable timestamps go to failed_records; every other case loads."""
    case = read_staging_table(staging, "case")
    ids = case.column("Id").to_pylist()
    live = sorted(_live_case_ids(staging))
    bad_ts_case = live[1]
    ids_with_null = [None if i == live[2] else i for i in ids]
    closed = [("garbage" if i == bad_ts_case else (t.isoformat() if t else None))
              for i, t in zip(ids, case.column("ClosedDate").to_pylist())]
    case = case.set_column(case.schema.get_field_index("Id"), "Id", pa.array(ids_with_null, pa.string()))
    case = case.set_column(case.schema.get_field_index("ClosedDate"), "ClosedDate", pa.array(closed, pa.string()))
    rewrite_staging_table(staging, "case", case)
    summary = _run(tmp_path / "home", staging)
    assert summary["quarantined"] >= 2
    assert summary["loaded"] == len(live) - 2
    blocks = load_blocks(home=tmp_path / "home", staging_path=staging)
    failures = blocks.lineage.unresolved_failures("extract")
    kinds = {f["error_type"] for f in failures}
    assert {"NullId", "UnparseableTimestamp"} <= kinds
    message = next(f["error_message"] for f in failures if f["error_type"] == "UnparseableTimestamp")
    assert "ClosedDate" in message and bad_ts_case in message


@pytest.mark.parametrize("killed_after", ["compose", "redact", "embed"])
def test_killed_run_resumes_without_loss_or_duplicates(prefect_harness, staging, tmp_path, killed_after):
    """A run stopped after a stage resumes from its checkpoint; every case loads exactly once."""
    blocks = load_blocks(home=tmp_path / "home", staging_path=staging)
    stopped = run_pipeline(blocks, stop_after=killed_after)
    run_dir = tmp_path / "home" / "runs" / stopped["run_id"]
    assert (run_dir / f"{killed_after}.parquet").exists()
    resumed = _run(tmp_path / "home", staging, resume_run_id=stopped["run_id"])
    live = _live_case_ids(staging)
    assert resumed["run_id"] == stopped["run_id"] and resumed["loaded"] == len(live)
    with blocks.store as store:
        assert store.count() == len(live)
    again = _run(tmp_path / "home", staging, window_start=datetime(2000, 1, 1))
    assert again["processed"] == 0


def test_second_concurrent_run_is_refused(prefect_harness, staging, tmp_path):
    """While another run holds the lineage lock, a run exits with RunLocked naming the holder."""
    blocks = load_blocks(home=tmp_path / "home", staging_path=staging)
    blocks.lineage.ensure_schema()
    assert blocks.lineage.acquire_lock(PIPELINE_LOCK, "other-run", 3600)
    with pytest.raises(RunLocked, match="other-run"):
        run_pipeline(blocks)


def test_no_context_pii_in_export(prefect_harness, staging, tmp_path):
    """No value of any case's PII context columns appears in its exported properties."""
    _run(tmp_path / "home", staging)
    blocks = load_blocks(home=tmp_path / "home", staging_path=staging)
    out = tmp_path / "export.jsonl"
    n = export_cases(blocks, out)
    assert n == len(_live_case_ids(staging))
    con = duckdb.connect()
    ctx = con.execute(
        f"""SELECT Id, [SuppliedName, SuppliedEmail, SuppliedPhone, SuppliedCompany, ContactName, ContactEmail, ContactPhone]
            FROM read_parquet('{staging}/case/*.parquet')"""
    ).fetchall()
    context = {cid: [v for v in values if v and len(v) > 3] for cid, values in ctx}
    leaks = []
    for line in out.read_text().splitlines():
        obj = json.loads(line)
        text = json.dumps(obj["properties"], ensure_ascii=False).lower()
        digits = re.sub(r"\D", "", text)
        for value in context.get(obj["case_id"], []):
            if value.lower() in text:
                leaks.append((obj["case_id"], "value"))
            d = re.sub(r"\D", "", value)
            if len(d) >= 9 and d in digits:
                leaks.append((obj["case_id"], "digits"))
    assert leaks == []


def test_search_finds_cases(prefect_harness, staging, tmp_path):
    """Search returns stored cases with case number, subject and a score."""
    _run(tmp_path / "home", staging)
    blocks = load_blocks(home=tmp_path / "home", staging_path=staging)
    hits = search_cases(blocks, "memory DIMM replaced", k=5)
    assert 0 < len(hits) <= 5
    assert all(h.properties.get("case_number") for h, _ in hits)


@pytest.mark.postgres
def test_pipeline_with_lineage_on_postgresql(prefect_harness, staging, tmp_path, postgres_database_url):
    """With [lineage] on a real PostgreSQL, a run completes and its rerun processes nothing."""
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text(f'[staging]\ntype = "parquet"\npath = "{staging}"\n[lineage]\nurl = "{postgres_database_url}"\n')
    first = case_vector_pipeline(config_path=str(cfg), home=str(tmp_path / "home"))
    assert first["loaded"] == len(_live_case_ids(staging))
    second = case_vector_pipeline(config_path=str(cfg), home=str(tmp_path / "home"), window_start=datetime(2000, 1, 1))
    assert second["processed"] == 0
    blocks = load_blocks(cfg, home=tmp_path / "home")
    counts = {(r["stage"], r["status"]): r["count"] for r in blocks.lineage.stage_status_counts()}
    assert counts[("loaded", "completed")] == first["loaded"]
