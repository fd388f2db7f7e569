"""Service status and outage windows: the part of ``LineageStore`` about external services.

A circuit breaker lives in one process; its knowledge must outlive it. The
embed stage of one run may find the primary embedder down and open the
breaker; the next run, six hours or six seconds later, should start from
that knowledge instead of paying a fresh retry budget, and reconciliation
should be able to say "the primary was down from 02:10 to 04:35, 1,812
cases went to the fallback". Two tables (``blocks.lineage_tables``) hold it:

- ``service_status``: one row per service, the breaker's last known state
  (``closed`` / ``open`` / ``half_open``), since when, its last opening (the
  cool-down runs from there), the last failure (an error type, never a text)
  and the outage under way.
- ``service_outages``: one row per outage window, opened -> closed, with the
  failures seen and the calls short-circuited during it.

``save_breaker`` writes a ``BreakerSnapshot`` (both tables, one transaction);
``breaker_snapshot`` reads one back for ``CircuitBreaker.restore``. A handful
of rows per run: plain upserts, no bulk path needed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from blocks.circuit_breaker import BreakerSnapshot, OutageWindow
from blocks.lineage_sql import upsert_one
from blocks.lineage_tables import SERVICE_STATES, data_lineage, service_outages, service_status, utcnow

__all__ = ["ServiceLedger", "embedder_service", "refused_by_primary"]


def embedder_service(model_name: str) -> str:
    """The ``service_status.service`` key of an embedder, e.g. ``embedder:text-embedding-3-large-3072``."""
    return f"embedder:{model_name}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def refused_by_primary(primary_model: str) -> str:
    """The lineage ``error_message`` of a case whose text ``primary_model`` refused (it stays on the fallback).

    Re-embedding skips such a case instead of sending the same refused text
    on every run; the next version of the case (any pipeline write) clears it.
    """
    return f"InputRejected by {primary_model}: stays on its earlier model"

class ServiceLedger:
    """Service states and outages over ``self.engine``, which ``LineageStore`` provides.

    A plain mixin, not a model: an annotation here would become a block field.
    """

    def save_breaker(self, service: str, snapshot: BreakerSnapshot, run_id: str | None = None) -> None:
        """Record ``snapshot`` as the state of ``service`` and upsert the outage windows it touched."""
        if snapshot.state not in SERVICE_STATES:
            raise ValueError(f"service_status.state must be one of {SERVICE_STATES}, got {snapshot.state!r}")
        now = utcnow()
        row = {
            "service": service,
            "state": snapshot.state,
            "since": snapshot.since,
            "last_opened_at": snapshot.last_opened_at,
            "cooldown_s": float(snapshot.cooldown_s),
            "consecutive_failures": snapshot.consecutive_failures,
            "last_failure_at": snapshot.last_failure_at,
            "last_failure": (snapshot.last_failure or None) and snapshot.last_failure[:255],
            "outage_id": snapshot.outage.outage_id if snapshot.outage is not None else None,
            "run_id": run_id,
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            upsert_one(conn, service_status, row, ["service"])
            known = {
                r.outage_id: r for r in conn.execute(
                    select(service_outages.c.outage_id, service_outages.c.opened_by_run)
                    .where(service_outages.c.outage_id.in_([w.outage_id for w in snapshot.windows] or [""])))
            }
            for window in snapshot.windows:
                upsert_one(conn, service_outages, {
                    "outage_id": window.outage_id,
                    "service": service,
                    "opened_at": window.opened_at,
                    "closed_at": window.closed_at,
                    "failures": window.failures,
                    "short_circuited": window.short_circuited,
                    "times_opened": window.times_opened,
                    "opened_by_run": known[window.outage_id].opened_by_run if window.outage_id in known else run_id,
                    "closed_by_run": run_id if window.closed_at is not None else None,
                }, ["outage_id"])

    def breaker_snapshot(self, service: str) -> BreakerSnapshot | None:
        """The last recorded state of ``service`` (with its outage under way), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(service_status).where(service_status.c.service == service)).first()
            if row is None:
                return None
            outage = None
            if row.outage_id is not None:
                o = conn.execute(select(service_outages).where(service_outages.c.outage_id == row.outage_id)).first()
                if o is not None and o.closed_at is None:
                    outage = OutageWindow(o.outage_id, o.opened_at, None, o.failures, o.short_circuited,
                                          o.times_opened)
        return BreakerSnapshot(
            state=row.state if outage is not None or row.state == "closed" else "closed",
            since=row.since, last_opened_at=row.last_opened_at, consecutive_failures=row.consecutive_failures,
            last_failure_at=row.last_failure_at, last_failure=row.last_failure, cooldown_s=row.cooldown_s,
            outage=outage, windows=(outage,) if outage is not None else (),
        )

    def service_statuses(self) -> list[dict[str, Any]]:
        """Every ``service_status`` row, by service."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(service_status).order_by(service_status.c.service))
            return [dict(r._mapping) for r in rows]

    def service_outages(self, *, since: datetime | None = None, service: str | None = None) -> list[dict[str, Any]]:
        """Outage windows still open or closed after ``since``, oldest first."""
        c = service_outages.c
        stmt = select(service_outages)
        if since is not None:
            stmt = stmt.where(or_(c.closed_at.is_(None), c.closed_at >= since))
        if service is not None:
            stmt = stmt.where(c.service == service)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt.order_by(c.opened_at, c.outage_id))]

    def _awaiting_reembed(self, primary_model: str):
        """Completed, embedded by another model, and not refused by this primary (until the case changes)."""
        c = data_lineage.c
        return (c.status == "completed", c.embedding_model.is_not(None), c.embedding_model != primary_model,
                or_(c.error_message.is_(None), c.error_message != refused_by_primary(primary_model)))

    def reembed_candidates(self, primary_model: str, *, after: str | None = None, limit: int = 1_000) -> list[str]:
        """Ids of completed cases embedded by a model other than ``primary_model``, in id order after ``after``.

        Keyset pages instead of one long cursor: the caller updates these very
        rows between pages, and a crashed caller resumes by asking again.
        """
        c = data_lineage.c
        stmt = select(c.record_id).where(*self._awaiting_reembed(primary_model))
        if after is not None:
            stmt = stmt.where(c.record_id > after)
        with self.engine.connect() as conn:
            return list(conn.execute(stmt.order_by(c.record_id).limit(limit)).scalars())

    def reembed_backlog(self, primary_model: str) -> int:
        """How many completed cases another model than ``primary_model`` embedded."""
        stmt = select(func.count()).where(*self._awaiting_reembed(primary_model))
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def service_report(self, since: datetime, *, primary_model: str | None = None, max_windows: int = 20) -> dict:
        """The ``services`` figure of reconciliation: states, recent outages and cases awaiting re-embedding.

        ``awaiting_reembed`` counts completed cases embedded by another model
        than ``primary_model`` (the fallback's, during an outage):
        ``python -m flows.run reembed`` moves them onto the primary.
        """
        outages = self.service_outages(since=since)
        report: dict[str, Any] = {
            "states": {r["service"]: {"state": r["state"], "since": _iso(r["since"]),
                                      "last_failure": r["last_failure"], "last_failure_at": _iso(r["last_failure_at"])}
                       for r in self.service_statuses()},
            "open_outages": sum(1 for o in outages if o["closed_at"] is None),
            "outages_since": _iso(since),
            "outages": [{"service": o["service"], "opened_at": _iso(o["opened_at"]), "closed_at": _iso(o["closed_at"]),
                         "failures": o["failures"], "short_circuited": o["short_circuited"]}
                        for o in outages[-max_windows:]],
        }
        if primary_model is not None:
            report["awaiting_reembed"] = self.reembed_backlog(primary_model)
        return report
