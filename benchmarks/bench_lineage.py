"""Lineage write and read throughput on PostgreSQL and SQLite, 100k records.

Why: every stage writes lineage for every case it touched, so at 100k cases
the lineage database is on the critical path of the changes, redact, embed
and load stages. ``LineageStore`` promises set-based writes (COPY + one
``INSERT ... SELECT ... ON CONFLICT`` on PostgreSQL, ``executemany`` on
SQLite, chunked ``IN`` lists for updates and reads); the target is at least
10,000 records/s on PostgreSQL. This script measures, per database:

- ``upsert_records`` insert: 100k new rows shaped exactly like
  ``flows.lineage_recording.record_selected`` writes them, in its 10k batches;
- ``record_join_stats``: the 100k join-statistics rows written alongside;
- ``upsert_records`` update: the same 100k ids again with the columns
  ``record_loaded`` sets (checksum, completed), in 10k batches;
- ``mark``: one call over 100k ids (what ``record_redacted`` does per batch);
- ``lineage_state``: one read of 100k ids (what the changes stage does).

PostgreSQL is a throwaway cluster started the way ``tests/postgres_server.py``
does (``initdb`` + ``pg_ctl`` from ``/usr/lib/postgresql/*/bin``, as the
``postgres`` user when run as root; fsync and synchronous_commit off, so the
figures are an upper bound for a durable server). SQLite is a fresh file
under ``<out>/lineage``, WAL mode as in production.

Usage::

    python benchmarks/bench_lineage.py [--records 100000] [--out benchmarks/out] [--skip-postgres]

The table is printed and written to ``<out>/lineage-<date>.md``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from harness import code_note, machine_note, markdown_table

BATCH = 10_000  # flows.lineage_recording._BATCH


def selected_rows(n: int, run_id: str) -> list[dict]:
    """``data_lineage`` rows as ``record_selected`` builds them (same keys, realistic values)."""
    rng = random.Random(7)
    now = datetime(2026, 11, 1)
    rows = []
    for i in range(n):
        counts = [rng.randint(0, 4) for _ in range(5)]
        rows.append({
            "record_id": f"500{i:015d}", "case_number": f"{i:08d}", "source_system": "salesforce",
            "source_timestamp": now - timedelta(minutes=i), "staging_timestamp": now,
            "current_stage": "composed", "status": "in_progress", "error_message": None, "run_id": run_id,
            "has_tasks": counts[0] > 0, "task_count": counts[0],
            "has_workorders": counts[1] > 0, "workorder_count": counts[1],
            "has_comments": counts[2] > 0, "comment_count": counts[2],
            "has_emails": counts[3] > 0, "email_count": counts[3],
            "has_feeds": counts[4] > 0, "feed_count": counts[4],
            "total_fields_populated": rng.randint(10, 44), "issue_fields_populated": rng.randint(1, 8),
            "resolution_fields_populated": rng.randint(0, 6),
        })
    return rows


def join_rows(rows: list[dict], run_id: str) -> list[dict]:
    now = datetime(2026, 11, 1)
    return [{"case_id": r["record_id"], "case_number": r["case_number"], "execution_timestamp": now,
             "case_found": True, "tasks_joined": r["task_count"], "workorders_joined": r["workorder_count"],
             "comments_joined": r["comment_count"], "emails_joined": r["email_count"],
             "workorder_feeds_joined": r["feed_count"], "composite_text_length": 4000, "was_truncated": False,
             "run_id": run_id} for r in rows]


def loaded_rows(rows: list[dict], run_id: str) -> list[dict]:
    """The update ``record_loaded`` issues for loaded cases."""
    now = datetime(2026, 11, 1, 1)
    return [{"record_id": r["record_id"], "checksum": f"{i:064x}", "current_stage": "loaded",
             "status": "completed", "weaviate_timestamp": now, "run_id": run_id, "error_message": None}
            for i, r in enumerate(rows)]


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measure(url: str, n: int) -> list[tuple[str, int, float]]:
    """(operation, records, seconds) for one database, on an empty schema."""
    from blocks.lineage import LineageStore

    run_id = "bench-run"
    rows = selected_rows(n, run_id)
    joins = join_rows(rows, run_id)
    updates = loaded_rows(rows, run_id)
    ids = [r["record_id"] for r in rows]
    out = []
    with LineageStore.from_url(url) as store:
        store.ensure_schema()

        def batched(method, data):
            for lo in range(0, len(data), BATCH):
                method(data[lo: lo + BATCH])

        out.append(("upsert_records, insert (record_selected shape, 10k batches)", n,
                    _timed(lambda: batched(store.upsert_records, rows))))
        out.append(("record_join_stats (10k batches)", n, _timed(lambda: batched(store.record_join_stats, joins))))
        out.append(("upsert_records, update (record_loaded shape, 10k batches)", n,
                    _timed(lambda: batched(store.upsert_records, updates))))
        out.append(("upsert_records, update, one call of all rows", n,
                    _timed(lambda: store.upsert_records(updates))))
        marked, state = [], []

        def mark_all():
            marked.append(store.mark(ids, stage="redacted", status="in_progress", run_id=run_id,
                                     transformed_timestamp=datetime(2026, 11, 1, 2)))

        out.append(("mark, one call", n, _timed(mark_all)))
        out.append(("lineage_state, one call", n, _timed(lambda: state.append(store.lineage_state(ids)))))
    if marked[0] != n or state[0].num_rows != n:
        raise RuntimeError(f"{url.split(':')[0]}: mark updated {marked[0]} rows and lineage_state returned "
                           f"{state[0].num_rows}; expected {n} each")
    return out


def postgres_cluster():
    """Start a throwaway cluster like tests/postgres_server.py; returns (cluster, url) or (None, reason)."""
    try:
        from tests.postgres_server import _find_bindir, _LocalCluster, _Server
    except ImportError as exc:  # pytest or psycopg missing
        return None, f"cannot import tests.postgres_server: {exc}"
    bindir = _find_bindir()
    if bindir is None:
        return None, "no PostgreSQL binaries under /usr/lib/postgresql/*/bin or on PATH"
    cluster = _LocalCluster(bindir)
    try:
        admin = cluster.start()
        url = _Server(admin_url=admin.set(database="postgres")).create_database("lineage_bench")
    except Exception as exc:  # noqa: BLE001 - any start failure means: not measured
        cluster.stop()
        return None, f"cannot start PostgreSQL from {bindir}: {exc}"
    return cluster, url.render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    out = args.out.resolve()
    before, code = machine_note(), code_note()
    print(f"machine: {before}", flush=True)
    results: list[list] = []
    notes: list[str] = []

    sqlite_dir = out / "lineage"
    shutil.rmtree(sqlite_dir, ignore_errors=True)
    sqlite_dir.mkdir(parents=True)
    for op, n, s in measure(f"sqlite:///{sqlite_dir / 'lineage-bench.db'}", args.records):
        results.append(["SQLite", op, n, round(s, 3), n / s])
        print(f"SQLite      {op}: {n / s:,.0f} records/s", flush=True)

    if not args.skip_postgres:
        cluster, url = postgres_cluster()
        if cluster is None:
            notes.append(f"PostgreSQL not measured: {url}")
            print(notes[-1])
        else:
            try:
                import psycopg

                with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
                    version = conn.execute("SHOW server_version").fetchone()[0]
                notes.append(f"PostgreSQL {version}, throwaway cluster, fsync/synchronous_commit off, "
                             "loopback TCP")
                for op, n, s in measure(url, args.records):
                    results.append(["PostgreSQL", op, n, round(s, 3), n / s])
                    print(f"PostgreSQL  {op}: {n / s:,.0f} records/s", flush=True)
            finally:
                cluster.stop()

    table = markdown_table(["database", "operation", "records", "seconds", "records/s"], results)
    text = (f"# Lineage benchmark\n\nStarted: {before}\n\nFinished: {machine_note()}\n\nCode: {code}\n\n"
            f"Command: `python benchmarks/bench_lineage.py --records {args.records}`\n\n"
            + "".join(f"- {n}\n" for n in notes) + "\n" + table + "\n")
    path = out / f"lineage-{date.today():%Y-%m-%d}.md"
    path.write_text(text)
    print("\n" + table + f"\n\nwritten to {path}")


if __name__ == "__main__":
    main()
