"""Staging sources backed by local files: a Parquet folder, or a DuckDB database file.

Both expose the tables lazily, as temporary DuckDB views named
``raw_relation_name(table)``: nothing is copied, DuckDB reads the files when
the extract stage queries the views. Temporary objects belong to the
connection passed to ``register`` (a ``con.cursor()`` does not see them) and
never leak into a file-backed work database.

Staging table names are matched case-insensitively (``Case.parquet`` and a
DuckDB table ``"Case"`` both count as ``case``); two candidates for one table
are an error, never a silent choice.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import duckdb
from pydantic import Field

from blocks.errors import StagingUnreadable
from blocks.staging_source import StagingSource, raw_relation_name
from schemas.staging import TABLE_NAMES

__all__ = ["ParquetStagingSource", "DuckDBStagingSource", "match_staging_tables"]


def match_staging_tables(names: Iterable[str], location: str) -> dict[str, str]:
    """Map each staging table found among ``names`` to the name as the source spells it.

    Matching ignores case; an exact (lower-case) spelling wins over other
    spellings, and two other spellings of one table raise ``StagingUnreadable``.
    Names that are not staging tables are ignored.
    """
    candidates: dict[str, list[str]] = {}
    for name in names:
        if name.lower() in TABLE_NAMES:
            candidates.setdefault(name.lower(), []).append(name)
    found: dict[str, str] = {}
    for table, spellings in candidates.items():
        if table in spellings:
            found[table] = table
        elif len(spellings) == 1:
            found[table] = spellings[0]
        else:
            raise StagingUnreadable(
                f"staging table {table!r} is ambiguous in {location}: "
                f"expected one of these, found {sorted(spellings)}"
            )
    return found


def _require_case(found: Iterable[str], location: str) -> None:
    if "case" not in found:
        raise StagingUnreadable(
            f"staging table 'case' is required but missing in {location} "
            f"(expected one of the tables {list(TABLE_NAMES)}, case included)"
        )


def _quote_ident(name: str) -> str:
    """A DuckDB identifier, double-quoted (names come from the catalog or the contract)."""
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    """A DuckDB string literal.

    Only used where DuckDB accepts no bound parameter (the body of a
    ``CREATE VIEW``). DuckDB string literals have no backslash escapes: the
    single quote, doubled, is the only character that needs escaping, so the
    result is exact for any path without a NUL byte (which no file system
    allows in a name either).
    """
    if "\x00" in value:
        raise StagingUnreadable(f"path contains a NUL byte: {value!r}")
    return "'" + value.replace("'", "''") + "'"


def _is_hidden(path: Path, root: Path) -> bool:
    """Hidden or bookkeeping entry (``.x``, ``_x``: Spark/Hadoop convention) below ``root``."""
    return any(part.startswith((".", "_")) for part in path.relative_to(root).parts)


class ParquetStagingSource(StagingSource):
    """A folder holding one Parquet file or one folder of Parquet files per table.

    Layout (``staging-contract.md``): ``<path>/case.parquet`` or
    ``<path>/case/*.parquet`` (files in sub-folders count too, e.g. hive
    partitions ``case/year=2025/part-0.parquet``, and a folder named
    ``case.parquet`` as Spark writes it), and so on for the other
    tables. Files of one table are read with ``union_by_name``, so files
    with different column sets combine (absent columns read as NULL).
    Hidden and bookkeeping files (names starting with ``.`` or ``_``, e.g.
    ``_SUCCESS``, ``_metadata``) are skipped. A table folder without any
    Parquet file counts as a missing table. Every column is kept as the
    files have it; the extract stage checks the contract.

    Example::

        from blocks.staging_files import ParquetStagingSource

        source = ParquetStagingSource.load("sfdc-export")
        tables = source.register(con)
    """

    _block_type_name = "Parquet Staging Source"

    path: str = Field(
        default=...,
        description="Folder holding <table>.parquet files or <table>/ folders of Parquet files.",
    )

    def _folder(self) -> Path:
        return Path(self.path).expanduser()

    def table_files(self) -> dict[str, list[Path]]:
        """Staging table -> its Parquet files (sorted), for the tables present."""
        folder = self._folder()
        if not folder.is_dir():
            raise StagingUnreadable(
                f"Parquet staging folder {str(folder)!r} does not exist or is not a folder"
            )
        try:
            entries = {
                entry.name: entry
                for entry in folder.iterdir()
                if entry.is_dir() or entry.name.lower().endswith(".parquet")
            }
        except OSError as exc:
            raise StagingUnreadable(f"cannot list Parquet staging folder {str(folder)!r}: {exc}") from exc
        stems = {}
        for name, entry in entries.items():
            # ``case.parquet`` may also be a folder of part files (as Spark writes it).
            stem = name[: -len(".parquet")] if name.lower().endswith(".parquet") else name
            stems.setdefault(stem, []).append(entry)
        # One spelling per stem is enough for the matcher; both a file and a
        # folder for one table is an error of its own, reported below.
        found = match_staging_tables(stems, repr(str(folder)))
        files: dict[str, list[Path]] = {}
        for table, stem in found.items():
            if len(stems[stem]) > 1:
                raise StagingUnreadable(
                    f"staging table {table!r} is ambiguous in {str(folder)!r}: expected one of "
                    f"{stem}.parquet or {stem}/, found {sorted(e.name for e in stems[stem])}"
                )
            entry = stems[stem][0]
            if entry.is_file():
                files[table] = [entry]
                continue
            try:
                parts = sorted(
                    p
                    for p in entry.rglob("*")
                    if p.is_file() and p.name.lower().endswith(".parquet") and not _is_hidden(p, entry)
                )
            except OSError as exc:
                raise StagingUnreadable(f"cannot list staging folder {str(entry)!r}: {exc}") from exc
            if parts:
                files[table] = parts
        return files

    def register(self, con: duckdb.DuckDBPyConnection) -> set[str]:
        """Create a temporary view ``raw_<table>`` per table present; return their names."""
        files = self.table_files()
        _require_case(files, f"Parquet staging folder {str(self._folder())!r}")
        for table, paths in files.items():
            # DuckDB cannot bind parameters inside CREATE VIEW, so the file
            # list is inlined as escaped literals (see ``_quote_literal``).
            file_list = "[" + ", ".join(_quote_literal(str(p)) for p in paths) + "]"
            sql = (
                f"CREATE OR REPLACE TEMP VIEW {_quote_ident(raw_relation_name(table))} AS "
                f"SELECT * FROM read_parquet({file_list}, union_by_name = true)"
            )
            try:
                con.execute(sql)
            except duckdb.Error as exc:
                shown = ", ".join(str(p) for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
                raise StagingUnreadable(
                    f"cannot read staging table {table!r} from {len(paths)} Parquet file(s) "
                    f"({shown}): {exc}"
                ) from exc
        return set(files)

    def describe(self) -> str:
        """The folder, as an absolute path."""
        return f"parquet folder {self._folder().resolve()}"


# Pydantic warns that a field named ``schema`` shadows the deprecated
# ``BaseModel.schema()`` classmethod; the field name is the public interface
# and Prefect never calls that classmethod.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message='Field name "schema"', category=UserWarning)

    class DuckDBStagingSource(StagingSource):
        """Staging tables (or views) inside a DuckDB database file, attached read-only.

        The file is attached to the connection under the first free alias
        ``staging_0``, ``staging_1``, ... (an existing attachment of the same
        file is reused instead), and one temporary view
        per staging table found in ``schema`` is created over it. Table names
        match case-insensitively (``"Case"`` counts as ``case``).

        Example::

            from blocks.staging_files import DuckDBStagingSource

            source = DuckDBStagingSource.load("staging-snapshot")
            tables = source.register(con)
        """

        _block_type_name = "DuckDB Staging Source"

        path: str = Field(default=..., description="Path of the DuckDB database file holding the tables.")
        schema: str = Field(default="main", description="Schema of that database holding the tables.")

        def _file(self) -> Path:
            return Path(self.path).expanduser().resolve()

        def _attach(self, con: duckdb.DuckDBPyConnection) -> str:
            """Attach the file read-only (or reuse an attachment); return the catalog alias."""
            file = self._file()
            if not file.is_file():
                raise StagingUnreadable(f"DuckDB staging file {str(file)!r} does not exist or is not a file")
            rows = con.execute("SELECT database_name, path FROM duckdb_databases()").fetchall()
            for name, attached in rows:
                if attached and Path(attached).resolve() == file:
                    return name
            taken = {name for name, _ in rows}
            alias = next(f"staging_{i}" for i in range(len(taken) + 1) if f"staging_{i}" not in taken)
            try:
                con.execute(f"ATTACH ? AS {_quote_ident(alias)} (READ_ONLY)", [str(file)])
            except duckdb.Error as exc:
                raise StagingUnreadable(f"cannot open DuckDB staging file {str(file)!r} read-only: {exc}") from exc
            return alias

        def register(self, con: duckdb.DuckDBPyConnection) -> set[str]:
            """Create a temporary view ``raw_<table>`` per table present; return their names."""
            alias = self._attach(con)
            location = f"DuckDB staging file {str(self._file())!r}"
            schemas = [
                r[0]
                for r in con.execute(
                    "SELECT schema_name FROM duckdb_schemas() WHERE database_name = ?", [alias]
                ).fetchall()
            ]
            if self.schema not in schemas:
                raise StagingUnreadable(
                    f"schema {self.schema!r} not found in {location}: schemas there are {sorted(schemas)}"
                )
            names = [
                r[0]
                for r in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? "
                    "UNION ALL "
                    "SELECT view_name FROM duckdb_views() WHERE database_name = ? AND schema_name = ?",
                    [alias, self.schema, alias, self.schema],
                ).fetchall()
            ]
            found = match_staging_tables(names, f"{location}, schema {self.schema!r}")
            _require_case(found, f"{location}, schema {self.schema!r}")
            for table, actual in found.items():
                source = ".".join(_quote_ident(part) for part in (alias, self.schema, actual))
                try:
                    con.execute(
                        f"CREATE OR REPLACE TEMP VIEW {_quote_ident(raw_relation_name(table))} AS "
                        f"SELECT * FROM {source}"
                    )
                except duckdb.Error as exc:
                    raise StagingUnreadable(f"cannot read staging table {actual!r} from {location}: {exc}") from exc
            return set(found)

        def describe(self) -> str:
            """The file, as an absolute path, and the schema."""
            return f"duckdb file {self._file()} schema {self.schema}"
