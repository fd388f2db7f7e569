"""Alert channels: where an alert about the pipeline goes.

``AlertChannel`` is the interface (one method, ``send``); the implementations
are Prefect blocks:

- ``SlackWebhookChannel``: a Slack incoming webhook (Block Kit or plain text);
- ``PagerDutyChannel``: PagerDuty Events API v2 (trigger and resolve by ``dedup_key``);
- ``EmailChannel``: SMTP with STARTTLS, implicit TLS or neither (stdlib ``smtplib``);
- ``WebhookChannel``: a generic JSON POST, optionally with a secret header.

HTTP channels use httpx with a timeout and retry 408, 429 (honouring
``Retry-After``), 5xx, timeouts and connection errors with stamina; email
retries 4xx SMTP replies and lost connections. Alerts are rare, so each send
opens and closes its own client: a channel holds no connection between sends.

Errors, as subclasses of ``blocks.errors``::

    TransientServiceError
    └── AlertDeliveryFailed      retries exhausted: outage, 5xx, 429, timeout
    TerminalServiceError
    └── AlertChannelRejected     4xx, bad URL, bad credentials: fix the configuration

Secrets (webhook URLs, routing keys, passwords, secret headers) are
``SecretStr``: masked in ``repr``, absent from every error message (which
names the channel and host only), and masked in httpx's request log.

``send`` takes any object shaped like ``stages.alert_rules.Alert`` (the
``AlertMessage`` protocol), so blocks never import stages.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import httpx
import stamina
from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from blocks.errors import TerminalServiceError, TransientServiceError

__all__ = [
    "AlertChannel",
    "AlertMessage",
    "AlertDeliveryFailed",
    "AlertChannelRejected",
    "SlackWebhookChannel",
    "PagerDutyChannel",
    "EmailChannel",
    "WebhookChannel",
    "PAGERDUTY_SEVERITY",
    "PAGERDUTY_EVENTS_URL",
]

log = logging.getLogger(__name__)

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
#: Our severities to PagerDuty's (critical, error, warning, info).
PAGERDUTY_SEVERITY = {"critical": "critical", "high": "error", "medium": "warning"}
_SOURCE = "case-vector-pipeline"
_MAX_RETRY_AFTER_S = 30.0


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


def _utc_iso(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _fmt(value: float) -> str:
    return f"{value:,.4g}" if isinstance(value, float) and not value.is_integer() else f"{value:,.0f}"


def _headline(alert: AlertMessage) -> str:
    state = "RESOLVED" if alert.kind == "resolve" else alert.severity.upper()
    return f"[{state}] {alert.title}"


def _body_lines(alert: AlertMessage) -> list[str]:
    lines = [f"rule: {alert.rule}", f"severity: {alert.severity}", f"problem: {alert.key}",
             f"opened at: {_utc_iso(alert.opened_at)}"]
    if alert.resolved_at:
        lines.append(f"resolved at: {_utc_iso(alert.resolved_at)}")
    lines += [f"{name}: {_fmt(value)}" for name, value in alert.counts.items()]
    if alert.sample_ids:
        lines.append(f"sample ids: {', '.join(alert.sample_ids)}")
    lines += [f"run: {alert.run_id or '-'}", f"dedup key: {alert.dedup_key}"]
    return lines


# --------------------------------------------------------------------- HTTP


class _Retryable(Exception):
    def __init__(self, what: str, retry_after: float | None = None):
        super().__init__(what)
        self.retry_after = retry_after


def _retry_http(exc: Exception) -> bool | float:
    if isinstance(exc, _Retryable):
        return min(exc.retry_after, _MAX_RETRY_AFTER_S) if exc.retry_after is not None else True
    return False


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
def _masked(secrets: list[str]) -> Iterator[None]:
    logger, masking = logging.getLogger("httpx"), _Masking(secrets)
    logger.addFilter(masking)
    try:
        yield
    finally:
        logger.removeFilter(masking)


def _reason(response: httpx.Response, secrets: list[str]) -> str:
    """A short, printable reason from an error answer, with secrets masked."""
    text = re.sub(r"[^\w .,:'()/-]+", " ", response.text[:160]).strip()
    for s in secrets:
        text = text.replace(s, "***") if len(s) > 3 else text
    return f" ({text[:120]})" if text else ""


class _HttpAlertChannel(AlertChannel):
    """Shared POST with retries; subclasses say where, what and which values are secret."""

    _kind: str = "HTTP"

    @abstractmethod
    def _target(self) -> str:
        """The URL to POST to."""

    def _secrets(self) -> list[str]:
        return []

    def _describe(self) -> str:
        return f"{self._kind} channel {self.channel_name!r} at {urlsplit(self._target()).netloc or '?'}"

    def _post(self, payload: dict, headers: Mapping[str, str] | None = None) -> httpx.Response:
        url, secrets = self._target(), self._secrets()
        attempts = 0
        try:
            with _masked(secrets), httpx.Client(timeout=httpx.Timeout(self.timeout_s)) as client:
                for attempt in self._retrying(_retry_http):
                    with attempt:
                        attempts += 1
                        try:
                            response = client.post(url, json=payload, headers=dict(headers or {}))
                        except httpx.UnsupportedProtocol:
                            raise
                        except httpx.TransportError as exc:
                            raise _Retryable(type(exc).__name__) from None
                        status = response.status_code
                        if status in (408, 429) or status >= 500:
                            raise _Retryable(f"HTTP {status}", _retry_after(response))
        except _Retryable as exc:
            raise AlertDeliveryFailed(f"{self._describe()}: still {exc} after {attempts} attempts") from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL):
            raise AlertChannelRejected(f"{self._describe()}: the configured URL is not a valid http(s) URL") from None
        if status >= 400:
            raise AlertChannelRejected(f"{self._describe()}: HTTP {status}{_reason(response, secrets)}")
        return response


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def _url_secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    return [url, parts.path + (f"?{parts.query}" if parts.query else "")] if parts.path not in ("", "/") else [url]


class SlackWebhookChannel(_HttpAlertChannel):
    """Alerts to a Slack channel through an incoming webhook.

    Example:
        ```python
        from blocks.alert_channels import SlackWebhookChannel

        SlackWebhookChannel.load("ops-slack").send(alert)
        # or: SlackWebhookChannel(webhook_url=os.environ["SLACK_WEBHOOK"])
        ```
    """

    _block_type_name = "Slack Webhook Alert Channel"
    _description = "Pipeline alerts to Slack through an incoming webhook."
    _kind = "Slack"

    webhook_url: SecretStr = Field(
        description="Incoming webhook URL (it is the credential); give it as webhook_url_env.")
    block_kit: bool = Field(default=True, description="Send Block Kit blocks; false sends plain text only.")

    def _target(self) -> str:
        return self.webhook_url.get_secret_value()

    def _secrets(self) -> list[str]:
        return _url_secrets(self._target())

    def payload(self, alert: AlertMessage) -> dict:
        """The JSON body sent for ``alert``."""
        text = _headline(alert)
        if not self.block_kit:
            return {"text": "\n".join([text, *_body_lines(alert)])}
        fields = [{"type": "mrkdwn", "text": f"*{k}*\n{_fmt(v)}"} for k, v in list(alert.counts.items())[:8]]
        blocks: list[dict] = [
            {"type": "header", "text": {"type": "plain_text", "text": text[:150]}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*rule*\n{alert.rule}"},
                                           {"type": "mrkdwn", "text": f"*severity*\n{alert.severity}"}, *fields]},
        ]
        if alert.sample_ids:
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                       "text": "*sample ids*\n" + ", ".join(alert.sample_ids)}})
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"opened {_utc_iso(alert.opened_at)} · run {alert.run_id or '-'} · {alert.dedup_key}")}]})
        return {"text": text, "blocks": blocks}

    def send(self, alert: AlertMessage) -> None:
        self._post(self.payload(alert))


class PagerDutyChannel(_HttpAlertChannel):
    """Incidents in PagerDuty through the Events API v2.

    A trigger and its resolution share ``dedup_key``, so PagerDuty opens one
    incident per open problem and closes it when the problem clears.

    Example:
        ```python
        from blocks.alert_channels import PagerDutyChannel

        PagerDutyChannel.load("oncall").send(alert)
        ```
    """

    _block_type_name = "PagerDuty Alert Channel"
    _description = "Pipeline alerts as PagerDuty incidents (Events API v2, trigger and resolve)."
    _kind = "PagerDuty"

    routing_key: SecretStr = Field(description="Integration (routing) key of the service; give it as routing_key_env.")
    events_url: str = Field(default=PAGERDUTY_EVENTS_URL, description="Events API v2 enqueue URL.")
    source: str = Field(default=_SOURCE, description="payload.source: the system the problem is in.")
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
        return {**event, "event_action": "trigger", "client": _SOURCE, "payload": {
            "summary": alert.title[:1024],
            "source": self.source,
            "severity": PAGERDUTY_SEVERITY.get(alert.severity, "error"),
            "timestamp": _utc_iso(alert.opened_at),
            "component": self.component,
            "group": "case-pipeline",
            "class": alert.rule,
            "custom_details": {"problem": alert.key, "counts": dict(alert.counts),
                               "sample_ids": list(alert.sample_ids), "run_id": alert.run_id},
        }}

    def send(self, alert: AlertMessage) -> None:
        self._post(self.payload(alert))


class WebhookChannel(_HttpAlertChannel):
    """Alerts as a JSON POST to any URL: ``alert.as_dict()`` plus ``source``.

    Example:
        ```python
        from blocks.alert_channels import WebhookChannel

        WebhookChannel(url="https://hooks.example.com/alerts", secret_header_name="X-Token",
                       secret_header_value=os.environ["HOOK_TOKEN"]).send(alert)
        ```
    """

    _block_type_name = "Webhook Alert Channel"
    _description = "Pipeline alerts as a JSON POST to any URL."
    _kind = "Webhook"

    url: SecretStr = Field(description="Where to POST; secret, as many webhook URLs embed a token (url_env).")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers (not for secrets).")
    secret_header_name: str = Field(default="Authorization", description="Header that carries secret_header_value.")
    secret_header_value: SecretStr | None = Field(
        default=None, description="Value of secret_header_name, e.g. 'Bearer ...'; give it as secret_header_value_env.")

    def _target(self) -> str:
        return self.url.get_secret_value()

    def _secrets(self) -> list[str]:
        secret = [self.secret_header_value.get_secret_value()] if self.secret_header_value else []
        return _url_secrets(self._target()) + secret

    def payload(self, alert: AlertMessage) -> dict:
        """The JSON body sent for ``alert``."""
        return {"source": _SOURCE, **alert.as_dict()}

    def send(self, alert: AlertMessage) -> None:
        headers = dict(self.headers)
        if self.secret_header_value is not None:
            headers[self.secret_header_name] = self.secret_header_value.get_secret_value()
        self._post(self.payload(alert), headers)


# -------------------------------------------------------------------- email


class _SmtpRetryable(Exception):
    pass


class EmailChannel(AlertChannel):
    """Alerts by email over SMTP.

    Example:
        ```python
        from blocks.alert_channels import EmailChannel

        EmailChannel(host="smtp.example.com", username="alerts", password=os.environ["SMTP_PASSWORD"],
                     sender="pipeline@example.com", to=["data-oncall@example.com"]).send(alert)
        ```
    """

    _block_type_name = "Email Alert Channel"
    _description = "Pipeline alerts by email over SMTP (STARTTLS, TLS or plain)."

    host: str = Field(description="SMTP server host name.")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP port: 587 for STARTTLS, 465 for TLS.")
    security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", description="starttls upgrades a plain connection; ssl is TLS from the start; "
                                        "none only for a relay on a trusted network.")
    username: str | None = Field(default=None, description="Login name; no login when unset.")
    password: SecretStr | None = Field(default=None, description="Login password; give it as password_env.")
    sender: str = Field(description="From address.")
    to: list[str] = Field(min_length=1, description="Recipient addresses.")
    subject_prefix: str = Field(default="[case-pipeline]", description="Put before every subject.")

    def _describe(self) -> str:
        return f"Email channel {self.channel_name!r} at {self.host}:{self.port}"

    def message(self, alert: AlertMessage) -> EmailMessage:
        """The email sent for ``alert``."""
        msg = EmailMessage()
        msg["Subject"] = f"{self.subject_prefix} {_headline(alert)}".strip()
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.to)
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = make_msgid(domain="case-pipeline.invalid")
        msg["X-Alert-Dedup-Key"] = alert.dedup_key
        msg.set_content("\n".join([_headline(alert), "", *_body_lines(alert)]) + "\n")
        return msg

    def send(self, alert: AlertMessage) -> None:
        msg = self.message(alert)
        attempts = 0
        try:
            for attempt in self._retrying(lambda exc: isinstance(exc, _SmtpRetryable)):
                with attempt:
                    attempts += 1
                    self._deliver(msg)
        except _SmtpRetryable as exc:
            raise AlertDeliveryFailed(f"{self._describe()}: still {exc} after {attempts} attempts") from None

    def _deliver(self, msg: EmailMessage) -> None:
        context = ssl.create_default_context()
        try:
            if self.security == "ssl":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=context)
                if self.username:
                    smtp.login(self.username, self.password.get_secret_value() if self.password else "")
                refused = smtp.send_message(msg)
        except smtplib.SMTPAuthenticationError as exc:
            raise AlertChannelRejected(
                f"{self._describe()} refused the login of {self.username!r} (SMTP {exc.smtp_code})") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise AlertChannelRejected(f"{self._describe()} refused all {len(exc.recipients)} recipients") from None
        except smtplib.SMTPNotSupportedError:
            raise AlertChannelRejected(f"{self._describe()} does not support {self.security} or login") from None
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code < 400 or exc.smtp_code >= 500:
                raise AlertChannelRejected(f"{self._describe()}: SMTP {exc.smtp_code}") from None
            raise _SmtpRetryable(f"SMTP {exc.smtp_code}") from None
        except ssl.SSLCertVerificationError:
            raise AlertChannelRejected(f"{self._describe()}: TLS certificate not trusted") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise _SmtpRetryable(type(exc).__name__) from None
        if refused:
            log.warning("%s refused %d of %d recipients", self._describe(), len(refused), len(self.to))
