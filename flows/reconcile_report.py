"""The reconciliation report people read: Markdown for Prefect, the same facts for the terminal."""

from __future__ import annotations

import logging

__all__ = ["render_markdown", "publish_markdown"]

log = logging.getLogger(__name__)


def render_markdown(result: dict) -> str:
    c = result["counts"]
    lines = ["# Case pipeline reconciliation", "", "## Stage funnel", "", "| stage | count |", "|---|---:|",
             f"| staging live cases | {c['source_cases']} |", f"| lineage tracked | {c['lineage_tracked']} |"]
    for stage, n in sorted(c["lineage_by_stage"].items()):
        lines.append(f"| lineage at `{stage}` | {n} |")
    lines += [f"| lineage completed | {c['lineage_completed']} |", f"| store objects | {c['store_count']} |", ""]
    lines += ["## Discrepancies", ""]
    if result["discrepancies"]:
        lines += ["| severity | type | detail |", "|---|---|---|"]
        lines += [f"| {d['severity']} | {d['type']} | {d['detail']} |" for d in result["discrepancies"]]
    else:
        lines.append("None.")
    repair = result.get("repair")
    lines += ["", "## Recovery", "", "Not requested (report only)." if repair is None else
              f"Deleted {repair['deleted']}, recovered {repair['recovered']}, failed {repair['recovery_failed']}"
              + (f"; deferred: {repair['deferred']}" if repair.get("deferred") else "") + "."]
    alerts = result.get("alerts")
    if alerts is not None:
        lines += ["", "## Alerts", "",
                  f"Firing: {', '.join(alerts['firing']) or 'none'}; newly opened: {', '.join(alerts['opened']) or 'none'}; "
                  f"resolved: {', '.join(alerts['resolved']) or 'none'}; deliveries sent {alerts['sent']}, "
                  f"failed {alerts['failed']}."]
    orphans = c.get("orphans", {})
    lines += ["", "## Join coverage", "", "| child table | live rows | orphans |", "|---|---:|---:|"]
    for table, n in orphans.items():
        lines.append(f"| {table} | {c.get('source_' + table, '')} | {n} |")
    return "\n".join(lines) + "\n"


def publish_markdown(result: dict) -> None:
    """A Prefect markdown artifact when running inside a flow; nothing otherwise."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None:
        return
    create_markdown_artifact(markdown=render_markdown(result), key="case-reconciliation",
                             description="Stage funnel, discrepancies, recovery and join coverage")
