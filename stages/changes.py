"""Changes: decide, set-wise, which composed cases need work.

A case whose checksum equals the checksum of its *completed* lineage record
is skipped: rerunning a window changes nothing unless the source did. So is
one waiting in the load queue (``load_pending``) with that checksum: its
vectors are queued, the drain writes them. A deleted case is acted on once:
while lineage does not yet say ``deleted``.

When every composed case needs work (a first run, and most runs: extract
already left out the cases whose source fingerprint lineage knows), the
changes checkpoint holds exactly the rows of the compose checkpoint and is a
copy of that file rather than a rewrite of it (which decoded and re-encoded
every list of every case: most of this stage's time at 100k cases). Like
compose's, its rows are in no particular order.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from stages.sql_text import CHECKPOINT_PARQUET, sql_path

__all__ = ["ChangesResult", "plan_changes"]

_LINEAGE_SCHEMA = pa.schema([("record_id", pa.string()), ("checksum", pa.string()), ("status", pa.string())])


@dataclass(frozen=True)
class ChangesResult:
    path: Path
    upserts: int
    deletes: int
    skipped_unchanged: int
    skipped_deleted: int


def plan_changes(
    con: duckdb.DuckDBPyConnection, compose_path: Path, lineage_state: pa.Table, out_path: Path,
    *, force: bool = False,
) -> ChangesResult:
    """Write the composed rows that need work to ``out_path``.

    ``lineage_state`` holds ``record_id``, ``checksum``, ``status`` for (at
    least) the composed case ids. ``force`` (recovery of a stale or missing
    object) treats every composed case as work, whatever lineage says.
    """
    if force:
        lineage_state = lineage_state.slice(0, 0)
    state = lineage_state.select(["record_id", "checksum", "status"]).cast(_LINEAGE_SCHEMA)
    con.register("lineage_state_view", state)
    try:
        con.execute(
            """CREATE OR REPLACE TEMP TABLE planned AS
            SELECT c.case_id, c.action,
                   CASE
                     WHEN c.action = 'upsert' AND l.status IN ('completed', 'load_pending')
                          AND l.checksum = c.checksum THEN 'skip'
                     WHEN c.action = 'upsert' THEN 'work'
                     WHEN c.action = 'delete' AND l.status = 'deleted' THEN 'skip_deleted'
                     ELSE 'work'
                   END AS decision
            FROM read_parquet($p) c LEFT JOIN lineage_state_view l ON l.record_id = c.case_id""",
            {"p": str(compose_path)},
        )
    finally:
        con.unregister("lineage_state_view")
    counts = dict(con.execute("SELECT decision || ':' || action, count(*) FROM planned GROUP BY ALL").fetchall())
    out_path = Path(out_path)
    partial = out_path.with_name(out_path.name + ".partial")
    if not any(key.startswith("skip") for key in counts):
        shutil.copyfile(compose_path, partial)
    else:
        con.execute(
            f"""COPY (SELECT c.* FROM read_parquet($p) c JOIN planned USING (case_id)
                     WHERE planned.decision = 'work')
                TO '{sql_path(partial)}' ({CHECKPOINT_PARQUET})""",
            {"p": str(compose_path)},
        )
    partial.replace(out_path)
    return ChangesResult(
        path=out_path,
        upserts=counts.get("work:upsert", 0),
        deletes=counts.get("work:delete", 0),
        skipped_unchanged=counts.get("skip:upsert", 0),
        skipped_deleted=counts.get("skip_deleted:delete", 0),
    )
