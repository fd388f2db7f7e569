"""Pieces of DuckDB SQL text that stages share: quoting, paths, the case's children.

Identifiers and paths in stage SQL come from the contract and from the
configured home folder, never from data; values always go in as bound
parameters.
"""

from __future__ import annotations

from pathlib import Path

from schemas.staging import TABLES

__all__ = ["quote_ident", "sql_path", "CASE_CHILD_PARENTS", "CHECKPOINT_ROW_GROUP", "CHECKPOINT_PARQUET"]

#: direct children of the case -> the column naming their case (feeds reach it through their work order)
CASE_CHILD_PARENTS: dict[str, str] = {
    name: spec.parent_column for name, spec in TABLES.items() if spec.parent_table == "case" and spec.parent_column
}

#: Rows per Parquet row group of a checkpoint a later stage scans with DuckDB.
#: DuckDB parallelises a Parquet scan by row group, one thread per group, so
#: a table written as a single group (the writer's default holds 122,880
#: rows: a whole 100k window) is joined, hashed and projected on one core
#: while the others wait. About 10k rows (five DuckDB vectors) gives a 100k
#: window ten groups to share out on any machine we run on, and costs a few
#: percent in file size (zstd works per group: 2% for an extract, 6% for a
#: compose checkpoint at 100k cases); a small window stays one group.
CHECKPOINT_ROW_GROUP = 10_240
#: ``COPY ... TO`` options of those checkpoints.
CHECKPOINT_PARQUET = f"FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {CHECKPOINT_ROW_GROUP}"


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB (names come from the contract, not data)."""
    return '"' + name.replace('"', '""') + '"'


def sql_path(path: Path) -> str:
    """A filesystem path as a DuckDB string literal body.

    COPY ... TO does not take a bound parameter for its target; the path is
    built from the configured home folder and a generated run id, never from
    data, and single quotes are doubled.
    """
    return str(path).replace("'", "''")
