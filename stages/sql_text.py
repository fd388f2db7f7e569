"""Pieces of DuckDB SQL text that stages share: quoting, paths, the case's children.

Identifiers and paths in stage SQL come from the contract and from the
configured home folder, never from data; values always go in as bound
parameters.
"""

from __future__ import annotations

from pathlib import Path

from schemas.staging import TABLES

__all__ = ["quote_ident", "sql_path", "CASE_CHILD_PARENTS"]

#: direct children of the case -> the column naming their case (feeds reach it through their work order)
CASE_CHILD_PARENTS: dict[str, str] = {
    name: spec.parent_column for name, spec in TABLES.items() if spec.parent_table == "case" and spec.parent_column
}


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
