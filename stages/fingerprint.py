"""Source fingerprints: skip an unchanged case before composing it.

The checksum that decides whether a case changed is SHA-256 over its
composed source, and composing is the expensive part of a run. A rerun of a
window where nothing changed would compose every case only to find every
checksum equal. The fingerprint is a cheap digest over the same staging rows
(every contract column but ``LastModifiedDate``, of the case and of all its
child rows, deleted and filtered ones included, plus the composition
settings), computed with DuckDB's vectorised ``hash`` in one pass and no
string building. Lineage keeps the fingerprint next to the checksum.

A case whose fingerprint equals the one lineage holds for it, and whose
lineage status says its current version is done (completed, deleted,
or queued for the store), is taken out of the run before its rows are
materialised. Everything else goes on to compose and to the checksum, which
stays the authority: a fingerprint can only ever *skip* a case whose
content lineage has already seen, and any difference at all (a DuckDB
upgrade that changes ``hash`` included) only means the case is composed and
checked again.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pyarrow as pa

from schemas.staging import TABLES
from stages.sql_text import CASE_CHILD_PARENTS, quote_ident

__all__ = ["DONE_STATUSES", "fingerprint_selected", "skip_unchanged"]

#: lineage statuses meaning "the version with this fingerprint needs no more work"
DONE_STATUSES = {"upsert": ("completed", "load_pending"), "delete": ("deleted",)}


def _row_hash(table: str, alias: str) -> str:
    cols = [f"{alias}.{quote_ident(c.name)}" for c in TABLES[table].columns if c.name != "LastModifiedDate"]
    return f"hash({', '.join(cols)}, {alias}._error)"


def fingerprint_selected(con: duckdb.DuckDBPyConnection, salt: str) -> None:
    """``fp(case_id, action, fingerprint)`` for every case in ``sel`` (needs the ``chk_*`` views).

    Child rows are combined by count and sum of row hashes per table, which
    is independent of row order; the order the composite text uses comes
    from ``CreatedDate``, which is hashed with the row.
    """
    parts = []
    for table, parent in CASE_CHILD_PARENTS.items():
        parts.append(
            f"{table} AS (SELECT t.{parent} AS cid, count(*) AS n, sum({_row_hash(table, 't')}) AS h "
            f"FROM chk_{table} t WHERE t.{parent} IN (SELECT case_id FROM sel) GROUP BY t.{parent})"
        )
    parts.append(
        f"workorderfeed AS (SELECT w.CaseId AS cid, count(*) AS n, sum({_row_hash('workorderfeed', 'f')}) AS h "
        "FROM chk_workorderfeed f JOIN chk_workorder w ON f.ParentId = w.Id "
        "WHERE w.CaseId IN (SELECT case_id FROM sel) GROUP BY w.CaseId)"
    )
    children = [*CASE_CHILD_PARENTS, "workorderfeed"]
    digest = ", ".join(
        [f"$salt, {_row_hash('case', 'c')}"]
        + [f"coalesce({t}.n, 0), coalesce({t}.h, 0)" for t in children]
    )
    joins = " ".join(f"LEFT JOIN {t} ON {t}.cid = c.Id" for t in children)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE fp AS
        WITH {', '.join(parts)}
        SELECT c.Id AS case_id,
               CASE WHEN coalesce(c.IsDeleted, false) THEN 'delete' ELSE 'upsert' END AS action,
               md5(concat_ws(',', {digest})) AS fingerprint
        FROM chk_case c {joins}
        WHERE c.Id IN (SELECT case_id FROM sel)""",
        {"salt": salt},
    )


def skip_unchanged(
    con: duckdb.DuckDBPyConnection,
    lineage_state: Callable[[list[str]], pa.Table],
    salt: str,
    chunk: int = 50_000,
) -> int:
    """Take the cases lineage has already seen in this exact version out of ``sel``.

    ``lineage_state(ids)`` returns ``record_id``, ``status`` and
    ``source_fingerprint`` for those ids that have a lineage row. Leaves the
    remaining cases' fingerprints in ``fp``; returns how many were skipped.
    """
    fingerprint_selected(con, salt)
    known = []
    ids = con.sql("SELECT case_id FROM fp ORDER BY case_id").arrow().read_all()
    for batch in ids.to_batches(max_chunksize=chunk):
        state = lineage_state(batch.column(0).to_pylist())
        known.append(state.select(["record_id", "status", "source_fingerprint"]))
    if not known:
        return 0
    con.register("known_fingerprints", pa.concat_tables(known))
    try:
        done = " OR ".join(
            f"(fp.action = '{action}' AND k.status IN ({', '.join(repr(s) for s in statuses)}))"
            for action, statuses in DONE_STATUSES.items()
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE unchanged AS
            SELECT fp.case_id FROM fp JOIN known_fingerprints k ON k.record_id = fp.case_id
            WHERE k.source_fingerprint = fp.fingerprint AND ({done})"""
        )
    finally:
        con.unregister("known_fingerprints")
    skipped = con.execute("SELECT count(*) FROM unchanged").fetchall()[0][0]
    if skipped:
        con.execute("DELETE FROM sel WHERE case_id IN (SELECT case_id FROM unchanged)")
        con.execute("DELETE FROM fp WHERE case_id IN (SELECT case_id FROM unchanged)")
    return skipped
