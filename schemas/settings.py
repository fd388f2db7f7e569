"""Typed run parameters: the date window and the knobs that change per run.

Blocks hold shared or secret configuration; these values are flow
parameters (and the ``[pipeline]`` table of the configuration file).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pydantic import BaseModel, Field, model_validator

from schemas.staging import DEFAULT_TASK_TYPES

__all__ = ["DateWindow", "PipelineSettings", "utc_naive"]


def utc_naive(value: datetime) -> datetime:
    """Staging timestamps are naive UTC; convert aware datetimes to that."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


class DateWindow(BaseModel):
    """Half-open window ``[start, end)`` over ``LastModifiedDate``."""

    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> "DateWindow":
        self.start = utc_naive(self.start)
        self.end = utc_naive(self.end)
        if self.start >= self.end:
            raise ValueError(f"window start {self.start.isoformat()} must be before end {self.end.isoformat()}")
        return self


class PipelineSettings(BaseModel):
    """What a run may tune without touching blocks."""

    batch_size: int = Field(5_000, ge=1, description="Cases per batch in streaming stages.")
    embed_batch_size: int = Field(256, ge=1, description="Texts per embedding request.")
    load_batch_size: int = Field(
        5_000, ge=1,
        description=(
            "Objects per vector-store upsert: the unit the load stage confirms, and queues during an outage. "
            "Weaviate splits it into its own batch requests (``[store] batch_size``); the embedded store "
            "commits it as one transaction and one vector segment (fewer, larger commits load faster)."
        ),
    )
    max_text_chars: int = Field(24_000, ge=100, description="Composite text is truncated to this many characters.")
    task_types: tuple[str, ...] = Field(DEFAULT_TASK_TYPES, description="Task.Type values that contribute text.")
    overlap: timedelta = Field(timedelta(hours=2), description="Re-read this much before the high-water mark (late rows).")
    initial_start: datetime = Field(datetime(2000, 1, 1), description="Window start when no run has succeeded yet.")
    retention_days: int = Field(14, ge=0, description="Run checkpoints older than this are pruned.")
    lock_ttl_seconds: float = Field(6 * 3600, gt=0, description="A lock older than this is considered abandoned.")
    duckdb_memory_limit: str = Field("1GB", description="Memory cap for DuckDB work (it spills to disk beyond).")
