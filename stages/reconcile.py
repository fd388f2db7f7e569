"""Reconcile (counts): staging, lineage and the store should tell one story.

Counts are taken set-wise (DuckDB over staging, one grouped query on
lineage, the store's own count) and compared with the checks of the original
design, with its bug fixed: the source count it compares is actually set.

- ``staging_to_lineage_gap``: live staging cases that lineage does not track;
- ``pipeline_attrition``: completed share of tracked cases under the threshold;
- ``store_lineage_mismatch``: lineage's completed records vs objects stored
  (skipped when the store could not be counted: it is down, its loads queued).

Records waiting in the load queue (status ``load_pending``) are their own
figure, ``lineage_pending``: not completed, but neither lost nor stuck.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import duckdb

from schemas.staging import CHILD_TABLES, TABLES
from stages.extract import count_orphans
from stages.sql_text import CASE_CHILD_PARENTS

__all__ = ["CountReport", "Discrepancy", "staging_counts", "compare_counts"]


@dataclass(frozen=True)
class Discrepancy:
    type: str
    severity: str
    expected: float
    actual: float
    gap: float
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class CountReport:
    counts: dict
    discrepancies: list[Discrepancy] = field(default_factory=list)

    @property
    def critical(self) -> bool:
        return any(d.severity == "critical" for d in self.discrepancies)

    def as_dict(self) -> dict:
        return {"counts": self.counts, "discrepancies": [d.as_dict() for d in self.discrepancies]}


def staging_counts(con: duckdb.DuckDBPyConnection) -> dict:
    """Live rows per staging table and orphans per child table (needs ``chk_*`` views)."""
    live = "NOT coalesce(IsDeleted, false) AND Id IS NOT NULL"
    out = {"source_cases": con.execute(f"SELECT count(DISTINCT Id) FROM chk_case WHERE {live}").fetchall()[0][0]}
    out["source_cases_deleted"] = con.execute(
        "SELECT count(DISTINCT Id) FROM chk_case WHERE coalesce(IsDeleted, false)").fetchall()[0][0]
    for table in CHILD_TABLES:
        out[f"source_{table}"] = con.execute(f"SELECT count(*) FROM chk_{table} WHERE {live}").fetchall()[0][0]
    out["orphans"] = count_orphans(con)
    return out


def compare_counts(
    source: dict, lineage_rows: list[dict], store_count: int | None, *, completion_threshold: float = 0.95,
    gap_critical: int = 1000,
) -> CountReport:
    """Counts per stage and the discrepancies between them."""
    by_status: dict[str, int] = {}
    by_stage: dict[str, int] = {}
    for row in lineage_rows:
        by_status[row["status"]] = by_status.get(row["status"], 0) + row["count"]
        by_stage[row["stage"]] = by_stage.get(row["stage"], 0) + row["count"]
    tracked = sum(v for k, v in by_status.items() if k != "deleted")
    completed = by_status.get("completed", 0)
    counts = {
        **source,
        "lineage_by_status": by_status,
        "lineage_by_stage": by_stage,
        "lineage_tracked": tracked,
        "lineage_completed": completed,
        "lineage_pending": by_status.get("load_pending", 0),
        "store_count": store_count,
    }
    report = CountReport(counts)
    gap = source["source_cases"] - tracked
    if gap:
        report.discrepancies.append(Discrepancy(
            "staging_to_lineage_gap", "critical" if abs(gap) > gap_critical else ("high" if abs(gap) > 100 else "medium"),
            source["source_cases"], tracked, gap,
            f"{gap} live staging cases are not tracked in lineage" if gap > 0
            else f"lineage tracks {-gap} cases more than staging holds live",
        ))
    rate = completed / tracked if tracked else 1.0
    counts["completion_rate"] = round(rate, 6)
    if rate < completion_threshold:
        report.discrepancies.append(Discrepancy(
            "pipeline_attrition", "high", completion_threshold, round(rate, 6), tracked - completed,
            f"{tracked - completed} of {tracked} tracked cases are not completed"
            + (f" ({counts['lineage_pending']} of them waiting in the load queue)" if counts["lineage_pending"] else ""),
        ))
    store_gap = completed - store_count if store_count is not None else 0
    if store_gap:
        report.discrepancies.append(Discrepancy(
            "store_lineage_mismatch", "critical" if abs(store_gap) > gap_critical else "medium",
            completed, store_count, store_gap,
            f"lineage says {completed} completed, the store holds {store_count} objects",
        ))
    return report


assert set(TABLES) >= set(CASE_CHILD_PARENTS)
