"""``AlertLedger``: which problems are open and which channel has been told.

One table, ``alert_state``, in the lineage database (SQLite or PostgreSQL,
through ``LineageStore.engine``), with its own ``MetaData`` so the lineage
schema is untouched; ``ensure_schema`` creates it when missing.

One row per problem key. A problem that clears keeps its row with
``resolved_at`` set; when it opens again the same row starts over (new
``opened_at``, no deliveries). ``last_payload`` holds the latest alert and,
per channel, the outcome of its trigger and resolve deliveries::

    {"alert": {...Alert.as_dict()...},
     "needs": ["counts", "diff"],          # checks a run must make to clear it
     "deliveries": {"ops-slack": {"trigger": {"status": "sent", "at": "...", "error": null},
                                  "resolve": {"status": "failed", "at": "...", "error": "..."}}}}

A channel "holds" a problem once its trigger was sent and until its
resolution was sent; the dispatcher retries whatever a channel does not hold
yet (or still holds after the problem cleared).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, Column, Index, MetaData, String, Table, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from blocks.lineage_sql import write_many
from blocks.lineage_tables import UTCDateTime, utcnow

__all__ = ["AlertLedger", "ProblemState", "alert_metadata", "alert_state"]

alert_metadata = MetaData()

alert_state = Table(
    "alert_state",
    alert_metadata,
    Column("problem_key", String(255), primary_key=True, comment="rule name, or CriticalDiscrepancy:<type>"),
    Column("rule", String(100), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("last_payload", JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql"),
           comment="latest alert (counts and ids only) and per-channel deliveries"),
    Index("ix_alert_state_open", "resolved_at"),
)


@dataclass
class ProblemState:
    """One ``alert_state`` row; ``alert`` is the latest ``Alert.as_dict()``."""

    key: str
    rule: str
    severity: str
    opened_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None = None
    alert: dict[str, Any] = field(default_factory=dict)
    needs: list[str] = field(default_factory=list)
    deliveries: dict[str, dict[str, dict]] = field(default_factory=dict)

    def holds(self, channel: str) -> bool:
        """Has ``channel`` been sent the trigger, and not yet the resolution?"""
        done = self.deliveries.get(channel, {})
        return done.get("trigger", {}).get("status") == "sent" and done.get("resolve", {}).get("status") != "sent"

    def record(self, channel: str, kind: Literal["trigger", "resolve"], error: str | None, at: datetime) -> None:
        """Note one delivery attempt; a sent trigger forgets an earlier resolution."""
        outcome = {"status": "failed" if error else "sent", "at": at.isoformat(), "error": error}
        if kind == "trigger" and not error:
            self.deliveries[channel] = {"trigger": outcome}
        else:
            self.deliveries.setdefault(channel, {})[kind] = outcome

    def row(self) -> dict[str, Any]:
        return {"problem_key": self.key, "rule": self.rule, "severity": self.severity,
                "opened_at": self.opened_at, "last_seen_at": self.last_seen_at, "resolved_at": self.resolved_at,
                "last_payload": {"alert": self.alert, "needs": self.needs, "deliveries": self.deliveries}}

    @classmethod
    def from_row(cls, row) -> "ProblemState":
        payload = row.last_payload or {}
        return cls(key=row.problem_key, rule=row.rule, severity=row.severity, opened_at=row.opened_at,
                   last_seen_at=row.last_seen_at, resolved_at=row.resolved_at,
                   alert=dict(payload.get("alert") or {}), needs=list(payload.get("needs") or []),
                   deliveries=dict(payload.get("deliveries") or {}))


class AlertLedger:
    """Open problems and their deliveries, in the lineage database.

    Example:
        ```python
        from blocks.alert_ledger import AlertLedger

        with LineageStore.load("production") as lineage:
            ledger = AlertLedger(lineage)     # anything with an ``engine``
            ledger.ensure_schema()
            open_now = ledger.open_problems()
        ```
    """

    def __init__(self, lineage: Any):
        self._lineage = lineage

    @property
    def engine(self) -> Engine:
        return self._lineage.engine

    def ensure_schema(self) -> None:
        """Create ``alert_state`` if missing (a concurrent creator costs one retry)."""
        try:
            alert_metadata.create_all(self.engine, checkfirst=True)
        except DBAPIError:
            alert_metadata.create_all(self.engine, checkfirst=True)

    def open_problems(self) -> dict[str, ProblemState]:
        """Every problem not resolved yet, by key."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(alert_state).where(alert_state.c.resolved_at.is_(None))).all()
        return {row.problem_key: ProblemState.from_row(row) for row in rows}

    def problems(self) -> dict[str, ProblemState]:
        """Every problem ever seen, open or resolved, by key."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(alert_state)).all()
        return {row.problem_key: ProblemState.from_row(row) for row in rows}

    def save(self, states: list[ProblemState]) -> None:
        """Insert or replace the rows of ``states`` in one transaction."""
        if not states:
            return
        with self.engine.begin() as conn:
            write_many(conn, alert_state, [s.row() for s in states], conflict=["problem_key"])

    @staticmethod
    def now() -> datetime:
        """The naive UTC time the ledger stores."""
        return utcnow()
