"""Failed records: the part of ``LineageStore`` about what could not be processed.

``failed_records`` keeps every quarantined row and every case a stage could
not finish, with its reason and a PII-free payload, until a later run or a
repair resolves it. ``LineageStore`` inherits these methods; they only need
its ``engine``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update

from blocks.lineage_sql import execute_by_ids, ids_match, write_many
from blocks.lineage_tables import failed_records, utcnow

__all__ = ["FailureLedger"]


class FailureLedger:
    """Failures over ``self.engine``, which ``LineageStore`` provides.

    A plain mixin, not a model: an annotation here would become a block field.
    """

    def record_failures(self, rows: list[dict]) -> int:
        """Insert failures (record_id, stage, error_type, error_message; optional
        payload, run_id, retry_count). Payloads must be PII-free: ids, counts, sizes."""
        if not rows:
            return 0
        required = ("record_id", "stage", "error_type", "error_message")
        now = utcnow()
        params = []
        for i, row in enumerate(rows):
            missing = [k for k in required if row.get(k) is None]
            if missing:
                raise ValueError(f"failed_records row {i} (record {row.get('record_id')!r}) lacks {missing}")
            params.append(
                {
                    "failure_id": str(uuid.uuid4()),
                    **{k: row[k] for k in required},
                    "payload": row.get("payload"),
                    "run_id": row.get("run_id"),
                    "retry_count": row.get("retry_count") or 0,
                    "failed_at": now,
                    "resolved": False,
                }
            )
        with self.engine.begin() as conn:
            write_many(conn, failed_records, params)
        return len(params)

    def unresolved_failures(self, stage: str | None = None) -> list[dict]:
        """Open failures, oldest first, optionally of one stage."""
        c = failed_records.c
        stmt = select(failed_records).where(c.resolved.is_(False))
        if stage is not None:
            stmt = stmt.where(c.stage == stage)
        stmt = stmt.order_by(c.failed_at, c.record_id, c.stage, c.failure_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(stmt)]

    def resolve_failures(self, record_ids: Sequence[str], stage: str | None = None) -> int:
        """Close the open failures of these records; returns how many were closed."""
        c = failed_records.c
        with self.engine.begin() as conn:
            stmt = update(failed_records).where(c.resolved.is_(False), ids_match(conn, c.record_id))
            if stage is not None:
                stmt = stmt.where(c.stage == stage)
            stmt = stmt.values(resolved=True, resolved_at=utcnow())
            return sum(result.rowcount for result in execute_by_ids(conn, stmt, record_ids))
