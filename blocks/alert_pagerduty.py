"""Pipeline alerts as PagerDuty incidents through the Events API v2.

A trigger and its resolution share ``dedup_key``, so PagerDuty keeps one
incident per open problem. The routing key is the credential: a
``SecretStr``, masked in logs and error messages.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from blocks.alert_channel import ALERT_SOURCE, AlertMessage, utc_iso
from blocks.alert_http import HttpAlertChannel

__all__ = ["PAGERDUTY_EVENTS_URL", "PAGERDUTY_SEVERITY", "PagerDutyChannel"]

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
#: Our severities to PagerDuty's (critical, error, warning, info).
PAGERDUTY_SEVERITY = {"critical": "critical", "high": "error", "medium": "warning"}


class PagerDutyChannel(HttpAlertChannel):
    """Incidents in PagerDuty through the Events API v2.

    A trigger and its resolution share ``dedup_key``, so PagerDuty opens one
    incident per open problem and closes it when the problem clears.

    Example:
        ```python
        from blocks.alert_pagerduty import PagerDutyChannel

        PagerDutyChannel.load("oncall").send(alert)
        ```
    """

    _block_type_name = "PagerDuty Alert Channel"
    _description = "Pipeline alerts as PagerDuty incidents (Events API v2, trigger and resolve)."
    _kind = "PagerDuty"

    routing_key: SecretStr = Field(description="Integration (routing) key of the service; give it as routing_key_env.")
    events_url: str = Field(default=PAGERDUTY_EVENTS_URL, description="Events API v2 enqueue URL.")
    source: str = Field(default=ALERT_SOURCE, description="payload.source: the system the problem is in.")
    component: str = Field(default="reconciliation", description="payload.component.")

    def _target(self) -> str:
        return self.events_url

    def _secrets(self) -> list[str]:
        return [self.routing_key.get_secret_value()]

    def payload(self, alert: AlertMessage) -> dict:
        """The Events API v2 event for ``alert``."""
        event = {"routing_key": self.routing_key.get_secret_value(), "dedup_key": alert.dedup_key}
        if alert.kind == "resolve":
            return {**event, "event_action": "resolve"}
        return {**event, "event_action": "trigger", "client": ALERT_SOURCE, "payload": {
            "summary": alert.title[:1024],
            "source": self.source,
            "severity": PAGERDUTY_SEVERITY.get(alert.severity, "error"),
            "timestamp": utc_iso(alert.opened_at),
            "component": self.component,
            "group": "case-pipeline",
            "class": alert.rule,
            "custom_details": {"problem": alert.key, "counts": dict(alert.counts),
                               "sample_ids": list(alert.sample_ids), "run_id": alert.run_id},
        }}

    def send(self, alert: AlertMessage) -> None:
        self._post(self.payload(alert))
