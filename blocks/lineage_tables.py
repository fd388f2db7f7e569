"""The lineage database's tables, as SQLAlchemy Core metadata.

Adapted from section 4.2 of the original design so one definition runs on
SQLite (the default, one file under the home folder) and PostgreSQL
(production):

- UUID keys are 36-character strings; JSONB becomes ``JSON`` with a ``JSONB``
  variant on PostgreSQL.
- Every timestamp is a naive UTC ``datetime``; ``UTCDateTime`` converts aware
  values on the way in, so a caller's time zone never shifts a stored time.
- Columns that are NOT NULL in the design keep a server default where a
  partial upsert (only some keys known) must still be able to insert a row:
  both databases check NOT NULL before they detect the conflict.
- ``data_lineage`` adds ``embedded_timestamp``, ``embedding_model``,
  ``run_id`` and the work-order feed counts; ``weaviate_timestamp`` keeps its
  name but means "loaded into the vector store", whichever store that is.
- ``failed_records`` gains ``run_id``; ``multi_table_join_stats`` gains
  ``run_id``. ``pipeline_runs`` (windows, high-water marks) and
  ``pipeline_locks`` (one run at a time) are new.
- ``service_status`` (one row per external service: the circuit breaker's
  last known state) and ``service_outages`` (one row per outage window) are
  new too, so the next run and reconciliation know what the last run saw.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

__all__ = [
    "metadata",
    "data_lineage",
    "multi_table_join_stats",
    "reconciliation_runs",
    "failed_records",
    "pipeline_runs",
    "pipeline_locks",
    "service_status",
    "service_outages",
    "SERVICE_STATES",
    "UTCDateTime",
    "utcnow",
]


def utcnow() -> datetime:
    """Now, as the naive UTC ``datetime`` every table stores."""
    return datetime.now(UTC).replace(tzinfo=None)


class UTCDateTime(TypeDecorator):
    """``DateTime`` without time zone that stores aware values as naive UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return value


JSONDocument = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

metadata = MetaData()


def _count(name: str) -> Column:
    return Column(name, Integer, nullable=False, server_default=text("0"))


def _flag(name: str) -> Column:
    return Column(name, Boolean, nullable=False, server_default=false())


def _created_at() -> Column:
    return Column("created_at", UTCDateTime, nullable=False, default=utcnow)


data_lineage = Table(
    "data_lineage",
    metadata,
    Column("record_id", String(255), primary_key=True, comment="Salesforce case Id"),
    Column("case_number", String(255), nullable=False, server_default=""),
    Column("source_system", String(50), nullable=False, server_default="salesforce"),
    Column("source_timestamp", UTCDateTime, comment="source LastModifiedDate"),
    Column("staging_timestamp", UTCDateTime),
    Column("transformed_timestamp", UTCDateTime),
    Column("embedded_timestamp", UTCDateTime),
    Column("weaviate_timestamp", UTCDateTime, comment="loaded into the vector store"),
    Column("current_stage", String(50), nullable=False, server_default="extracted"),
    Column("status", String(50), nullable=False, server_default="in_progress"),
    Column("error_message", Text),
    _count("retry_count"),
    Column("checksum", String(64), nullable=False, server_default=""),
    Column("source_fingerprint", String(64),
           comment="cheap digest of the case's staging rows: a rerun skips an unchanged case before composing it"),
    Column("embedding_model", String(255)),
    Column("run_id", String(64)),
    _flag("has_tasks"),
    _count("task_count"),
    _flag("has_workorders"),
    _count("workorder_count"),
    _flag("has_comments"),
    _count("comment_count"),
    _flag("has_emails"),
    _count("email_count"),
    _flag("has_feeds"),
    _count("feed_count"),
    _count("total_fields_populated"),
    _count("issue_fields_populated"),
    _count("resolution_fields_populated"),
    _created_at(),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
    Index("ix_data_lineage_status_stage", "status", "current_stage"),
)

multi_table_join_stats = Table(
    "multi_table_join_stats",
    metadata,
    Column("join_id", String(36), primary_key=True),
    Column("case_id", String(255), nullable=False),
    Column("case_number", String(255), nullable=False),
    Column("execution_timestamp", UTCDateTime, nullable=False),
    Column("case_found", Boolean, nullable=False),
    _count("tasks_joined"),
    _count("workorders_joined"),
    _count("comments_joined"),
    _count("emails_joined"),
    _count("workorder_feeds_joined"),
    Column("composite_text_length", Integer),
    _flag("was_truncated"),
    Column("run_id", String(64)),
    _created_at(),
    Index("idx_join_stats_case", "case_id"),
    Index("idx_join_stats_timestamp", "execution_timestamp"),
)

reconciliation_runs = Table(
    "reconciliation_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("run_type", String(50), nullable=False),
    Column("start_time", UTCDateTime, nullable=False),
    Column("end_time", UTCDateTime),
    Column("status", String(50), nullable=False),
    Column("source_count", Integer),
    Column("staging_count", Integer),
    Column("transformed_count", Integer),
    Column("weaviate_count", Integer),
    Column("discrepancies_found", Integer),
    Column("records_recovered", Integer),
    Column("error_details", JSONDocument),
)

failed_records = Table(
    "failed_records",
    metadata,
    Column("failure_id", String(36), primary_key=True),
    Column("record_id", String(255), nullable=False),
    Column("stage", String(50), nullable=False),
    Column("error_type", String(100), nullable=False),
    Column("error_message", Text, nullable=False),
    Column("payload", JSONDocument, comment="PII-free context only: ids, counts, sizes"),
    Column("failed_at", UTCDateTime, nullable=False, default=utcnow),
    _count("retry_count"),
    _flag("resolved"),
    Column("resolved_at", UTCDateTime),
    Column("run_id", String(64)),
    Index("ix_failed_records_open", "resolved", "stage"),
    Index("ix_failed_records_record", "record_id"),
)

pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("flow_name", String(255), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", String(20), nullable=False, comment="running | completed | failed"),
    Column("window_start", UTCDateTime),
    Column("window_end", UTCDateTime),
    Column("high_water_mark", UTCDateTime),
    Column("parameters", JSONDocument),
    Column("summary", JSONDocument),
    Index("ix_pipeline_runs_flow_status", "flow_name", "status", "finished_at"),
)

pipeline_locks = Table(
    "pipeline_locks",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("owner", String(255), nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

#: States of a circuit breaker as ``service_status.state`` stores them.
SERVICE_STATES = ("closed", "open", "half_open")

service_status = Table(
    "service_status",
    metadata,
    Column("service", String(255), primary_key=True, comment="e.g. embedder:text-embedding-3-large-3072"),
    Column("state", String(20), nullable=False, comment="closed | open | half_open"),
    Column("since", UTCDateTime, nullable=False, comment="when the service entered this state"),
    Column("last_opened_at", UTCDateTime, comment="latest transition to open: the cool-down runs from here"),
    Column("cooldown_s", Float, nullable=False, server_default=text("0")),
    _count("consecutive_failures"),
    Column("last_failure_at", UTCDateTime),
    Column("last_failure", String(255), comment="error type and provider, never a text"),
    Column("outage_id", String(36), comment="the open service_outages row, while not closed"),
    Column("run_id", String(64), comment="the run that wrote this state"),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
)

service_outages = Table(
    "service_outages",
    metadata,
    Column("outage_id", String(36), primary_key=True),
    Column("service", String(255), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, comment="null while the outage lasts"),
    _count("failures"),
    _count("short_circuited"),
    _count("times_opened"),
    Column("opened_by_run", String(64)),
    Column("closed_by_run", String(64)),
    Index("ix_service_outages_service_opened", "service", "opened_at"),
)
