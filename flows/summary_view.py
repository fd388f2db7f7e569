"""Text a person reads: the run summary and the reconciliation report."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

__all__ = ["print_run_summary", "print_count_report", "print_search_hits"]

_STAGE_ROWS = ("extract", "compose", "changes", "redact", "embed", "load")


def _console() -> Console:
    """Piped output gets a fixed width wide enough for the stage table (rich assumes 80)."""
    return Console() if sys.stdout.isatty() else Console(width=120)


def print_run_summary(summary: dict, console: Console | None = None) -> None:
    console = console or _console()
    table = Table(title=f"Run {summary['run_id']}  [{summary['window_start']} .. {summary['window_end']})")
    for col in ("stage", "selected", "processed", "skipped unchanged", "deleted", "quarantined", "failed", "seconds"):
        table.add_column(col, justify="right" if col != "stage" else "left")
    for name in _STAGE_ROWS:
        st = summary["stages"].get(name)
        if st is None:
            continue
        table.add_row(
            name,
            _n(st.get("selected")),
            _n(st.get("processed", st.get("selected") if name == "extract" else None)),
            _n(st.get("skipped_unchanged")),
            _n(st.get("deleted") if name in ("changes", "load") else None),
            _n(st.get("quarantined")),
            _n(st.get("failed")),
            f"{st.get('seconds', 0):.2f}",
        )
    console.print(table)
    if summary["processed"] == 0:
        console.print(f"Nothing to do: {summary['selected']} cases in the window, all unchanged since their last load.")
    else:
        console.print(
            f"Loaded {summary['loaded']} cases ({summary['embedded_fallback']} on the fallback model), "
            + (f"queued {summary['queued']} for the vector store (it was unavailable; `drain` loads them), "
               if summary.get("queued") else "")
            + f"deleted {summary['deleted']}, skipped {summary['skipped_unchanged']} unchanged, "
            f"quarantined {summary['quarantined']} rows, failed {summary['failed']}."
        )
    orphans = {k: v for k, v in summary.get("orphans", {}).items() if v}
    if orphans:
        console.print("Orphan child rows in the window: " + ", ".join(f"{k} {v}" for k, v in orphans.items()))
    print_count_report(summary["reconciliation"], console)


def print_count_report(report: dict, console: Console | None = None) -> None:
    console = console or _console()
    c = report["counts"]
    console.print(
        f"Reconciliation: staging {c['source_cases']} live cases, lineage {c['lineage_completed']} completed "
        f"of {c['lineage_tracked']} tracked, store {c['store_count'] if c['store_count'] is not None else 'unavailable, no'} objects."
    )
    if not report["discrepancies"]:
        console.print("[green]No discrepancies.[/green]")
    for d in report["discrepancies"]:
        console.print(f"[{'red' if d['severity'] == 'critical' else 'yellow'}]{d['severity']}[/]: {d['type']}: {d['detail']}")


def print_search_hits(hits: list, console: Console | None = None) -> None:
    console = console or _console()
    table = Table()
    for col in ("case number", "subject", "score", "vector"):
        table.add_column(col)
    for hit, vector in hits:
        table.add_row(str(hit.properties.get("case_number")), str(hit.properties.get("subject") or "")[:80],
                      f"{hit.score:.3f}", vector)
    console.print(table)


def _n(value) -> str:
    return "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)
