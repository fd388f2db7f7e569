"""Alert rules: which problems a reconciliation result shows, as pure data.

The rules of the original design (section 4.6.1), with their thresholds in
``AlertSettings`` (the ``[alerts]`` table of the configuration file):

- ``HighPipelineAttrition`` (high): ``counts["completion_rate"]`` < 0.95;
- ``CriticalRecordGap`` (critical): the largest ``|gap|`` of a gap discrepancy > 1000;
- ``PIILeakageDetected`` (critical): ``counts["pii_leaks"]`` > 0 (deep reconciliation);
- ``ContentCorruption`` (high): ``counts["corruption_rate"]`` > 0.01;
- ``LoadQueueBacklog`` (high, not in the original): the oldest store write
  waiting in the outage queue has waited over 6 h (the drain is not getting
  through, or the store is still down);
- ``CriticalDiscrepancy`` (critical): any other discrepancy of severity ``critical``.

A firing ``Problem`` has a stable ``key`` (the rule name, or
``CriticalDiscrepancy:<type>``), so the dispatcher can send one alert per open
problem rather than one per run. Problems and ``Alert``s carry numbers and
record ids only: never free text from the result (a ``detail`` string is not
copied), never a secret. Ids that do not look like record ids are dropped.

Not every reconciliation measures everything: the daily run has no PII scan,
a counts-only run has no diff. ``checks_run`` names what a result measured
(``result["checks"]`` when the caller says so, else inferred from its counts),
and each problem records the checks it ``needs``: a problem is only cleared by
a result that ran them, so a daily run never "resolves" a weekly PII alert.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Alert",
    "AlertKind",
    "AlertSettings",
    "Finding",
    "Problem",
    "Rule",
    "RULES",
    "Severity",
    "checks_run",
    "firing_problems",
    "resolve_alert",
    "trigger_alert",
]

Severity = Literal["critical", "high", "medium"]
AlertKind = Literal["trigger", "resolve"]

_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2}
#: What a record id (a Salesforce Id, a UUID) looks like; anything else (an
#: address, a name, a sentence) never reaches an alert.
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TYPE = re.compile(r"[a-z0-9_]{1,64}")


class AlertSettings(BaseModel):
    """Alert thresholds (the ``[alerts]`` table, less its ``channels``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    completion_rate_min: float = Field(
        0.95, ge=0, le=1, description="HighPipelineAttrition fires when completed/tracked is below this.")
    record_gap_max: int = Field(
        1000, ge=0, description="CriticalRecordGap fires when the largest gap between stages exceeds this.")
    record_gap_types: tuple[str, ...] = Field(
        ("staging_to_lineage_gap", "store_lineage_mismatch", "missing_from_store"),
        description="Discrepancy types whose |gap| counts as a record gap between stages.")
    pii_leaks_max: int = Field(
        0, ge=0, description="PIILeakageDetected fires when counts.pii_leaks exceeds this.")
    corruption_rate_max: float = Field(
        0.01, ge=0, le=1, description="ContentCorruption fires when counts.corruption_rate exceeds this.")
    load_queue_age_hours_max: float = Field(
        6.0, ge=0, description="LoadQueueBacklog fires when the oldest queued store write waited longer than this.")
    critical_discrepancies: bool = Field(
        True, description="Alert on every critical discrepancy no other rule already covers.")
    max_sample_ids: int = Field(10, ge=0, le=100, description="Most record ids one alert carries.")


@dataclass(frozen=True)
class Problem:
    """A problem the latest reconciliation shows; ``key`` identifies it across runs."""

    key: str
    rule: str
    severity: Severity
    title: str
    counts: Mapping[str, float] = field(default_factory=dict)
    sample_ids: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Alert:
    """What a channel sends: counts and record ids, never PII or secrets.

    ``dedup_key`` is the same for every alert about one opening of a problem
    (its trigger, a retried trigger, its resolution) and differs once it has
    cleared and opened again.
    """

    key: str
    rule: str
    severity: Severity
    title: str
    counts: Mapping[str, float]
    sample_ids: tuple[str, ...]
    run_id: str | None
    opened_at: datetime
    kind: AlertKind = "trigger"
    resolved_at: datetime | None = None

    @property
    def dedup_key(self) -> str:
        return f"case-pipeline/{self.key}/{self.opened_at:%Y%m%dT%H%M%S.%f}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO strings, ids as a list."""
        out = asdict(self)
        out["counts"] = dict(self.counts)
        out["sample_ids"] = list(self.sample_ids)
        out["opened_at"] = self.opened_at.isoformat()
        out["resolved_at"] = self.resolved_at.isoformat() if self.resolved_at else None
        out["dedup_key"] = self.dedup_key
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Alert":
        """The inverse of ``as_dict`` (extra keys are ignored)."""
        resolved = data.get("resolved_at")
        return cls(
            key=data["key"], rule=data["rule"], severity=data["severity"], title=data["title"],
            counts=dict(data.get("counts") or {}), sample_ids=tuple(data.get("sample_ids") or ()),
            run_id=data.get("run_id"), opened_at=datetime.fromisoformat(data["opened_at"]),
            kind=data.get("kind", "trigger"),
            resolved_at=datetime.fromisoformat(resolved) if resolved else None,
        )


@dataclass(frozen=True)
class Finding:
    """What a rule's check saw: numbers, ids and a title built from them."""

    title: str
    counts: dict[str, float]
    sample_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Rule:
    """One alert rule: a name, a severity, the check it needs and a pure test of the result."""

    name: str
    severity: Severity
    message: str
    needs: str
    check: Callable[[Mapping[str, Any], AlertSettings], Finding | None]


# ------------------------------------------------------------------ checks


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value


def _samples(counts: Mapping[str, Any], kind: str) -> list[str]:
    diff = counts.get("diff")
    ids = (diff.get("sample_ids") or {}).get(kind) if isinstance(diff, Mapping) else None
    return list(ids or [])


def _attrition(result: Mapping[str, Any], s: AlertSettings) -> Finding | None:
    counts = result.get("counts") or {}
    rate = _number(counts.get("completion_rate"))
    if rate is None or rate >= s.completion_rate_min:
        return None
    return Finding(
        f"Pipeline completion rate {rate:.2%} is below {s.completion_rate_min:.2%}",
        {"completion_rate": rate, "threshold": s.completion_rate_min,
         "lineage_tracked": counts.get("lineage_tracked"), "lineage_completed": counts.get("lineage_completed")},
    )


def _gaps(result: Mapping[str, Any], s: AlertSettings) -> dict[str, float]:
    gaps: dict[str, float] = {}
    for d in result.get("discrepancies") or []:
        gap = _number(d.get("gap"))
        if d.get("type") in s.record_gap_types and gap is not None:
            gaps[d["type"]] = max(gaps.get(d["type"], 0), abs(gap))
    return gaps


def _record_gap(result: Mapping[str, Any], s: AlertSettings) -> Finding | None:
    gaps = _gaps(result, s)
    if not gaps or max(gaps.values()) <= s.record_gap_max:
        return None
    worst = max(gaps, key=gaps.__getitem__)
    return Finding(
        f"Record gap of {gaps[worst]:,.0f} between stages ({worst}) exceeds {s.record_gap_max:,}",
        {"record_gap": gaps[worst], "threshold": s.record_gap_max, **{f"gap_{k}": v for k, v in gaps.items()}},
        _samples(result.get("counts") or {}, "missing_from_store"),
    )


def _pii_leaks(result: Mapping[str, Any], s: AlertSettings) -> Finding | None:
    counts = result.get("counts") or {}
    leaks = _number(counts.get("pii_leaks", 0)) or 0
    if leaks <= s.pii_leaks_max:
        return None
    return Finding(f"PII detected in {leaks:,.0f} processed records", {"pii_leaks": leaks},
                   list(counts.get("pii_leak_ids") or []))


def _corruption(result: Mapping[str, Any], s: AlertSettings) -> Finding | None:
    counts = result.get("counts") or {}
    rate = _number(counts.get("corruption_rate"))
    if rate is None or rate <= s.corruption_rate_max:
        return None
    deep = counts.get("deep")
    integrity = deep.get("integrity") if isinstance(deep, Mapping) else None
    integrity = integrity if isinstance(integrity, Mapping) else {}
    return Finding(
        f"Content corruption rate {rate:.2%} exceeds {s.corruption_rate_max:.2%}",
        {"corruption_rate": rate, "threshold": s.corruption_rate_max,
         "corrupted": integrity.get("corrupted"), "sampled": integrity.get("sampled")},
        list(integrity.get("sample_ids") or []),
    )


def _queue_backlog(result: Mapping[str, Any], s: AlertSettings) -> Finding | None:
    queue = (result.get("counts") or {}).get("load_queue")
    if not isinstance(queue, Mapping):
        return None
    age = _number(queue.get("oldest_age_hours"))
    if age is None or age <= s.load_queue_age_hours_max:
        return None
    return Finding(
        f"Store writes have waited {age:,.1f} h in the load queue (over {s.load_queue_age_hours_max:g} h)",
        {"oldest_age_hours": age, "threshold": s.load_queue_age_hours_max,
         "queued_rows": queue.get("rows"), "segments": queue.get("segments")},
        [],
    )


#: The rules of the original design, then the queue's; ``CriticalDiscrepancy`` follows them.
RULES: tuple[Rule, ...] = (
    Rule("HighPipelineAttrition", "high", "Pipeline completion rate below threshold", "counts", _attrition),
    Rule("CriticalRecordGap", "critical", "Large gap detected between stages", "counts", _record_gap),
    Rule("PIILeakageDetected", "critical", "PII detected in processed data", "pii", _pii_leaks),
    Rule("ContentCorruption", "high", "Data corruption detected in sampling", "corruption", _corruption),
    Rule("LoadQueueBacklog", "high", "Store writes waiting in the load queue too long", "counts", _queue_backlog),
)
#: What each check leaves in ``counts`` when it ran.
_CHECK_MARKS = {"counts": "completion_rate", "diff": "diff", "pii": "pii_leaks", "corruption": "corruption_rate"}


def checks_run(result: Mapping[str, Any]) -> frozenset[str]:
    """The checks ``result`` measured: ``result["checks"]``, or what its counts show."""
    if result.get("checks") is not None:
        return frozenset(result["checks"])
    counts = result.get("counts") or {}
    return frozenset(check for check, mark in _CHECK_MARKS.items() if mark in counts)


def _clean(finding: Finding, limit: int) -> tuple[dict[str, float], tuple[str, ...]]:
    counts = {k: v for k, v in finding.counts.items() if _number(v) is not None}
    ids = [i for i in finding.sample_ids if isinstance(i, str) and _ID.fullmatch(i)]
    return counts, tuple(dict.fromkeys(ids))[:limit]


def firing_problems(result: Mapping[str, Any], settings: AlertSettings) -> dict[str, Problem]:
    """The problems ``result`` (``reconcile()``'s dict) shows, most severe first, by key."""
    problems: list[Problem] = []
    for rule in RULES:
        finding = rule.check(result, settings)
        if finding is not None:
            counts, ids = _clean(finding, settings.max_sample_ids)
            problems.append(Problem(rule.name, rule.name, rule.severity, finding.title, counts, ids, (rule.needs,)))
    if settings.critical_discrepancies:
        # which check found a discrepancy is not recorded: only a run as thorough clears it
        needs = tuple(sorted(checks_run(result)))
        fired = {p.rule for p in problems}
        covered = set(settings.record_gap_types) if "CriticalRecordGap" in fired else set()
        for d in result.get("discrepancies") or []:
            kind = str(d.get("type", ""))
            if d.get("severity") != "critical" or kind in covered or not _TYPE.fullmatch(kind):
                continue
            numbers = {k: d.get(k) for k in ("expected", "actual", "gap")}
            counts, ids = _clean(Finding("", numbers, _samples(result.get("counts") or {}, kind)),
                                 settings.max_sample_ids)
            gap = counts.get("gap")
            title = f"Critical discrepancy {kind}" + (f": gap of {gap:,.0f}" if gap is not None else "")
            problems.append(Problem(f"CriticalDiscrepancy:{kind}", "CriticalDiscrepancy", "critical", title,
                                    counts, ids, needs))
    problems.sort(key=lambda p: _SEVERITY_ORDER[p.severity])
    return {p.key: p for p in problems}


def trigger_alert(problem: Problem, *, opened_at: datetime, run_id: str | None) -> Alert:
    """The trigger alert for an open ``problem`` opened at ``opened_at``."""
    return Alert(key=problem.key, rule=problem.rule, severity=problem.severity, title=problem.title,
                 counts=dict(problem.counts), sample_ids=problem.sample_ids, run_id=run_id,
                 opened_at=opened_at, kind="trigger")


def resolve_alert(last: Alert, *, resolved_at: datetime, run_id: str | None) -> Alert:
    """The resolution notice for the problem ``last`` was the latest trigger of."""
    return replace(last, kind="resolve", run_id=run_id, resolved_at=resolved_at)
