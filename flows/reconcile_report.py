"""The reconciliation report people read: Markdown for Prefect, the same facts for the terminal."""

from __future__ import annotations

import logging

__all__ = ["render_markdown", "publish_markdown", "recovery_lines"]

log = logging.getLogger(__name__)


_PATHS = (("resumed_from_checkpoint", "resumed from their run's checkpoints"),
          ("recomposed", "recomposed from staging"))


def recovery_lines(repair: dict | None) -> list[str]:
    """What a repair did, per recovery path: the same sentences for Markdown and the terminal."""
    if repair is None:
        return ["Not requested (report only)."]
    lines = [f"Deleted {repair['deleted']}, recovered {repair['recovered']}, failed {repair['recovery_failed']}"
             + (f"; deferred: {repair['deferred']}" if repair.get("deferred") else "") + "."]
    for key, label in _PATHS:
        p = repair.get(key)
        if p and p["cases"]:
            lines.append(f"- {p['cases']} cases {label}: {p['recovered']} recovered, {p['failed']} failed "
                         f"({len(p['runs'])} recovery runs).")
    lines += [f"- recovery run failed: {e}" for e in repair.get("errors") or []]
    return lines


def render_markdown(result: dict) -> str:
    c = result["counts"]
    lines = ["# Case pipeline reconciliation", "", "## Stage funnel", "", "| stage | count |", "|---|---:|",
             f"| staging live cases | {c['source_cases']} |", f"| lineage tracked | {c['lineage_tracked']} |"]
    for stage, n in sorted(c["lineage_by_stage"].items()):
        lines.append(f"| lineage at `{stage}` | {n} |")
    lines += [f"| lineage completed | {c['lineage_completed']} |", f"| store objects | {c['store_count'] if c['store_count'] is not None else 'unavailable'} |", ""]
    lines += ["## Discrepancies", ""]
    if result["discrepancies"]:
        lines += ["| severity | type | detail |", "|---|---|---|"]
        lines += [f"| {d['severity']} | {d['type']} | {d['detail']} |" for d in result["discrepancies"]]
    else:
        lines.append("None.")
    lines += ["", "## Recovery", "", *recovery_lines(result.get("repair"))]
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
