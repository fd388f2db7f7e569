"""Extract: select the cases of a date window and check them against the contract.

A case is selected when its own row or any of its child rows has a
``LastModifiedDate`` in ``[start, end)`` (a work-order feed row reaches its
case through its work order). All rows of the selected cases, whatever their
own dates, are then typed and checked set-wise in DuckDB:

- a missing required column stops the run (``MissingColumn``);
- a row with a null or duplicate ``Id``, an unparseable timestamp or a value
  of the wrong type is quarantined with a reason naming table, column and Id;
  a quarantined case row takes its case out of the run, a quarantined child
  row only itself;
- child rows whose parent does not exist are counted as orphans.

Rows with an unreadable ``LastModifiedDate`` count as inside every window, so
they are always seen and quarantined rather than silently never selected.
The clean rows go to ``<run>/extract/<table>.parquet``, validated by pandera,
in row groups of ``stages.sql_text.CHECKPOINT_ROW_GROUP`` rows so that compose
scans them on every core.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from blocks.staging_source import raw_relation_name
from schemas.checkpoints import extract_schema
from schemas.settings import DateWindow
from schemas.staging import CHILD_TABLES, TABLES, TableSpec
from stages.checkpoint import read_checkpoint
from stages.errors import MissingColumn
from stages.fingerprint import skip_unchanged
from stages.row_order import ROW_ORDER_COPY_OPTION
from stages.sql_text import CASE_CHILD_PARENTS, CHECKPOINT_PARQUET, quote_ident, sql_path

__all__ = ["ExtractResult", "extract_window", "register_checked_views", "count_orphans"]


@dataclass
class ExtractResult:
    directory: Path
    selected_cases: int
    rows: dict[str, int]
    quarantined: list[dict] = field(default_factory=list)
    quarantined_cases: int = 0
    orphans: dict[str, int] = field(default_factory=dict)
    high_water_mark: datetime | None = None
    skipped_unchanged: int = 0


def _source_columns(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, tuple[str, str]]:
    """lower-cased name -> (actual name, DuckDB type) of a registered relation."""
    rows = con.execute(f"DESCRIBE {quote_ident(relation)}").fetchall()
    return {r[0].lower(): (r[0], r[1]) for r in rows}


def _typed_view(con: duckdb.DuckDBPyConnection, spec: TableSpec, present: bool) -> None:
    """Create ``chk_<table>``: contract columns, typed, plus ``_error`` (first problem found)."""
    view = f"chk_{spec.name}"
    if not present:
        cols = ", ".join(f"NULL::{c.sql_type} AS {quote_ident(c.name)}" for c in spec.columns)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {cols}, NULL::VARCHAR AS _error WHERE false")
        return
    relation = raw_relation_name(spec.name)
    found = _source_columns(con, relation)
    for col in spec.required_columns:
        if col.lower() not in found:
            raise MissingColumn(spec.name, col, [v[0] for v in found.values()])
    selects, errors = [], []
    id_src = quote_ident(found["id"][0])
    errors.append(f"WHEN {id_src} IS NULL OR trim(CAST({id_src} AS VARCHAR)) = '' THEN 'NullId|Id'")
    for col in spec.columns:
        actual, src_type = found[col.name.lower()]
        src = quote_ident(actual)
        if col.sql_type == "VARCHAR":
            expr = src if src_type == "VARCHAR" else f"CAST({src} AS VARCHAR)"
        elif src_type == col.sql_type:
            expr = src
        else:
            if src_type.startswith("TIMESTAMP WITH TIME ZONE"):
                expr = f"TRY_CAST(timezone('UTC', {src}) AS TIMESTAMP)"
            else:
                expr = f"TRY_CAST({src} AS {col.sql_type})"
            kind = "UnparseableTimestamp" if col.sql_type == "TIMESTAMP" else "WrongType"
            errors.append(f"WHEN {src} IS NOT NULL AND {expr} IS NULL THEN '{kind}|{col.name}'")
        selects.append(f"{expr} AS {quote_ident(col.name)}")
    error_expr = "CASE " + " ".join(errors) + " END"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {', '.join(selects)}, {error_expr} AS _error "
        f"FROM {quote_ident(relation)}"
    )


_IN_WINDOW = "(LastModifiedDate IS NULL OR (LastModifiedDate >= $start AND LastModifiedDate < $end))"

_PARENT_OF = CASE_CHILD_PARENTS


def _select_given(con: duckdb.DuckDBPyConnection, case_ids: list[str]) -> None:
    """Recovery: exactly these cases, whatever their dates."""
    con.register("given_case_ids", pa.table({"case_id": pa.array(case_ids, pa.string())}))
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE sel AS SELECT DISTINCT case_id FROM given_case_ids "
            "WHERE case_id IN (SELECT Id FROM chk_case WHERE Id IS NOT NULL)"
        )
    finally:
        con.unregister("given_case_ids")


def _select_cases(con: duckdb.DuckDBPyConnection, window: DateWindow) -> None:
    parts = [f"SELECT Id AS case_id FROM chk_case WHERE {_IN_WINDOW}"]
    for table, parent in _PARENT_OF.items():
        parts.append(f"SELECT {parent} FROM chk_{table} WHERE {_IN_WINDOW}")
    parts.append(
        "SELECT w.CaseId FROM chk_workorderfeed f JOIN chk_workorder w ON f.ParentId = w.Id "
        f"WHERE {_IN_WINDOW.replace('LastModifiedDate', 'f.LastModifiedDate')}"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE sel AS SELECT DISTINCT case_id FROM ("
        + " UNION ALL ".join(parts)
        + ") s WHERE case_id IN (SELECT Id FROM chk_case WHERE Id IS NOT NULL)",
        {"start": window.start, "end": window.end},
    )


def _materialise(con: duckdb.DuckDBPyConnection) -> None:
    """Copy the rows of the selected cases into ``x_<table>`` with duplicate flags."""
    for table in TABLES:
        source = f"chk_{table} t"
        if table == "case":
            where, case_expr = "t.Id IN (SELECT case_id FROM sel)", "t.Id"
        elif table == "workorderfeed":
            source += " JOIN (SELECT Id AS wo_id, any_value(CaseId) AS wo_case FROM x_workorder GROUP BY Id) w ON t.ParentId = w.wo_id"
            where, case_expr = "true", "w.wo_case"
        else:
            parent = _PARENT_OF[table]
            where, case_expr = f"t.{parent} IN (SELECT case_id FROM sel)", f"t.{parent}"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE x_{table} AS
            SELECT t.*, {case_expr} AS _case_id,
                   coalesce(t._error, CASE WHEN t.Id IN (SELECT Id FROM chk_{table} WHERE Id IS NOT NULL
                                                         GROUP BY Id HAVING count(*) > 1)
                                           THEN 'DuplicateId|Id' END) AS _problem
            FROM {source} WHERE {where}"""
        )


_MESSAGES = {
    "NullId": "has a null or empty Id",
    "DuplicateId": "has an Id that occurs more than once",
    "UnparseableTimestamp": "has a timestamp that cannot be parsed",
    "WrongType": "has a value of the wrong type",
}


def _quarantine(con: duckdb.DuckDBPyConnection, window: DateWindow) -> tuple[list[dict], int]:
    """Failure rows for every problem row, and the number of cases taken out."""
    failures: list[dict] = []
    for table in TABLES:
        rows = con.execute(
            f"SELECT Id, _case_id, _problem FROM x_{table} WHERE _problem IS NOT NULL ORDER BY _case_id, Id"
        ).fetchall()
        for rid, case_id, problem in rows:
            kind, column = problem.split("|", 1)
            record = rid if rid and rid.strip() else f"{table}:null-id:{case_id}"
            failures.append(
                {
                    "record_id": record,
                    "stage": "extract",
                    "error_type": kind,
                    "error_message": f"table {table!r} column {column!r} Id {rid!r} (case {case_id}) {_MESSAGES[kind]}",
                    "payload": {"table": table, "column": column, "id": rid, "case_id": case_id},
                }
            )
    # case rows with a null Id can only be found through the window itself
    null_cases = con.execute(
        f"SELECT CaseNumber FROM chk_case WHERE (Id IS NULL OR trim(Id) = '') AND {_IN_WINDOW}",
        {"start": window.start, "end": window.end},
    ).fetchall()
    for (case_number,) in null_cases:
        failures.append(
            {
                "record_id": f"case:null-id:{case_number}",
                "stage": "extract",
                "error_type": "NullId",
                "error_message": f"table 'case' column 'Id' CaseNumber {case_number!r} {_MESSAGES['NullId']}",
                "payload": {"table": "case", "column": "Id", "case_number": case_number},
            }
        )
    con.execute("CREATE OR REPLACE TEMP TABLE bad_cases AS SELECT DISTINCT _case_id AS case_id FROM x_case WHERE _problem IS NOT NULL")
    bad = con.execute("SELECT count(*) FROM bad_cases").fetchall()[0][0] + len(null_cases)
    return failures, bad


def _high_water_mark(con: duckdb.DuckDBPyConnection, window: DateWindow) -> datetime | None:
    """Latest ``LastModifiedDate`` before the window's end among the rows of the selected cases.

    Taken before unchanged cases are skipped: a touched but unchanged row
    has been seen, and the next window may start after it.
    """
    parts = ["SELECT max(LastModifiedDate) AS m FROM chk_case WHERE Id IN (SELECT case_id FROM sel) AND LastModifiedDate < $end"]
    parts += [
        f"SELECT max(LastModifiedDate) FROM chk_{table} WHERE {parent} IN (SELECT case_id FROM sel) AND LastModifiedDate < $end"
        for table, parent in _PARENT_OF.items()
    ]
    parts.append(
        "SELECT max(f.LastModifiedDate) FROM chk_workorderfeed f JOIN chk_workorder w ON f.ParentId = w.Id "
        "WHERE w.CaseId IN (SELECT case_id FROM sel) AND f.LastModifiedDate < $end"
    )
    return con.execute(f"SELECT max(m) FROM ({' UNION ALL '.join(parts)})", {"end": window.end}).fetchall()[0][0]


def count_orphans(con: duckdb.DuckDBPyConnection, window: DateWindow | None = None) -> dict[str, int]:
    """Child rows whose parent does not exist, per child table (needs ``chk_*`` views).

    With ``window``, only rows inside it (a run's report); without, all rows
    (reconciliation). Work-order feeds count against work orders.
    """
    in_window = f"{_IN_WINDOW} AND " if window is not None else ""
    params = {"start": window.start, "end": window.end} if window is not None else {}
    parents = {**{t: (p, "chk_case") for t, p in _PARENT_OF.items()}, "workorderfeed": ("ParentId", "chk_workorder")}
    return {
        table: con.execute(
            f"SELECT count(*) FROM chk_{table} WHERE {in_window}{parent} IS NOT NULL "
            f"AND {parent} NOT IN (SELECT Id FROM {parent_view} WHERE Id IS NOT NULL)",
            params,
        ).fetchall()[0][0]
        for table, (parent, parent_view) in parents.items()
    }


def register_checked_views(con: duckdb.DuckDBPyConnection, present: set[str]) -> None:
    """Typed ``chk_<table>`` views over every staging table (for counts and checks)."""
    for spec in TABLES.values():
        _typed_view(con, spec, spec.name in present)


def extract_window(
    con: duckdb.DuckDBPyConnection, present: set[str], window: DateWindow, out_dir: Path,
    case_ids: list[str] | None = None,
    *,
    lineage_state: Callable[[list[str]], pa.Table] | None = None,
    salt: str = "",
) -> ExtractResult:
    """Select, check and checkpoint the cases of ``window``; see the module docstring.

    With ``case_ids`` (recovery), exactly those cases are selected instead.
    With ``lineage_state`` (a lookup of lineage rows by id), cases whose
    source fingerprint lineage already holds in a finished state are
    skipped before anything is copied (``stages.fingerprint``), and the
    fingerprints of the rest are written to ``fingerprints.parquet``.
    """
    register_checked_views(con, present)
    if case_ids is not None:
        _select_given(con, case_ids)
    else:
        _select_cases(con, window)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    hwm = _high_water_mark(con, window)
    skipped = 0
    if lineage_state is not None:
        skipped = skip_unchanged(con, lineage_state, salt)
        target = out_dir / "fingerprints.parquet"
        partial = target.with_name(target.name + ".partial")
        con.execute(f"COPY (SELECT case_id, fingerprint FROM fp ORDER BY case_id) TO '{sql_path(partial)}' "
                    f"({CHECKPOINT_PARQUET})")
        partial.replace(target)
    _materialise(con)
    failures, bad_cases = _quarantine(con, window)
    rows: dict[str, int] = {}
    for table, spec in TABLES.items():
        cols = ", ".join(quote_ident(c) for c in spec.column_names)
        target = out_dir / f"{table}.parquet"
        partial = target.with_name(target.name + ".partial")
        con.execute(
            f"COPY (SELECT {cols} FROM x_{table} WHERE _problem IS NULL "
            f"AND _case_id NOT IN (SELECT case_id FROM bad_cases) ORDER BY _case_id, CreatedDate NULLS LAST, Id NULLS LAST) "
            # row groups: see CHECKPOINT_ROW_GROUP; the order, recorded in the file, spares compose a sort key
            f"TO '{sql_path(partial)}' ({CHECKPOINT_PARQUET}, {ROW_ORDER_COPY_OPTION})"
        )
        schema = extract_schema(table)
        rows[table] = sum(b.num_rows for b in read_checkpoint(partial, schema, batch_size=50_000))
        partial.replace(target)
    orphans = count_orphans(con, window)
    _drop_work_tables(con)
    return ExtractResult(
        directory=out_dir,
        selected_cases=rows["case"],
        rows=rows,
        quarantined=failures,
        quarantined_cases=bad_cases,
        orphans=orphans,
        high_water_mark=hwm,
        skipped_unchanged=skipped,
    )


_WORK_TABLES = ("sel", "fp", "unchanged", "bad_cases", *(f"x_{table}" for table in TABLES))


def _drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Free the temp tables extract filled, once its checkpoints are written.

    The run's later stages share this connection and its memory limit; at
    100k cases the copies of the selected rows held a third of the default
    1 GB, and compose, next, spilled to disk for want of it.
    """
    for name in _WORK_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(name)}")


assert set(CHILD_TABLES) == set(_PARENT_OF) | {"workorderfeed"}
