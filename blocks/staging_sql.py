"""Staging source backed by a SQL database (PostgreSQL schema ``udp`` in production).

The six tables are copied into DuckDB temporary tables, streamed in chunks of
``fetch_rows`` rows (a server-side cursor where the driver has one), so memory
holds one chunk at a time, not a table. Columns are reflected and kept as the
database has them, typed as follows:

- text, integer, float, fixed-precision decimal, boolean, date, time and
  timestamp columns keep their type (``timestamp with time zone`` becomes
  DuckDB ``TIMESTAMP WITH TIME ZONE``, in UTC);
- any other type (JSON, arrays, UUID, intervals, numeric without precision,
  ...) is read as text, rendered by the database (``CAST(col AS VARCHAR)``);
- on SQLite, which has no column types (a ``TIMESTAMP`` column may hold any
  value), every column is read as text; the extract stage's casts type them.

Tables the database does not hold are left out; ``case`` is required.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import duckdb
import pyarrow as pa
import sqlalchemy as sa
from prefect_sqlalchemy import ConnectionComponents, SqlAlchemyConnector
from pydantic import Field
from sqlalchemy.engine import URL, make_url

from blocks.errors import StagingUnreadable
from blocks.staging_files import match_staging_tables
from blocks.staging_source import StagingSource, raw_relation_name
from schemas.staging import TABLE_NAMES

__all__ = ["SqlStagingSource", "mask_url"]

_logger = logging.getLogger(__name__)

_SECRET_QUERY_KEYS = ("password", "passwd", "secret", "token", "key")

_ARROW_TYPES: dict[type, pa.DataType] = {
    str: pa.large_string(),
    bool: pa.bool_(),
    int: pa.int64(),
    float: pa.float64(),
    bytes: pa.large_binary(),
    dt.date: pa.date32(),
    dt.time: pa.time64("us"),
}


def mask_url(url: URL) -> str:
    """``url`` without secrets: password and secret-looking query values become ``***``."""
    masked = {
        key: "***" if any(word in key.lower() for word in _SECRET_QUERY_KEYS) else value
        for key, value in url.query.items()
    }
    rendered = url.set(query=masked).render_as_string(hide_password=True)
    return rendered.replace("%2A%2A%2A", "***")


def _quote_ident(name: str) -> str:
    """A DuckDB identifier, double-quoted."""
    return '"' + name.replace('"', '""') + '"'


def _arrow_type(column: sa.Column) -> pa.DataType | None:
    """Arrow type for a reflected column, or ``None`` to read it as text."""
    sql_type = column.type
    try:
        python_type = sql_type.python_type
    except NotImplementedError:
        return None
    if python_type is dt.datetime:
        return pa.timestamp("us", tz="UTC" if getattr(sql_type, "timezone", False) else None)
    if python_type is dt.time and getattr(sql_type, "timezone", False):
        return None
    if python_type is decimal.Decimal:
        precision, scale = getattr(sql_type, "precision", None), getattr(sql_type, "scale", None)
        if precision is not None and 0 < precision <= 38 and scale is not None and 0 <= scale <= precision:
            return pa.decimal128(precision, scale)
        return None
    return _ARROW_TYPES.get(python_type)


# Pydantic warns that a field named ``schema`` shadows the deprecated
# ``BaseModel.schema()`` classmethod; the field name is the public interface
# and Prefect never calls that classmethod.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message='Field name "schema"', category=UserWarning)

    class SqlStagingSource(StagingSource):
        """The staging tables in a SQL database, read through SQLAlchemy.

        Table names match case-insensitively (``udp."case"``, ``udp."Case"``);
        ``schema`` names the database schema (on SQLite, which has none, a
        schema that is not an attached database means the main database).
        Views count as tables.

        Example::

            from blocks.staging_sql import SqlStagingSource

            source = SqlStagingSource.load("udp-production")
            tables = source.register(con)

            # or, for a one-off run or a test:
            source = SqlStagingSource.from_url("postgresql+psycopg://user:pw@host/db")
        """

        _block_type_name = "SQL Staging Source"

        connector: SqlAlchemyConnector = Field(
            default=...,
            description=(
                "Connection to the database (a synchronous driver; for psycopg 3 use the "
                "driver string 'postgresql+psycopg')."
            ),
        )
        schema: str | None = Field(
            default="udp",
            description="Database schema holding the six tables; empty for the default schema.",
        )
        fetch_rows: int = Field(
            default=50_000,
            gt=0,
            description="Rows fetched and inserted per chunk: bounds the memory one table needs.",
        )

        @classmethod
        def from_url(cls, url: str, schema: str | None = "udp", fetch_rows: int = 50_000) -> SqlStagingSource:
            """A source for a SQLAlchemy URL such as ``postgresql+psycopg://user:pw@host/db``.

            The URL is split into ``ConnectionComponents`` so that the password
            is a ``SecretStr``: hidden in ``repr`` and stored as a secret when
            the block is saved.
            """
            parsed = make_url(url)
            query = {k: v for k, v in parsed.query.items() if isinstance(v, str)}
            if len(query) != len(parsed.query):  # a repeated key: only a URL string can carry it
                connection_info: ConnectionComponents | str = url
            else:
                connection_info = ConnectionComponents(
                    driver=parsed.drivername,
                    username=parsed.username,
                    password=parsed.password,
                    host=parsed.host,
                    port=parsed.port,
                    database=parsed.database,
                    query=query or None,
                )
            return cls(
                connector=SqlAlchemyConnector(connection_info=connection_info),
                schema=schema,
                fetch_rows=fetch_rows,
            )

        def _url(self) -> URL:
            info = self.connector.connection_info
            return info.create_url() if isinstance(info, ConnectionComponents) else make_url(str(info))

        def describe(self) -> str:
            """The database URL without password, and the schema."""
            schema = f" schema {self.schema}" if self.schema else ""
            return f"sql {mask_url(self._url())}{schema}"

        def close(self) -> None:
            """Dispose of the connector's engine and its pooled connections."""
            self.connector.close()

        def __enter__(self) -> SqlStagingSource:
            return self

        def __exit__(self, *exc_info: object) -> None:
            self.close()

        def register(self, con: duckdb.DuckDBPyConnection) -> set[str]:
            """Copy each table present into a temporary table ``raw_<table>``; return their names."""
            location = mask_url(self._url())
            try:
                engine = self.connector.get_engine()
                with engine.connect() as conn:
                    if conn.dialect.name == "postgresql":
                        # One snapshot for all six tables, so a child row never
                        # refers to a case committed after the case table was read.
                        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
                    schema, found = self._find_tables(conn, location)
                    where = location + (f", schema {schema!r}" if schema else "")
                    if "case" not in found:
                        raise StagingUnreadable(
                            f"staging table 'case' is required but missing in {where} "
                            f"(expected one of the tables {list(TABLE_NAMES)}, case included)"
                        )
                    for table, actual in found.items():
                        self._copy_table(conn, con, schema, table, actual, where)
            except StagingUnreadable:
                raise
            except sa.exc.SQLAlchemyError as exc:
                raise StagingUnreadable(f"cannot read staging tables from {location}: {exc}") from exc
            return set(found)

        def _find_tables(self, conn: sa.Connection, location: str) -> tuple[str | None, dict[str, str]]:
            """(schema to use, staging table -> name in the database)."""
            inspector = sa.inspect(conn)
            schema = self.schema or None
            if schema is not None:
                schemas = inspector.get_schema_names()
                if schema not in schemas:
                    if conn.dialect.name == "sqlite":
                        schema = None  # no schemas: the tables are in the main database
                    else:
                        raise StagingUnreadable(
                            f"schema {schema!r} not found in {location}: schemas there are {sorted(schemas)}"
                        )
            names = inspector.get_table_names(schema=schema) + inspector.get_view_names(schema=schema)
            where = location + (f", schema {schema!r}" if schema else "")
            return schema, match_staging_tables(names, where)

        def _copy_table(
            self,
            conn: sa.Connection,
            con: duckdb.DuckDBPyConnection,
            schema: str | None,
            table: str,
            actual: str,
            where: str,
        ) -> int:
            """Stream one table into DuckDB temporary table ``raw_<table>``; return its row count."""
            reflected = sa.Table(actual, sa.MetaData(), schema=schema, autoload_with=conn)
            as_text = conn.dialect.name == "sqlite"
            columns, fields = [], []
            for column in reflected.columns:
                arrow_type = None if as_text else _arrow_type(column)
                if arrow_type is None:
                    arrow_type = pa.large_string()
                    columns.append(sa.cast(column, sa.String()).label(column.name))
                else:
                    columns.append(column)
                fields.append(pa.field(column.name, arrow_type))
            arrow_schema = pa.schema(fields)
            target = _quote_ident(raw_relation_name(table))
            chunk_name = f"_staging_chunk_{table}"
            rows = 0
            try:
                con.register(chunk_name, arrow_schema.empty_table())
                con.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS SELECT * FROM {_quote_ident(chunk_name)}")
                for chunk in self._chunks(conn, sa.select(*columns)):
                    batch = pa.Table.from_arrays(
                        [pa.array(values, type=f.type) for values, f in zip(zip(*chunk), arrow_schema)],
                        schema=arrow_schema,
                    )
                    con.register(chunk_name, batch)
                    con.execute(f"INSERT INTO {target} SELECT * FROM {_quote_ident(chunk_name)}")
                    rows += batch.num_rows
            except (pa.ArrowException, duckdb.Error, ValueError, TypeError) as exc:
                raise StagingUnreadable(
                    f"cannot copy staging table {actual!r} from {where} after {rows} rows: {exc}"
                ) from exc
            finally:
                con.unregister(chunk_name)
            _logger.debug("copied %d rows of %s from %s", rows, actual, where)
            return rows

        def _chunks(self, conn: sa.Connection, query: sa.Select) -> Iterator[list[Any]]:
            """Lists of at most ``fetch_rows`` rows, from a streaming (server-side) cursor."""
            # Statement-level options: Connection.execution_options would change
            # the connection itself, and stream the reflection queries too.
            result = conn.execute(query.execution_options(stream_results=True, yield_per=self.fetch_rows))
            try:
                yield from result.partitions(self.fetch_rows)
            finally:
                result.close()
