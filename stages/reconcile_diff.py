"""Beyond counts: a full id and checksum diff of lineage against the store.

Counts can match while content is wrong (one object missing, another stored
twice under a stale checksum). This streams what lineage says is completed
and what the store actually holds into DuckDB and compares them set-wise:

- ``missing_from_store``: completed in lineage, no object in the store;
- ``stale_checksum``: stored, but with another checksum than lineage completed;
- ``deleted_but_stored``: the case is deleted (lineage or staging) yet stored;
- ``untracked_in_store``: an object lineage does not list as completed.

Ids are reported (a bounded sample per kind), never content.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

__all__ = ["DiffReport", "diff_store_against_lineage", "DIFF_KINDS"]

DIFF_KINDS = ("missing_from_store", "stale_checksum", "deleted_but_stored", "untracked_in_store")

_PAIR = pa.schema([("case_id", pa.string()), ("checksum", pa.string())])


@dataclass
class DiffReport:
    lineage_completed: int
    store_objects: int
    counts: dict[str, int] = field(default_factory=dict)
    sample_ids: dict[str, list[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict:
        return {"lineage_completed": self.lineage_completed, "store_objects": self.store_objects,
                "counts": self.counts, "sample_ids": self.sample_ids}


def _load(con: duckdb.DuckDBPyConnection, table: str, batches: Iterable[pa.RecordBatch]) -> int:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} (case_id VARCHAR, checksum VARCHAR)")
    n = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        arrow = pa.Table.from_batches([batch]).rename_columns(["case_id", "checksum"]).cast(_PAIR)
        con.register("incoming_pairs", arrow)
        con.execute(f"INSERT INTO {table} SELECT case_id, checksum FROM incoming_pairs")
        con.unregister("incoming_pairs")
        n += batch.num_rows
    return n


def diff_store_against_lineage(
    con: duckdb.DuckDBPyConnection,
    completed: Iterable[pa.RecordBatch],
    stored: Iterable[pa.RecordBatch],
    deleted_ids: Iterable[pa.RecordBatch] = (),
    *,
    sample: int = 100,
) -> DiffReport:
    """Compare ``(record_id, checksum)`` of completed lineage with ``(case_id, checksum)`` stored.

    ``deleted_ids`` yields single-column batches of case ids known deleted
    (lineage status ``deleted`` or ``IsDeleted`` in staging).
    """
    n_lineage = _load(con, "diff_lineage", completed)
    n_store = _load(con, "diff_store", stored)
    con.execute("CREATE OR REPLACE TEMP TABLE diff_deleted (case_id VARCHAR)")
    for batch in deleted_ids:
        if batch.num_rows:
            con.register("incoming_deleted", pa.Table.from_batches([batch]).select([0]).rename_columns(["case_id"]))
            con.execute("INSERT INTO diff_deleted SELECT case_id FROM incoming_deleted")
            con.unregister("incoming_deleted")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE diff_found AS
        SELECT 'missing_from_store' AS kind, l.case_id FROM diff_lineage l ANTI JOIN diff_store s USING (case_id)
        UNION ALL
        SELECT 'stale_checksum', l.case_id FROM diff_lineage l JOIN diff_store s USING (case_id)
          WHERE l.checksum IS DISTINCT FROM s.checksum
        UNION ALL
        SELECT 'deleted_but_stored', s.case_id FROM diff_store s SEMI JOIN diff_deleted d USING (case_id)
        UNION ALL
        SELECT 'untracked_in_store', s.case_id FROM diff_store s ANTI JOIN diff_lineage l USING (case_id)
          ANTI JOIN diff_deleted d USING (case_id)"""
    )
    counts = {k: 0 for k in DIFF_KINDS}
    counts.update(dict(con.execute("SELECT kind, count(*) FROM diff_found GROUP BY kind").fetchall()))
    samples = {k: [] for k in DIFF_KINDS}
    for kind, ids in con.execute(
        "SELECT kind, list(case_id ORDER BY case_id)[1:$n] FROM diff_found GROUP BY kind", {"n": sample}
    ).fetchall():
        samples[kind] = ids
    return DiffReport(n_lineage, n_store, counts, samples)


def found_ids(con: duckdb.DuckDBPyConnection, kind: str) -> Iterable[list[str]]:
    """All ids of one kind from the last diff, in chunks (for repair)."""
    reader = con.sql("SELECT case_id FROM diff_found WHERE kind = $k ORDER BY case_id", params={"k": kind}).arrow()
    for batch in reader:
        yield batch.column(0).to_pylist()
