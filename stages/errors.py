"""Errors the stages raise on purpose.

    StageError
    ├── ContractViolation       staging data breaks the contract so the run cannot go on
    │   └── MissingColumn       a required column is absent (names table and column)
    ├── CheckpointInvalid       a checkpoint fails its pandera schema (names file and column)
    ├── RunLocked               another run holds the pipeline lock
    └── NothingToResume         --resume names a run without usable checkpoints

Row-level problems (a null Id, an unparseable timestamp) are not exceptions:
those rows are quarantined into ``failed_records`` and the run goes on.
"""

from __future__ import annotations

__all__ = [
    "StageError",
    "ContractViolation",
    "MissingColumn",
    "CheckpointInvalid",
    "RunLocked",
    "NothingToResume",
]


class StageError(Exception):
    """Base of every error a stage raises on purpose."""


class ContractViolation(StageError, ValueError):
    """Staging data breaks the contract in a way no quarantine can absorb."""


class MissingColumn(ContractViolation):
    def __init__(self, table: str, column: str, present: list[str] | None = None):
        self.table = table
        self.column = column
        shown = ", ".join(sorted(present or [])[:12])
        super().__init__(
            f"staging table {table!r} has no required column {column!r}"
            + (f" (columns present: {shown}{', ...' if present and len(present) > 12 else ''})" if present else "")
        )


class CheckpointInvalid(StageError, ValueError):
    def __init__(self, path: str, detail: str):
        self.path = path
        super().__init__(f"checkpoint {path} does not match its schema: {detail}")


class RunLocked(StageError, RuntimeError):
    def __init__(self, lock: str, holder: dict | None):
        self.holder = holder
        who = f"run {holder.get('owner')} since {holder.get('acquired_at')}" if holder else "another run"
        super().__init__(
            f"pipeline lock {lock!r} is held by {who}; "
            "wait for it to finish (or pass --wait), it expires on its own if that run died"
        )


class NothingToResume(StageError, LookupError):
    pass
