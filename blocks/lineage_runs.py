"""Pipeline runs and the run lock: the part of ``LineageStore`` about runs, not cases.

``pipeline_runs`` remembers each run's date window and high-water mark, so
the next incremental run knows where to start; ``pipeline_locks`` is a lease
so two runs never write the same store at once. ``LineageStore`` inherits
these methods; they only need its ``engine``.
"""

from __future__ import annotations

from sqlalchemy import case, or_, select, update

from blocks.lineage_sql import insert_for, lease_end, lease_now, upsert_one
from blocks.lineage_tables import pipeline_locks, pipeline_runs, utcnow

__all__ = ["RunLedger", "RUN_STATUSES"]

RUN_STATUSES = ("running", "completed", "failed")


class RunLedger:
    """Runs and leases over ``self.engine``, which ``LineageStore`` provides.

    A plain mixin, not a model: an annotation here would become a block field.
    """

    def start_run(self, run_id: str, *, flow_name: str, window_start, window_end, parameters: dict) -> None:
        """Record a run as ``running`` (a retried flow run with the same id restarts it)."""
        row = {
            "run_id": run_id,
            "flow_name": flow_name,
            "started_at": utcnow(),
            "finished_at": None,
            "status": "running",
            "window_start": window_start,
            "window_end": window_end,
            "parameters": parameters,
        }
        with self.engine.begin() as conn:
            upsert_one(conn, pipeline_runs, row, ["run_id"])

    def finish_run(self, run_id: str, *, status: str, high_water_mark=None, summary: dict | None = None) -> None:
        """Close a run as ``completed`` or ``failed``, with its high-water mark."""
        if status not in RUN_STATUSES[1:]:
            raise ValueError(f"pipeline_runs.status must be 'completed' or 'failed', got {status!r}")
        stmt = (
            update(pipeline_runs)
            .where(pipeline_runs.c.run_id == run_id)
            .values(status=status, finished_at=utcnow(), high_water_mark=high_water_mark, summary=summary)
        )
        with self.engine.begin() as conn:
            if conn.execute(stmt).rowcount != 1:
                raise LookupError(f"pipeline_runs has no run_id {run_id!r}; call start_run first")

    def get_run(self, run_id: str) -> dict | None:
        """The ``pipeline_runs`` row of ``run_id``, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(pipeline_runs).where(pipeline_runs.c.run_id == run_id)).first()
        return dict(row._mapping) if row else None

    def last_successful_run(self, flow_name: str) -> dict | None:
        """The latest completed run of ``flow_name`` by ``finished_at``, or None."""
        c = pipeline_runs.c
        stmt = (
            select(pipeline_runs)
            .where(c.flow_name == flow_name, c.status == "completed")
            .order_by(c.finished_at.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return dict(row._mapping) if row else None

    # ----------------------------------------------------------------- locks

    def acquire_lock(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Take the lease ``name`` for ``ttl_seconds``; True if ``owner`` now holds it.

        One atomic statement: insert, or on conflict take over only if the
        lease expired (or ``owner`` already holds it, which extends it). Both
        databases serialise the conflicting rows, so of two racing processes
        exactly one gets the row back from ``RETURNING`` (``rowcount`` is not
        reliable for INSERT).
        """
        c = pipeline_locks.c
        with self.engine.begin() as conn:
            now = lease_now(conn)
            stmt = insert_for(conn, pipeline_locks).values(
                name=name, owner=owner, acquired_at=now, expires_at=lease_end(conn, now, ttl_seconds)
            )
            new = stmt.excluded
            stmt = stmt.on_conflict_do_update(
                index_elements=["name"],
                set_={
                    "owner": new.owner,
                    "acquired_at": case((c.owner == new.owner, c.acquired_at), else_=new.acquired_at),
                    "expires_at": new.expires_at,
                },
                where=or_(c.expires_at < now, c.owner == new.owner),
            ).returning(c.owner)
            return conn.execute(stmt).scalar_one_or_none() == owner

    def refresh_lock(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Extend a lease ``owner`` still holds; False if someone took it over."""
        c = pipeline_locks.c
        with self.engine.begin() as conn:
            stmt = (
                update(pipeline_locks)
                .where(c.name == name, c.owner == owner)
                .values(expires_at=lease_end(conn, lease_now(conn), ttl_seconds))
            )
            return conn.execute(stmt).rowcount == 1

    def release_lock(self, name: str, owner: str) -> None:
        """Give the lease up; a no-op if ``owner`` no longer holds it."""
        c = pipeline_locks.c
        with self.engine.begin() as conn:
            conn.execute(pipeline_locks.delete().where(c.name == name, c.owner == owner))

    def lock_holder(self, name: str) -> dict | None:
        """name, owner, acquired_at, expires_at and ``expired`` (by the lease clock), or None."""
        c = pipeline_locks.c
        with self.engine.connect() as conn:
            expired = (c.expires_at < lease_now(conn)).label("expired")
            row = conn.execute(select(pipeline_locks, expired).where(c.name == name)).first()
        return {**row._mapping, "expired": bool(row.expired)} if row else None
