"""Compose: one row per case from the six tables, in one DuckDB statement.

LEFT JOINs the case with its tasks (filtered by ``Type``), work orders, work
order feeds (through their work order), comments and emails, aggregating
child rows per case in ``CreatedDate`` order into aligned lists (one entry per
child row, so ``task_subjects[i]`` and ``task_descriptions[i]`` belong to the
same task). HTML becomes text, the composite text is measured against the
truncation limit, fields are counted, and the checksum is taken.

The checksum is SHA-256 (``stages.sha256_function``) over the canonical
source of the case: every contract column of the case row and of every
live child row that contributes (``LastModifiedDate`` excluded: a touch
without a change is not a change), plus a salt of the settings that shape
the output. A new comment or email therefore changes it; a re-save without
edits does not.

The PII context values of the case and its children are gathered into
``context_*`` lists for the PII stage, which drops them. The lists are
bags: a value may repeat, in no particular order (DuckDB's parallel joins
and aggregates meet the rows in any order). The PII stage reads them as
sets (``blocks.pii_context_variants``); making them sorted sets here was a
twentieth of compose's CPU time at 100k cases.

The cases themselves are written in no particular order. Sorting 100k wide
rows by ``case_id`` was a quarter of the stage's wall time (a pipeline
breaker, merged and written out mostly on one core), and nothing needs it:
later stages pair their checkpoints by position, each made from the one
before, and match lineage and the store by id.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.checkpoints import CHECKPOINTS
from schemas.context import CONTEXT_SOURCES
from schemas.fields import CASE_FIELDS, CHILD_FIELDS
from schemas.staging import TABLES
from stages.checkpoint import Checkpoint, CheckpointWriter, open_parquet, validate_checkpoint_file
from stages.composite_text import (
    MEASURE_COLUMNS,
    field_measures_sql,
    html_to_text_macro,
    item_measure_columns,
    item_measures_sql,
    measured_length_sql,
    measured_populated_sql,
)
from stages.row_order import MAX_ORDERED_ROWS, children_in_creation_order
from stages.sha256_function import SHA256_FUNCTION, register_sha256_hex
from stages.sql_text import CHECKPOINT_ROW_GROUP, quote_ident, sql_path

__all__ = ["ComposeResult", "compose_cases", "composition_salt"]

_SEP_FIELD, _SEP_ROW, _SEP_TABLE = "chr(31)", "chr(30)", "chr(29)"

#: ``COPY ... TO`` options of the compose checkpoint: the checkpoints' row groups, compressed with snappy
#: instead of zstd. It holds all the source text of the window, and zstd cost a sixth of the stage's CPU
#: time (100k cases: writing took 1.5-1.8 s of CPU with zstd, 1.0-1.1 s with snappy) for a file 1.7 times
#: smaller (38 MB against 66 MB) that lives only as long as the run's folder.
_COMPOSE_PARQUET = f"FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE {CHECKPOINT_ROW_GROUP}"

#: child table -> (alias, count column, the column naming its case)
_CHILDREN = {
    "task": ("tk", "task_count", "WhatId"),
    "workorder": ("wo", "workorder_count", "CaseId"),
    "casecomment": ("cm", "comment_count", "ParentId"),
    "emailmessage": ("em", "email_count", "ParentId"),
}


@dataclass(frozen=True)
class ComposeResult:
    path: Path
    rows: int
    upserts: int
    deletes: int


def composition_salt(task_types: tuple[str, ...], max_text_chars: int) -> str:
    """Settings that change the composed output are part of the checksum."""
    return f"v1|tasks={'|'.join(sorted(task_types))}|max={max_text_chars}"


def _signature(table: str, alias: str = "") -> str:
    """Canonical text of one row: contract columns but LastModifiedDate, with NULL markers."""
    parts = []
    for col in TABLES[table].columns:
        if col.name == "LastModifiedDate":
            continue
        ref = f"{alias}{quote_ident(col.name)}"
        if col.sql_type == "TIMESTAMP":
            value = f"strftime({ref}, '%Y-%m-%dT%H:%M:%S.%f')"
        else:
            value = f"CAST({ref} AS VARCHAR)"
        parts.append(f"coalesce({value}, '\\N')")
    return f"concat_ws({_SEP_FIELD}, {', '.join(parts)})"


def _child_values(table: str, alias: str = "") -> list[str]:
    """``value AS property`` of the embedded child fields of one row."""
    out = []
    for spec in CHILD_FIELDS:
        if spec.table != table:
            continue
        value = f"{alias}{quote_ident(spec.column)}"
        if table == "emailmessage" and spec.column == "TextBody":
            value = f"coalesce(nullif(trim({alias}TextBody), ''), html_to_text({alias}HtmlBody))"
        elif spec.html:
            value = f"html_to_text({value})"
        out.append(f"coalesce({value}, '') AS {spec.property}")
    return out


def _context_values(table: str, alias: str = "") -> list[str]:
    """``list AS context column`` of the PII context values of one row."""
    out = []
    for ctx, sources in CONTEXT_SOURCES.items():
        cols = [c for t, c in sources if t == table]
        if not cols:
            continue
        values = [_context_list(f"{alias}{quote_ident(c)}") for c in cols]
        out.append(f"list_concat({', '.join(values)}) AS {ctx}")
    return out


def _context_list(ref: str) -> str:
    """The PII context value of one column, as a list: empty when the value is blank.

    Values go to the PII stage as the columns hold them: an e-mail column
    listing several addresses is split there (``blocks.pii_context_variants``),
    not here, where splitting every e-mail row's three address columns by a
    regular expression cost a thirtieth of compose's CPU time at 100k cases.
    Blanks are dropped on the row instead of by a lambda over every case's
    merged list (a twentieth).
    """
    return f"CASE WHEN trim({ref}) <> '' THEN [{ref}] ELSE []::VARCHAR[] END"


def _order_key(columns: list[str]) -> str:
    """A struct that sorts like ``ORDER BY columns`` (ascending, NULLs last, as DuckDB's default)."""
    members = []
    for i, col in enumerate(columns):
        members += [f"n{i} := {col} IS NULL", f"v{i} := {col}"]
    return f"struct_pack({', '.join(members)})"


def _child_cte(alias: str, table: str, count_col: str, cid: str, key: str, source: str, where: str,
               row: str = "") -> str:
    """One row per case of a child table: count, latest change, measures, and aligned lists in row order.

    The rows are collected as structs by a plain ``list`` aggregate and put
    in order afterwards, per case, by ``list_grade_up`` over the sort
    ``key`` in each struct (``_sort_keys``). An ``ORDER BY`` inside the
    aggregate gives the same lists but sorts through DuckDB's
    ordered-aggregate buffers (which copy every struct: 1.4 s of CPU against
    0.9 s for the e-mails of 100k cases);
    sorting the whole structs with ``list_sort`` compares their text and was
    slower still. One list of structs keeps the lists aligned
    (``task_subjects[i]`` and ``task_descriptions[i]`` belong to one task).
    The PII context values need no order (the PII stage reads them as sets)
    and are gathered by a separate, flat ``list``: nested in the structs,
    they made every struct copy deeper.
    """
    props = [s.property for s in CHILD_FIELDS if s.table == table]
    contexts = [ctx for ctx, sources in CONTEXT_SOURCES.items() if any(t == table for t, _ in sources)]
    members = ", ".join(f"{m} := {m}" for m in ["k", "sig", *props])
    measures = item_measure_columns(table)
    unpacked = [f"array_to_string(list_transform(r, lambda x: x.sig), {_SEP_ROW}) AS sig"]
    unpacked += [f"list_transform(r, lambda x: x.{prop}) AS {prop}" for prop in props]
    unpacked += contexts
    return f"""{alias} AS (
        SELECT cid, {count_col}, lmd, {', '.join(measures)}, {', '.join(unpacked)} FROM (
            SELECT * REPLACE (list_select(r, list_grade_up(list_transform(r, lambda x: x.k))) AS r) FROM (
                SELECT cid, count(*) AS {count_col}, max(lmd) AS lmd, {', '.join(item_measures_sql(table))},
                       list(struct_pack({members})) AS r{''.join(f", flatten(list({ctx})) AS {ctx}" for ctx in contexts)}
                FROM (
                    SELECT {cid} AS cid, {row}LastModifiedDate AS lmd, {key} AS k,
                           {_signature(table, row)} AS sig,
                           {', '.join(_child_values(table, row) + _context_values(table, row))}
                    FROM {source} WHERE {where})
                GROUP BY cid)))"""


def _sort_keys(in_file_order: bool) -> tuple[str, str, str]:
    """How child rows are put in ``CreatedDate, Id`` order: (key of a direct child, key of a feed, scan options).

    Files whose rows already stand in that order within each parent
    (``stages.row_order``) are sorted by their position in the file, one
    BIGINT; a feed by its work order's position, then its own. Files in any
    other order are sorted by a struct of the columns themselves.
    """
    if in_file_order:
        feed = f"w.file_row_number * {MAX_ORDERED_ROWS} + f.file_row_number"
        return "file_row_number", feed, ", file_row_number = true"
    return _order_key(["CreatedDate", "Id"]), _order_key(["w.CreatedDate", "w.Id", "f.CreatedDate", "f.Id"]), ""


def _compose_sql(partitioned: bool, in_file_order: bool) -> str:
    """The compose statement; ``partitioned`` adds the filter to one hash partition (``$parts``, ``$part``).

    ``in_file_order``: every child file keeps its rows in ``CreatedDate, Id``
    order within each parent (``_sort_keys``).

    One partition (the usual window) goes without the filter: there it only
    cost a hash of every row's key (and made DuckDB's plan estimate each table
    at a few dozen rows). Measured at 100k cases, alternating runs: median
    5.9 s without it against 6.4 s with it.
    """
    def in_part(key: str) -> str:
        return f" AND hash({key}) % $parts = $part" if partitioned else ""

    ctes = []
    live = "NOT coalesce(IsDeleted, false)"
    child_key, feed_key, scan = _sort_keys(in_file_order)
    for table, (alias, count_col, parent) in _CHILDREN.items():
        task_filter = " AND list_contains($task_types, Type)" if table == "task" else ""
        ctes.append(_child_cte(alias, table, count_col, parent, child_key, f"read_parquet($p_{table}{scan})",
                               f"{live}{task_filter}{in_part(parent)}"))
    ctes.append(_child_cte(
        "fd", "workorderfeed", "feed_count", "w.CaseId", feed_key,
        f"read_parquet($p_workorderfeed{scan}) f JOIN read_parquet($p_workorder{scan}) w ON f.ParentId = w.Id",
        f"NOT coalesce(f.IsDeleted, false) AND NOT coalesce(w.IsDeleted, false){in_part('w.CaseId')}",
        row="f.",
    ))
    aliases = [a for a, _, _ in _CHILDREN.values()] + ["fd"]
    case_cols = []
    for spec in CASE_FIELDS:
        ref = f"c.{quote_ident(spec.column)}"
        if spec.html:
            ref = f"html_to_text({ref})"
        case_cols.append(f"{ref} AS {spec.property}")
    child_cols = [f"coalesce({_alias_of(s.table)}.{s.property}, []::VARCHAR[]) AS {s.property}" for s in CHILD_FIELDS]
    counts = [f"coalesce({a}.{col}, 0) AS {col}" for a, col, _ in _CHILDREN.values()] + ["coalesce(fd.feed_count, 0) AS feed_count"]
    counts += [f"coalesce({_alias_of(t)}.{m}, 0) AS {m}"
               for t in (*_CHILDREN, "workorderfeed") for m in item_measure_columns(t)]
    contexts = []
    for ctx, sources in CONTEXT_SOURCES.items():
        parts = []
        for table, col in sources:
            if table == "case":
                ref = f"c.{quote_ident(col)}"
                parts.append(_context_list(ref))
        for table in dict.fromkeys(t for t, _ in sources if t != "case"):
            parts.append(f"{_alias_of(table)}.{ctx}")  # NULL (no such child rows) counts as empty
        contexts.append(f"list_concat({', '.join(parts)}) AS {ctx}")  # a bag: see the module docstring
    sigs = ", ".join(f"'{a}:' || coalesce({a}.sig, '')" for a in aliases)
    lmds = ", ".join(f"{a}.lmd" for a in aliases)
    joins = " ".join(f"LEFT JOIN {a} ON {a}.cid = c.Id" for a in aliases)
    inner = f"""
        SELECT c.Id AS case_id_key,
               CASE WHEN coalesce(c.IsDeleted, false) THEN 'delete' ELSE 'upsert' END AS action,
               {SHA256_FUNCTION}(concat_ws({_SEP_TABLE}, $salt, {_signature('case', 'c.')}, {sigs})) AS checksum,
               greatest(c.LastModifiedDate, {lmds}) AS source_last_modified,
               {', '.join(case_cols + child_cols + counts + contexts)}
        FROM read_parquet($p_case) c {joins}
        WHERE true{in_part('c.Id')}"""
    return f"""
        WITH {', '.join(ctes)}, composed AS ({inner}),
        measured AS (SELECT *, {field_measures_sql()} FROM composed)
        SELECT * EXCLUDE (case_id_key, {', '.join(MEASURE_COLUMNS)}),
               {measured_length_sql()} AS composite_text_length,
               {measured_length_sql()} > $max_chars AS was_truncated,
               {measured_populated_sql('total')} AS total_fields_populated,
               {measured_populated_sql('issue')} AS issue_fields_populated,
               {measured_populated_sql('resolution')} AS resolution_fields_populated
        FROM measured"""


def _alias_of(table: str) -> str:
    return "fd" if table == "workorderfeed" else _CHILDREN[table][0]


def compose_cases(
    con: duckdb.DuckDBPyConnection,
    extract_dir: Path,
    out_path: Path,
    *,
    task_types: tuple[str, ...],
    max_text_chars: int,
    partition_cases: int = 100_000,
) -> ComposeResult:
    """Compose the extracted cases into ``out_path`` (validated), see module docstring.

    The cases are composed in hash partitions of about ``partition_cases``
    each: DuckDB's ordered list aggregates do not spill to disk, so one
    statement over a large window would need memory in proportion to it.
    Partitions keep the working set flat however large the window is.
    """
    con.execute(html_to_text_macro())
    register_sha256_hex(con)  # the built-in sha256 gives the same digest, slower
    extract_dir, out_path = Path(extract_dir), Path(out_path)
    params = {f"p_{t}": str(extract_dir / f"{t}.parquet") for t in TABLES}
    params.update(task_types=list(task_types), salt=composition_salt(task_types, max_text_chars), max_chars=max_text_chars)
    cases = pq.ParquetFile(extract_dir / "case.parquet").metadata.num_rows
    parts = max(1, math.ceil(cases / partition_cases))
    part_dir = out_path.with_name(out_path.name + ".parts")
    shutil.rmtree(part_dir, ignore_errors=True)
    part_dir.mkdir(parents=True)
    sql = _compose_sql(partitioned=parts > 1, in_file_order=children_in_creation_order(extract_dir))
    schema = CHECKPOINTS["compose"]
    # one partition (the usual window) is validated (the columns with value checks read back) and renamed;
    # several are streamed into one file through the checkpoint writer, which validates them
    writer = CheckpointWriter(out_path, schema, compression="snappy") if parts > 1 else None
    rows = upserts = 0
    target = part_dir / "part.parquet"
    try:
        for part in range(parts):
            con.execute(f"COPY ({sql}) TO '{sql_path(target)}' ({_COMPOSE_PARQUET})",  # changes scans it
                        {**params, "parts": parts, "part": part} if parts > 1 else params)
            batches = (open_parquet(target).iter_batches(batch_size=20_000) if writer is not None
                       else validate_checkpoint_file(target, schema))
            for batch in batches:
                if writer is not None:
                    writer.write(batch)
                rows += batch.num_rows
                upserts += pc.sum(pc.equal(batch.column("action"), "upsert")).as_py() or 0
        if not rows:  # an empty window keeps the full schema
            if writer is not None:
                writer.abort()
            result = _empty_checkpoint(con, params, out_path)
        elif writer is not None:
            result = writer.close()
        else:
            os.replace(target, out_path)
            result = Checkpoint(out_path, rows)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        shutil.rmtree(part_dir, ignore_errors=True)
    return ComposeResult(result.path, rows, upserts, rows - upserts)


def _empty_checkpoint(con, params, out_path: Path) -> Checkpoint:
    """An empty window still writes a compose checkpoint with the full schema."""
    partial = out_path.with_name(out_path.name + ".partial")
    sql = _compose_sql(partitioned=False, in_file_order=False)
    con.execute(f"COPY ({sql} LIMIT 0) TO '{sql_path(partial)}' (FORMAT parquet)", params)
    partial.replace(out_path)
    return Checkpoint(out_path, 0)
