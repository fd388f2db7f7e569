"""What each stage's outcome means for lineage, written in batches.

The flow calls these after each stage; each reads the stage's checkpoint in
batches and issues one bulk statement per batch, never one per record. A
record gets ``completed`` (and its new checksum) only from the load outcome,
that is, after the store confirmed the write.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from stages.checkpoint import open_parquet

__all__ = [
    "now_utc",
    "record_quarantine",
    "record_selected",
    "record_fingerprints",
    "record_redacted",
    "record_embedded",
    "record_loaded",
    "record_drained",
    "LOAD_PENDING",
]

_BATCH = 10_000
SOURCE_SYSTEM = "salesforce"
#: Lineage status of a case whose store write waits in the load queue (stage ``load``).
LOAD_PENDING = "load_pending"


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _batches(path: Path, columns: list[str]) -> Iterable[pa.Table]:
    pf = open_parquet(path)
    for batch in pf.iter_batches(batch_size=_BATCH, columns=columns):
        yield pa.Table.from_batches([batch])


def record_quarantine(lineage, failures: list[dict], run_id: str) -> int:
    """Quarantined rows to ``failed_records``, once per open problem (not once per run)."""
    if not failures:
        return 0
    open_keys = {(f["record_id"], f["error_type"]) for f in lineage.unresolved_failures("extract")}
    fresh = [dict(f, run_id=run_id) for f in failures if (f["record_id"], f["error_type"]) not in open_keys]
    for lo in range(0, len(fresh), _BATCH):
        lineage.record_failures(fresh[lo : lo + _BATCH])
    return len(fresh)


_SELECTED_COLUMNS = [
    "case_id", "case_number", "action", "checksum", "source_last_modified", "task_count", "workorder_count",
    "comment_count", "email_count", "feed_count", "total_fields_populated", "issue_fields_populated",
    "resolution_fields_populated", "composite_text_length", "was_truncated",
]


def record_selected(lineage, changes_path: Path, run_id: str) -> int:
    """Cases about to be worked on: lineage rows (in progress) and join statistics."""
    now = now_utc()
    n = 0
    for t in _batches(changes_path, _SELECTED_COLUMNS):
        rows = t.to_pylist()
        upserts = [r for r in rows if r["action"] == "upsert"]
        if upserts:
            lineage.upsert_records([
                {
                    "record_id": r["case_id"], "case_number": r["case_number"] or "",
                    "source_system": SOURCE_SYSTEM, "source_timestamp": r["source_last_modified"] or now,
                    "staging_timestamp": now, "current_stage": "composed", "status": "in_progress",
                    "error_message": None, "run_id": run_id,
                    "has_tasks": r["task_count"] > 0, "task_count": r["task_count"],
                    "has_workorders": r["workorder_count"] > 0, "workorder_count": r["workorder_count"],
                    "has_comments": r["comment_count"] > 0, "comment_count": r["comment_count"],
                    "has_emails": r["email_count"] > 0, "email_count": r["email_count"],
                    "has_feeds": r["feed_count"] > 0, "feed_count": r["feed_count"],
                    "total_fields_populated": r["total_fields_populated"],
                    "issue_fields_populated": r["issue_fields_populated"],
                    "resolution_fields_populated": r["resolution_fields_populated"],
                }
                for r in upserts
            ])
            lineage.record_join_stats([
                {
                    "case_id": r["case_id"], "case_number": r["case_number"] or "", "execution_timestamp": now,
                    "case_found": True, "tasks_joined": r["task_count"], "workorders_joined": r["workorder_count"],
                    "comments_joined": r["comment_count"], "emails_joined": r["email_count"],
                    "workorder_feeds_joined": r["feed_count"], "composite_text_length": r["composite_text_length"],
                    "was_truncated": r["was_truncated"], "run_id": run_id,
                }
                for r in upserts
            ])
        n += len(rows)
    return n


def record_fingerprints(lineage, fingerprints_path: Path, compose_path: Path, action: str | None = None) -> int:
    """Source fingerprints of every composed case onto its lineage row.

    Run after ``record_selected``: cases about to be worked on then have a
    row (their status gates the fingerprint until they complete), and cases
    the checksum found unchanged keep their status and get the fingerprint
    that lets the next run skip them before composing. Quarantined and
    never-seen deleted cases have no row yet: the load gives them one, and
    the flow calls this again then for the deletes (``action="delete"``,
    ``compose_path`` the changes checkpoint).
    """
    if not Path(fingerprints_path).exists():
        return 0
    con = duckdb.connect()
    try:
        reader = con.sql(
            "SELECT f.case_id, f.fingerprint FROM read_parquet($f) f "
            "SEMI JOIN read_parquet($c) c ON c.case_id = f.case_id AND ($action IS NULL OR c.action = $action)",
            params={"f": str(fingerprints_path), "c": str(compose_path), "action": action},
        ).arrow()
        n = 0
        for batch in reader:
            n += lineage.set_fingerprints(batch.column(0).to_pylist(), batch.column(1).to_pylist())
        return n
    finally:
        con.close()


def record_redacted(lineage, redact_path: Path, run_id: str, failed: list[tuple[str, str]] = ()) -> None:
    """Redacted cases move on; cases the redactor could not handle are failed records."""
    _fail(lineage, [{"case_id": cid, "reason": f"{err} while redacting case {cid}"} for cid, err in failed],
          "redact", run_id, "RedactionFailure", "reason")
    now = now_utc()
    for t in _batches(redact_path, ["case_id"]):
        lineage.mark(t.column("case_id").to_pylist(), stage="redacted", status="in_progress", run_id=run_id,
                     transformed_timestamp=now)


def record_embedded(lineage, embed_path: Path, run_id: str) -> None:
    """Which model embedded each case; embedding failures become failed records."""
    now = now_utc()
    for t in _batches(embed_path, ["case_id", "primary_model", "fallback_model", "embed_error"]):
        for model_col in ("primary_model", "fallback_model"):
            sub = t.filter(pc.is_valid(t.column(model_col)))
            for model in set(sub.column(model_col).to_pylist()):
                ids = sub.filter(pc.equal(sub.column(model_col), model)).column("case_id").to_pylist()
                lineage.mark(ids, stage="embedded", status="in_progress", run_id=run_id,
                             embedding_model=model, embedded_timestamp=now)
        failed = t.filter(pc.is_valid(t.column("embed_error"))).to_pylist()
        _fail(lineage, failed, "embed", run_id, "EmbeddingFailure", "embed_error")


def _fail(lineage, rows: list[dict], stage: str, run_id: str, error_type: str, reason_key: str) -> None:
    if not rows:
        return
    ids = [r["case_id"] for r in rows]
    lineage.mark(ids, stage=stage, status="failed", run_id=run_id, increment_retry=True,
                 error_message=f"{error_type} at {stage}; see failed_records")
    lineage.record_failures([
        {"record_id": r["case_id"], "stage": stage, "error_type": error_type, "error_message": r[reason_key],
         "payload": {"case_id": r["case_id"], "run_id": run_id, "stage": stage}, "run_id": run_id}
        for r in rows
    ])


def record_loaded(lineage, load_path: Path, changes_path: Path, run_id: str) -> None:
    """Completed (with checksum), failed, deleted, or ``load_pending`` (queued), as the store reported.

    Outcomes are joined with the changes checkpoint in DuckDB and streamed,
    so memory stays flat however many cases the run loaded.
    """
    import duckdb

    now = now_utc()
    con = duckdb.connect()
    try:
        reader = con.sql(
            """SELECT l.case_id, l.outcome, l.reason, c.checksum, c.case_number, c.source_last_modified
               FROM read_parquet($load) l JOIN read_parquet($changes) c USING (case_id)""",
            params={"load": str(load_path), "changes": str(changes_path)},
        ).arrow()
        for batch in reader:
            _record_outcomes(lineage, batch.to_pylist(), run_id, now)
    finally:
        con.close()


def record_drained(lineage, outcomes: pa.Table) -> None:
    """Outcomes of a drained batch (``stages.load.load_queued``), recorded as a load would record them.

    Each entry keeps the run id of the run that queued it (the stored object
    carries it too). ``superseded`` entries are not recorded: lineage already
    tells the later story.
    """
    now = now_utc()
    done = outcomes.filter(pc.not_equal(outcomes.column("outcome"), "superseded"))
    runs = pc.fill_null(done.column("run_id"), "load_queue")
    for run_id in pc.unique(runs).to_pylist():
        _record_outcomes(lineage, done.filter(pc.equal(runs, run_id)).to_pylist(), run_id, now)


def _record_outcomes(lineage, rows: list[dict], run_id: str, now: datetime) -> None:
    pending = [r for r in rows if r["outcome"] == "pending"]
    if pending:  # queued: the checksum names the queued version, so the next run does not redo it
        lineage.upsert_records([
            {"record_id": r["case_id"], "case_number": r["case_number"] or "", "source_system": SOURCE_SYSTEM,
             "source_timestamp": r["source_last_modified"] or now, "checksum": r["checksum"],
             "current_stage": "load", "status": LOAD_PENDING, "run_id": run_id,
             "error_message": "waiting in the load queue: the vector store was unavailable"}
            for r in pending
        ])
    loaded = [r for r in rows if r["outcome"] == "loaded"]
    if loaded:
        lineage.upsert_records([
            {"record_id": r["case_id"], "checksum": r["checksum"], "current_stage": "loaded", "status": "completed",
             "weaviate_timestamp": now, "run_id": run_id, "error_message": None}
            for r in loaded
        ])
        lineage.resolve_failures([r["case_id"] for r in loaded])
    deleted = [r for r in rows if r["outcome"] == "deleted"]
    if deleted:
        lineage.upsert_records([
            {"record_id": r["case_id"], "case_number": r["case_number"] or "", "source_system": SOURCE_SYSTEM,
             "source_timestamp": r["source_last_modified"] or now, "checksum": r["checksum"],
             "current_stage": "deleted", "status": "deleted", "weaviate_timestamp": now, "run_id": run_id,
             "error_message": None}
            for r in deleted
        ])
        lineage.resolve_failures([r["case_id"] for r in deleted])
    _fail(lineage, [r for r in rows if r["outcome"] == "failed"], "load", run_id, "LoadFailure", "reason")
