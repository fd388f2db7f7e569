"""The ``StagingSource`` interface: where the six staging tables come from."""

from __future__ import annotations

from abc import ABC, abstractmethod

import duckdb
from prefect.blocks.core import Block

__all__ = ["StagingSource", "raw_relation_name"]


def raw_relation_name(table: str) -> str:
    """Name under which a source exposes staging table ``table`` in DuckDB."""
    return f"raw_{table}"


class StagingSource(Block, ABC):
    """Exposes the staging tables to a DuckDB connection.

    ``register`` creates one view (or temporary table) per staging table that
    the source holds, named ``raw_relation_name(table)``, with the columns as
    the source has them (extra columns allowed, types unchecked): the extract
    stage checks the contract. Tables the source does not hold are left out of
    the returned set; only ``case`` is mandatory.
    """

    @abstractmethod
    def register(self, con: duckdb.DuckDBPyConnection) -> set[str]:
        """Expose the tables on ``con``; return the names of the tables found."""

    @abstractmethod
    def describe(self) -> str:
        """Where the data comes from, for logs and reports (no secrets)."""
