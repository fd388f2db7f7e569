"""Alerting after a reconciliation: one alert per open problem, a notice when it clears.

``dispatch_alerts`` reads the firing problems from a ``reconcile()`` result
(``stages.alert_rules``), compares them with the open problems of the
``AlertLedger`` and tells every channel:

- a problem that is new (or open again after clearing): a trigger to every channel;
- a problem still open: nothing, unless a channel has not taken its trigger
  yet (it failed last time, or the channel is new): then that channel only;
- an open problem no longer firing: a resolution notice to every channel
  that holds it; ``resolved_at`` is set once none holds it any more. Only a
  result that ran the checks the problem needs can clear it (a daily run
  leaves a weekly PII alert open): otherwise it is reported as unmeasured.

One channel failing never stops the others; it is reported and retried on
the next run. ``build_channels`` turns ``[[alerts.channels]]`` tables of the
configuration file into channel blocks, with the same ``<field>_env``
indirection as ``flows.config``.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from blocks.alert_channel import AlertChannel
from blocks.alert_ledger import AlertLedger, ProblemState
from blocks.errors import PipelineBlockError
from stages.alert_rules import Alert, AlertSettings, checks_run, firing_problems, resolve_alert, trigger_alert

__all__ = ["ALERT_CHANNEL_TYPES", "Delivery", "DispatchReport", "build_channels", "dispatch_alerts"]

log = logging.getLogger(__name__)

#: ``type`` of an ``[[alerts.channels]]`` table -> "module:Class".
ALERT_CHANNEL_TYPES: dict[str, str] = {
    "slack": "blocks.alert_slack:SlackWebhookChannel",
    "pagerduty": "blocks.alert_pagerduty:PagerDutyChannel",
    "email": "blocks.alert_email:EmailChannel",
    "webhook": "blocks.alert_webhook:WebhookChannel",
}


@dataclass(frozen=True)
class Delivery:
    """One attempt to tell one channel about one problem."""

    channel: str
    key: str
    kind: str
    ok: bool
    error: str | None = None


@dataclass
class DispatchReport:
    """What one dispatch found and sent."""

    firing: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    still_open: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    resolving: list[str] = field(default_factory=list)
    unmeasured: list[str] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def sent(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.ok]

    @property
    def failed(self) -> list[Delivery]:
        return [d for d in self.deliveries if not d.ok]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["sent"], out["failed"] = len(self.sent), len(self.failed)
        return out


def _deliver(channel: AlertChannel, alert: Alert, state: ProblemState, report: DispatchReport,
             now: datetime) -> None:
    name = channel.channel_name
    try:
        channel.send(alert)
        error = None
    except PipelineBlockError as exc:  # our own messages: channel and host, never a secret
        error = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a bug in one channel must not silence the others
        error = f"{type(exc).__name__} (unexpected; message withheld)"
    if error:
        log.warning("alert %s %s not delivered to %s: %s", alert.kind, alert.key, name, error)
    state.record(name, alert.kind, error, now)
    report.deliveries.append(Delivery(name, alert.key, alert.kind, error is None, error))


def dispatch_alerts(
    result: Mapping[str, Any],
    channels: Sequence[AlertChannel],
    ledger: AlertLedger,
    settings: AlertSettings | None = None,
    *,
    run_id: str | None = None,
    now: datetime | None = None,
) -> DispatchReport:
    """Send what ``result`` calls for: triggers for new problems, notices for cleared ones."""
    settings = settings or AlertSettings()
    names = [c.channel_name for c in channels]
    if len(set(names)) != len(names):
        raise ValueError(f"alert channels need distinct labels, got {names}")
    now = now or ledger.now()
    if now.tzinfo is not None:  # the ledger stores naive UTC; dedup keys must not shift on reload
        now = now.astimezone(UTC).replace(tzinfo=None)
    run_id = run_id or result.get("run_id")
    ledger.ensure_schema()
    firing = firing_problems(result, settings)
    measured = checks_run(result)
    open_now = ledger.open_problems()
    report = DispatchReport(firing=list(firing))
    changed: list[ProblemState] = []

    for key, problem in firing.items():
        state = open_now.get(key)
        if state is None:
            state = ProblemState(key, problem.rule, problem.severity, opened_at=now, last_seen_at=now)
            report.opened.append(key)
        else:
            state.last_seen_at = now
            report.still_open.append(key)
        alert = trigger_alert(problem, opened_at=state.opened_at, run_id=run_id)
        state.severity, state.alert, state.needs = problem.severity, alert.as_dict(), list(problem.needs)
        for channel in channels:
            if not state.holds(channel.channel_name):
                _deliver(channel, alert, state, report, now)
        changed.append(state)

    for key, state in open_now.items():
        if key in firing:
            continue
        if not measured.issuperset(state.needs):
            report.unmeasured.append(key)
            continue
        notice = resolve_alert(Alert.from_dict(state.alert), resolved_at=now, run_id=run_id)
        for channel in channels:
            if state.holds(channel.channel_name):
                _deliver(channel, notice, state, report, now)
        if any(state.holds(name) for name in names):
            report.resolving.append(key)
        else:
            state.resolved_at = now
            state.alert = notice.as_dict()
            report.resolved.append(key)
        changed.append(state)

    ledger.save(changed)
    if report.failed:
        log.warning("%d of %d alert deliveries failed; they are retried on the next run",
                    len(report.failed), len(report.deliveries))
    return report


def _config_error(message: str) -> Exception:
    from flows.config import ConfigError  # flows.config may import this module

    return ConfigError(message)


def build_channels(tables: Sequence[Mapping[str, Any]], base_env: Mapping[str, str] = os.environ) -> list[AlertChannel]:
    """Channel blocks from ``[[alerts.channels]]`` tables.

    Each table has a ``type`` (slack, pagerduty, email, webhook), an optional
    ``name`` (its label; default the type, then ``<type>-2``, ...) and the
    block's fields; ``<field>_env = "VAR"`` takes the field from ``base_env``.
    """
    channels: list[AlertChannel] = []
    seen: set[str] = set()
    for i, table in enumerate(tables):
        where = f"alerts.channels[{i}]"
        kind = table.get("type")
        if kind not in ALERT_CHANNEL_TYPES:
            raise _config_error(f"[{where}] type {kind!r} is unknown; known types: "
                                f"{', '.join(sorted(ALERT_CHANNEL_TYPES))}")
        module, cls_name = ALERT_CHANNEL_TYPES[kind].split(":")
        cls = getattr(importlib.import_module(module), cls_name)
        fields: dict[str, Any] = {}
        for key, value in table.items():
            if key in ("type", "name"):
                continue
            if key.endswith("_env"):
                if str(value) not in base_env:
                    raise _config_error(f"[{where}] {key} names environment variable {str(value)!r}, which is not set")
                fields[key[: -len("_env")]] = base_env[str(value)]
            else:
                fields[key] = value
        unknown = sorted(set(fields) - set(cls.model_fields) - {"label"})
        if unknown:  # blocks accept extra fields silently; a typo here would lose a setting
            raise _config_error(f"[{where}] {kind} channels have no field(s) {unknown}; known: "
                                f"{', '.join(sorted(set(cls.model_fields) - {'label'}))}")
        label = str(table.get("name") or kind)
        if label in seen:
            if table.get("name"):
                raise _config_error(f"[{where}] name {label!r} is used by another alert channel")
            label = next(f"{kind}-{n}" for n in range(2, len(tables) + 2) if f"{kind}-{n}" not in seen)
        seen.add(label)
        try:
            channels.append(cls(label=label, **fields))
        except Exception as exc:  # pydantic names the field; SecretStr inputs are not echoed
            raise _config_error(f"[{where}] {type(exc).__name__}: {_field_errors(exc)}") from None
    return channels


def _field_errors(exc: Exception) -> str:
    """Which fields were wrong and why, without the values given (they may be secrets)."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return type(exc).__name__
    return "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in errors())
