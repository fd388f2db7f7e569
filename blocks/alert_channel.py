"""Alert channels: where an alert about the pipeline goes.

``AlertChannel`` is the interface (one method, ``send``); each implementation
is a Prefect block in its own module:

- ``blocks.alert_slack.SlackWebhookChannel``: a Slack incoming webhook (Block Kit or plain text);
- ``blocks.alert_pagerduty.PagerDutyChannel``: PagerDuty Events API v2 (trigger and resolve by ``dedup_key``);
- ``blocks.alert_email.EmailChannel``: SMTP with STARTTLS, implicit TLS or neither (stdlib ``smtplib``);
- ``blocks.alert_webhook.WebhookChannel``: a generic JSON POST, optionally with a secret header.

The HTTP channels share ``blocks.alert_http.HttpAlertChannel``. Alerts are
rare, so each send opens and closes its own client: a channel holds no
connection between sends.

Errors, as subclasses of ``blocks.errors``::

    TransientServiceError
    └── AlertDeliveryFailed      retries exhausted: outage, 5xx, 429, timeout
    TerminalServiceError
    └── AlertChannelRejected     4xx, bad URL, bad credentials: fix the configuration

Secrets (webhook URLs, routing keys, passwords, secret headers) are
``SecretStr``: masked in ``repr``, absent from every error message (which
names the channel and host only), and masked in httpx's request log
(``masked_http_log``, ``url_secrets``).

``send`` takes any object shaped like ``stages.alert_rules.Alert`` (the
``AlertMessage`` protocol), so blocks never import stages. The text helpers
(``headline``, ``body_lines``, ``utc_iso``, ``format_number``) live here so
every channel words an alert the same way.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import stamina
from prefect.blocks.core import Block
from pydantic import Field

from blocks.errors import TerminalServiceError, TransientServiceError

__all__ = [
    "AlertChannel",
    "AlertMessage",
    "AlertDeliveryFailed",
    "AlertChannelRejected",
    # for channel implementations
    "ALERT_SOURCE",
    "body_lines",
    "format_number",
    "headline",
    "masked_http_log",
    "url_secrets",
    "utc_iso",
]

#: Who sends the alerts, as channels that carry a source name it (PagerDuty, webhook).
ALERT_SOURCE = "case-vector-pipeline"


class AlertDeliveryFailed(TransientServiceError, ConnectionError):
    """The channel did not take the alert (outage, 5xx, 429, timeout); a later run retries."""


class AlertChannelRejected(TerminalServiceError, ValueError):
    """The channel refused the alert (4xx, bad URL, bad credentials): its configuration needs a person."""


class AlertMessage(Protocol):
    """What a channel reads from an alert (``stages.alert_rules.Alert`` has it)."""

    key: str
    rule: str
    severity: str
    title: str
    counts: Mapping[str, float]
    sample_ids: tuple[str, ...]
    run_id: str | None
    opened_at: datetime
    kind: str
    resolved_at: datetime | None

    @property
    def dedup_key(self) -> str: ...

    def as_dict(self) -> dict[str, Any]: ...


class AlertChannel(Block, ABC):
    """Delivers alerts somewhere a person sees them.

    ``send`` returns once the channel has accepted the alert, or raises
    ``AlertDeliveryFailed`` (transient) or ``AlertChannelRejected`` (terminal).
    """

    label: str = Field(
        default="", description="Name of this channel in the alert ledger and reports; defaults to the block type.")
    timeout_s: float = Field(default=10.0, gt=0, description="Seconds to wait for one delivery attempt.")
    retry_attempts: int = Field(default=3, ge=1, description="Attempts before a delivery counts as failed.")
    retry_timeout_s: float = Field(default=30.0, gt=0, description="Most seconds spent retrying one alert.")

    @property
    def channel_name(self) -> str:
        return self.label or self.get_block_type_slug()

    @abstractmethod
    def send(self, alert: AlertMessage) -> None:
        """Deliver ``alert`` (a trigger or a resolution notice)."""

    def _retrying(self, on) -> Iterator:
        return stamina.retry_context(on=on, attempts=self.retry_attempts, timeout=self.retry_timeout_s,
                                     wait_initial=0.5, wait_max=5.0)


# ---------------------------------------------------------------- formatting


def utc_iso(value: datetime) -> str:
    """``value`` as ISO 8601 in UTC; a naive datetime is taken to be UTC already."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def format_number(value: float) -> str:
    """A count with thousands separators; fractions keep four significant digits."""
    return f"{value:,.4g}" if isinstance(value, float) and not value.is_integer() else f"{value:,.0f}"


def headline(alert: AlertMessage) -> str:
    """One line a person reads first: severity (or RESOLVED) and title."""
    state = "RESOLVED" if alert.kind == "resolve" else alert.severity.upper()
    return f"[{state}] {alert.title}"


def body_lines(alert: AlertMessage) -> list[str]:
    """The plain-text details of ``alert``, one fact per line."""
    lines = [f"rule: {alert.rule}", f"severity: {alert.severity}", f"problem: {alert.key}",
             f"opened at: {utc_iso(alert.opened_at)}"]
    if alert.resolved_at:
        lines.append(f"resolved at: {utc_iso(alert.resolved_at)}")
    lines += [f"{name}: {format_number(value)}" for name, value in alert.counts.items()]
    if alert.sample_ids:
        lines.append(f"sample ids: {', '.join(alert.sample_ids)}")
    lines += [f"run: {alert.run_id or '-'}", f"dedup key: {alert.dedup_key}"]
    return lines


# ------------------------------------------------------------------ secrets


class _Masking(logging.Filter):
    """Replaces secrets in records of the logger it is attached to (httpx logs each URL)."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if len(s) > 3]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(s in message for s in self.secrets):
            for s in self.secrets:
                message = message.replace(s, "***")
            record.msg, record.args = message, ()
        return True


@contextmanager
def masked_http_log(secrets: list[str]) -> Iterator[None]:
    """While open, httpx's log shows ``***`` for each of ``secrets`` (it logs every request URL)."""
    logger, masking = logging.getLogger("httpx"), _Masking(secrets)
    logger.addFilter(masking)
    try:
        yield
    finally:
        logger.removeFilter(masking)


def url_secrets(url: str) -> list[str]:
    """The parts of a webhook URL to mask: the whole URL, and its path and query (which carry the token)."""
    parts = urlsplit(url)
    return [url, parts.path + (f"?{parts.query}" if parts.query else "")] if parts.path not in ("", "/") else [url]
