"""``LineageStore``: where every case's journey through the pipeline is written down.

One database, SQLite by default (``sqlite:///<home>/lineage.db``) and
PostgreSQL in production, holds the tables of ``blocks.lineage_tables``:
per-case lineage, join statistics, failures, reconciliation runs, pipeline
runs (date windows, high-water marks) and a lease lock so only one run writes
at a time.

Every write of many records is one set-based operation (``COPY`` plus one
``INSERT ... SELECT`` on PostgreSQL, ``executemany`` on SQLite, one
``UPDATE ... WHERE record_id IN (...)`` per chunk of ids); reads of many ids
are chunked ``IN`` queries with bound parameters. How, per dialect, lives in
``blocks.lineage_sql``; nothing issues a statement per record.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
from prefect.blocks.core import Block
from prefect_sqlalchemy import ConnectionComponents, SqlAlchemyConnector
from pydantic import Field, PrivateAttr
from sqlalchemy import bindparam, case, func, inspect, select, text, update
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError

from blocks.lineage_failures import FailureLedger
from blocks.lineage_runs import RUN_STATUSES, RunLedger
from blocks.lineage_service_status import ServiceLedger
from blocks.lineage_sql import (
    check_keys,
    execute_by_ids,
    executemany,
    ids_match,
    open_engine,
    upsert_one,
    write_many,
)
from blocks.lineage_tables import (
    data_lineage,
    metadata,
    multi_table_join_stats,
    reconciliation_runs,
    utcnow,
)

__all__ = ["LineageStore", "LINEAGE_STATE_SCHEMA", "RUN_STATUSES"]

LINEAGE_STATE_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("checksum", pa.string()),
        ("source_fingerprint", pa.string()),
        ("status", pa.string()),
        ("current_stage", pa.string()),
        ("retry_count", pa.int64()),
        ("embedding_model", pa.string()),
        ("run_id", pa.string()),
    ]
)
_CHECKSUM_SCHEMA = pa.schema([("record_id", pa.string()), ("checksum", pa.string())])
# columns mark() sets itself, or that no caller may set
_NOT_MARKABLE = frozenset({"record_id", "created_at", "updated_at", "current_stage", "retry_count"})
# (label, flag column, count column) of the child tables in join coverage
_CHILDREN = (
    ("tasks", "has_tasks", "task_count"),
    ("workorders", "has_workorders", "workorder_count"),
    ("comments", "has_comments", "comment_count"),
    ("emails", "has_emails", "email_count"),
    ("feeds", "has_feeds", "feed_count"),
)


class _EngineSlot:
    """Holds the lazily opened engine. A deep copy or an unpickled store gets
    an empty slot and opens its own engine: engines cannot be copied, and a
    block crosses process boundaries pickled (task runners, deployments)."""

    def __init__(self) -> None:
        self.engine: Engine | None = None

    def __deepcopy__(self, memo) -> "_EngineSlot":
        return _EngineSlot()

    def __reduce__(self):
        return (_EngineSlot, ())


class LineageStore(RunLedger, ServiceLedger, FailureLedger, Block):
    """Lineage, failures, runs and the run lock, in one SQL database.

    Runs and the lock come from ``RunLedger`` (``blocks.lineage_runs``);
    service states and outage windows from ``ServiceLedger``
    (``blocks.lineage_service_status``); failed records from
    ``FailureLedger`` (``blocks.lineage_failures``).

    Example:
        ```python
        from blocks.lineage import LineageStore

        with LineageStore.load("production") as lineage:
            lineage.ensure_schema()
            state = lineage.lineage_state(case_ids)

        # or, without a saved block document:
        with LineageStore.from_url(f"sqlite:///{home}/lineage.db") as lineage:
            ...
        ```

    The engine is opened on first use and disposed by ``close()`` (or leaving
    the ``with`` block); the block itself stays cheap to copy and pickle.
    """

    _block_type_name = "Lineage Store"
    _description = "Per-case lineage, failures, pipeline runs and the run lock (SQLite or PostgreSQL)."

    connector: SqlAlchemyConnector = Field(
        description=(
            "Database connection. SQLite (`sqlite:///<home>/lineage.db`) by default, "
            "PostgreSQL (`postgresql+psycopg://...`) in production."
        )
    )

    _engine_slot: _EngineSlot = PrivateAttr(default_factory=_EngineSlot)

    # ------------------------------------------------------------------ setup

    @classmethod
    def from_url(cls, url: str) -> "LineageStore":
        """A store for a SQLAlchemy URL; the password goes into a secret field."""
        parsed = make_url(url)
        query = {k: v for k, v in parsed.query.items() if isinstance(v, str)}
        components = ConnectionComponents(
            driver=parsed.drivername,
            database=parsed.database,
            username=parsed.username,
            password=parsed.password,
            host=parsed.host,
            port=parsed.port,
            query=query or None,
        )
        return cls(connector=SqlAlchemyConnector(connection_info=components))

    @property
    def url(self) -> URL:
        """The connector's URL (its password masked when printed)."""
        info = self.connector.connection_info
        if isinstance(info, ConnectionComponents):
            return info.create_url()
        return make_url(str(info))

    @property
    def engine(self) -> Engine:
        """The engine, created on first use.

        Our own engine rather than the connector's cached one, so the SQLite
        pragmas are installed before any connection exists and ``close()``
        never disposes an engine someone else shares.
        """
        if self._engine_slot.engine is None:
            self._engine_slot.engine = open_engine(self.url, self.connector.connect_args)
        return self._engine_slot.engine

    def close(self) -> None:
        """Dispose the engine; the next call opens a new one."""
        if self._engine_slot.engine is not None:
            self._engine_slot.engine.dispose()
            self._engine_slot.engine = None

    def __enter__(self) -> "LineageStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def ensure_schema(self) -> None:
        """Create missing tables and indexes; existing ones are left as they are.

        Two processes starting at once may both see a table missing; the
        loser's ``CREATE`` fails, and one retry then finds everything present.
        """
        try:
            metadata.create_all(self.engine, checkfirst=True)
        except DBAPIError:
            metadata.create_all(self.engine, checkfirst=True)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Add nullable columns a newer version defines to tables an older one created.

        Only additive, nullable columns are ever added this way; anything
        else needs a migration a person reviews.
        """
        inspector = inspect(self.engine)
        preparer = self.engine.dialect.identifier_preparer
        with self.engine.begin() as conn:
            for table in metadata.sorted_tables:
                present = {c["name"] for c in inspector.get_columns(table.name)}
                for column in table.columns:
                    if column.name in present or not column.nullable:
                        continue
                    kind = column.type.compile(dialect=self.engine.dialect)
                    conn.execute(text(
                        f"ALTER TABLE {preparer.quote(table.name)} ADD COLUMN {preparer.quote(column.name)} {kind}"
                    ))

    def _write_many(self, table, rows: list[dict], **kwargs) -> None:
        with self.engine.begin() as conn:
            write_many(conn, table, rows, **kwargs)

    # --------------------------------------------------------------- lineage

    def lineage_state(self, record_ids: Sequence[str]) -> pa.Table:
        """Current state of those ids that have a lineage row (others are absent)."""
        cols = [data_lineage.c[name] for name in LINEAGE_STATE_SCHEMA.names]
        rows: list = []
        with self.engine.connect() as conn:
            stmt = select(*cols).where(ids_match(conn, data_lineage.c.record_id))
            for result in execute_by_ids(conn, stmt, record_ids):
                rows.extend(result.all())
        columns = list(zip(*rows)) if rows else [[] for _ in cols]
        return pa.table(
            {name: list(values) for name, values in zip(LINEAGE_STATE_SCHEMA.names, columns)},
            schema=LINEAGE_STATE_SCHEMA,
        )

    def upsert_records(self, rows: list[dict]) -> int:
        """Insert or update ``data_lineage`` rows by ``record_id``.

        Only the keys present are written on update, so a later stage can
        set its timestamp without knowing the extract's columns. Rows must
        share one key set (one statement for all); a repeated ``record_id``
        keeps its last row. Returns the number of distinct ids written.
        """
        if not rows:
            return 0
        keys = check_keys(data_lineage, rows, required=["record_id"])
        for managed in ("created_at", "updated_at"):
            if managed in keys:
                raise ValueError(f"data_lineage.{managed} is set by the store, not by callers")
        now = utcnow()
        unique = {row["record_id"]: row for row in rows}
        params = [{**row, "created_at": now, "updated_at": now} for row in unique.values()]
        self._write_many(data_lineage, params, conflict=["record_id"], keep=["created_at"])
        return len(params)

    def mark(
        self,
        record_ids: Sequence[str],
        *,
        stage: str,
        status: str,
        run_id: str | None = None,
        error_message: str | None = None,
        increment_retry: bool = False,
        **columns: Any,
    ) -> int:
        """Set the same stage, status and ``columns`` on existing rows.

        ``error_message`` is always written, so marking a record done clears
        the error of an earlier attempt; ``run_id`` only when given. Ids
        without a lineage row are ignored. Returns the number of rows updated.
        """
        for name in columns:
            if name not in data_lineage.c or name in _NOT_MARKABLE:
                raise ValueError(f"mark() cannot set data_lineage.{name}: not a column, or one mark() manages")
        values: dict[str, Any] = {
            "current_stage": stage,
            "status": status,
            "error_message": error_message,
            "updated_at": utcnow(),
            **columns,
        }
        if run_id is not None:
            values["run_id"] = run_id
        if increment_retry:
            values["retry_count"] = data_lineage.c.retry_count + 1
        with self.engine.begin() as conn:
            stmt = update(data_lineage).where(ids_match(conn, data_lineage.c.record_id)).values(values)
            return sum(result.rowcount for result in execute_by_ids(conn, stmt, record_ids))

    def set_fingerprints(self, record_ids: Sequence[str], fingerprints: Sequence[str]) -> int:
        """Store each record's source fingerprint; ids without a lineage row are ignored.

        One executemany per call (never an insert: a fingerprint alone is
        not a lineage row). Returns the number of rows updated.
        """
        if not record_ids:
            return 0
        stmt = (
            update(data_lineage)
            .where(data_lineage.c.record_id == bindparam("b_id"))
            .values(source_fingerprint=bindparam("b_fp"))
            .execution_options(synchronize_session=False)
        )
        params = [{"b_id": i, "b_fp": f} for i, f in zip(record_ids, fingerprints, strict=True)]
        with self.engine.begin() as conn:
            return executemany(conn, stmt, params)

    def stage_status_counts(self) -> list[dict]:
        """Number of records per (stage, status)."""
        c = data_lineage.c
        stmt = (
            select(c.current_stage.label("stage"), c.status, func.count().label("count"))
            .group_by(c.current_stage, c.status)
            .order_by(c.current_stage, c.status)
        )
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(stmt)]

    def iter_completed_checksums(self, batch_size: int = 50_000) -> Iterator[pa.RecordBatch]:
        """(record_id, checksum) of completed records, streamed in id order.

        A server-side cursor on PostgreSQL, so a million ids never sit in
        memory at once. The connection stays open until the iterator ends.
        """
        c = data_lineage.c
        stmt = select(c.record_id, c.checksum).where(c.status == "completed").order_by(c.record_id)
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(stmt)
            for part in result.partitions(batch_size):
                ids, sums = zip(*part)
                yield pa.RecordBatch.from_arrays(
                    [pa.array(ids, pa.string()), pa.array(sums, pa.string())],
                    schema=_CHECKSUM_SCHEMA,
                )

    def iter_record_ids(
        self,
        statuses: Sequence[str],
        *,
        updated_before: datetime | None = None,
        min_retries: int | None = None,
        batch_size: int = 50_000,
    ) -> Iterator[list[str]]:
        """Ids of records in ``statuses`` (optionally untouched since a time, or retried often), streamed.

        Reconciliation uses it to find stuck records, deleted cases and
        records to park, without holding every id in memory.
        """
        c = data_lineage.c
        stmt = select(c.record_id).where(c.status.in_(list(statuses)))
        if updated_before is not None:
            stmt = stmt.where(c.updated_at < updated_before)
        if min_retries is not None:
            stmt = stmt.where(c.retry_count >= min_retries)
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(
                stmt.order_by(c.record_id))
            for part in result.partitions(batch_size):
                yield [r[0] for r in part]

    def join_coverage(self) -> dict:
        """How many completed cases have each child table, and average child counts."""
        c = data_lineage.c
        exprs = [func.count().label("total_cases")]
        for label, flag, count in _CHILDREN:
            exprs.append(func.coalesce(func.sum(case((c[flag], 1), else_=0)), 0).label(f"cases_with_{label}"))
            exprs.append(func.coalesce(func.avg(c[count]), 0).label(f"avg_{label}"))
        exprs.append(func.coalesce(func.avg(c.total_fields_populated), 0).label("avg_fields_populated"))
        with self.engine.connect() as conn:
            row = conn.execute(select(*exprs).where(c.status == "completed")).one()._mapping
        return {k: (float(v) if k.startswith("avg_") else int(v)) for k, v in row.items()}

    # ------------------------------------------------ joins and reconciliation

    def record_join_stats(self, rows: list[dict]) -> int:
        """Insert join statistics rows; ``join_id`` is generated when absent."""
        if not rows:
            return 0
        required = ["case_id", "case_number", "execution_timestamp", "case_found"]
        check_keys(multi_table_join_stats, rows, required=required)
        now = utcnow()
        params = [{"join_id": str(uuid.uuid4()), **row, "created_at": now} for row in rows]
        self._write_many(multi_table_join_stats, params)
        return len(params)

    def record_reconciliation(self, row: dict) -> None:
        """Insert or update one ``reconciliation_runs`` row by ``run_id``.

        The row must carry ``run_type``, ``start_time`` and ``status`` even on
        update: both databases check NOT NULL before they detect the conflict.
        """
        check_keys(reconciliation_runs, [row], required=["run_id", "run_type", "start_time", "status"])
        with self.engine.begin() as conn:
            upsert_one(conn, reconciliation_runs, row, ["run_id"])
