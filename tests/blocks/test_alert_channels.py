"""Alert channels against local receivers: payload shapes, errors, and no secret anywhere."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

import pytest
import stamina

from blocks.alert_channel import AlertChannelRejected, AlertDeliveryFailed
from blocks.alert_email import EmailChannel
from blocks.alert_pagerduty import PagerDutyChannel
from blocks.alert_slack import SlackWebhookChannel
from blocks.alert_webhook import WebhookChannel
from blocks.errors import TerminalServiceError, TransientServiceError
from stages.alert_rules import Alert
from tests.alert_receivers import HttpReceiver, SmtpReceiver, free_port

SLACK_PATH = "/services/T0000/B0000/slack-secret-token"
ROUTING_KEY = "pd-routing-key-0123456789abcdef"
HOOK_TOKEN = "Bearer hook-token-abcdef"

ALERT = Alert(
    key="CriticalRecordGap", rule="CriticalRecordGap", severity="critical",
    title="Record gap of 1,234 between stages (missing_from_store) exceeds 1,000",
    counts={"record_gap": 1234, "threshold": 1000}, sample_ids=("500A0000001", "500A0000002"),
    run_id="run-1", opened_at=datetime(2025, 1, 2, 3, 4, 5),
)


@pytest.fixture(autouse=True)
def fast_retries():
    with stamina.set_testing(True, attempts=2):
        yield


@pytest.fixture
def http():
    with HttpReceiver() as receiver:
        yield receiver


def test_slack_block_kit_payload(http):
    """Slack gets a fallback text and Block Kit header, fields, ids and context."""
    SlackWebhookChannel(webhook_url=http.url(SLACK_PATH)).send(ALERT)
    (request,) = http.at(SLACK_PATH)
    body = request.json
    assert body["text"] == f"[CRITICAL] {ALERT.title}"
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds == ["header", "section", "section", "context"]
    fields = " ".join(f["text"] for f in body["blocks"][1]["fields"])
    assert "*record_gap*\n1,234" in fields and "*severity*\ncritical" in fields
    assert "500A0000001, 500A0000002" in body["blocks"][2]["text"]["text"]
    assert ALERT.dedup_key in body["blocks"][3]["elements"][0]["text"]


def test_slack_plain_text_payload(http):
    """With block_kit off, Slack gets one text with the counts and ids."""
    SlackWebhookChannel(webhook_url=http.url(SLACK_PATH), block_kit=False).send(replace(ALERT, kind="resolve"))
    body = http.at(SLACK_PATH)[0].json
    assert set(body) == {"text"}
    assert body["text"].startswith("[RESOLVED] ") and "record_gap: 1,234" in body["text"]


def test_pagerduty_trigger_and_resolve_events(http):
    """PagerDuty gets Events API v2 trigger and resolve events sharing one dedup_key."""
    channel = PagerDutyChannel(routing_key=ROUTING_KEY, events_url=http.url("/v2/enqueue"))
    channel.send(ALERT)
    channel.send(replace(ALERT, kind="resolve", resolved_at=datetime(2025, 1, 3)))
    trigger, resolve = (r.json for r in http.at("/v2/enqueue"))
    assert trigger["routing_key"] == ROUTING_KEY and trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == ALERT.dedup_key
    assert trigger["payload"]["summary"] == ALERT.title
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["source"] == "case-vector-pipeline"
    assert trigger["payload"]["timestamp"] == "2025-01-02T03:04:05+00:00"
    assert trigger["payload"]["custom_details"]["counts"] == {"record_gap": 1234, "threshold": 1000}
    assert resolve == {"routing_key": ROUTING_KEY, "dedup_key": ALERT.dedup_key, "event_action": "resolve"}


@pytest.mark.parametrize(("ours", "theirs"), [("high", "error"), ("medium", "warning")])
def test_pagerduty_severity_mapping(http, ours, theirs):
    """Our high and medium become PagerDuty's error and warning."""
    PagerDutyChannel(routing_key=ROUTING_KEY, events_url=http.url("/pd")).send(replace(ALERT, severity=ours))
    assert http.at("/pd")[0].json["payload"]["severity"] == theirs


def test_webhook_posts_alert_json_with_secret_header(http):
    """The generic webhook posts the alert's dict and carries the secret only in its header."""
    WebhookChannel(url=http.url("/hook"), headers={"X-Team": "data"}, secret_header_value=HOOK_TOKEN).send(ALERT)
    request = http.at("/hook")[0]
    assert request.json == {"source": "case-vector-pipeline", **ALERT.as_dict()}
    assert request.headers["Authorization"] == HOOK_TOKEN and request.headers["X-Team"] == "data"
    assert HOOK_TOKEN.encode() not in request.body


def test_email_is_delivered_with_login():
    """Email logs in and delivers a subject, recipients and a body with counts and ids."""
    with SmtpReceiver() as smtp:
        EmailChannel(host="127.0.0.1", port=smtp.port, security="none", username=smtp.username,
                     password=smtp.password, sender="pipeline@example.test",
                     to=["oncall@example.test", "data@example.test"]).send(ALERT)
    (mail,) = smtp.messages
    assert mail.login == "alerts" and mail.recipients == ["oncall@example.test", "data@example.test"]
    msg = mail.message
    assert msg["Subject"] == f"[case-pipeline] [CRITICAL] {ALERT.title}"
    assert msg["X-Alert-Dedup-Key"] == ALERT.dedup_key
    body = msg.get_content()
    assert "record_gap: 1,234" in body and "500A0000001, 500A0000002" in body
    assert smtp.password not in mail.raw.decode()


def test_email_wrong_password_is_terminal_and_silent():
    """A refused login is AlertChannelRejected, and its message holds no password."""
    with SmtpReceiver() as smtp:
        channel = EmailChannel(host="127.0.0.1", port=smtp.port, security="none", username="alerts",
                               password="wrong-password-xyz", sender="p@example.test", to=["o@example.test"])
        with pytest.raises(AlertChannelRejected) as info:
            channel.send(ALERT)
    assert "wrong-password-xyz" not in str(info.value) and smtp.messages == []


def test_email_to_closed_port_is_transient():
    """No SMTP server listening is AlertDeliveryFailed (retry later), a ConnectionError."""
    channel = EmailChannel(host="127.0.0.1", port=free_port(), security="none", sender="p@example.test",
                           to=["o@example.test"], timeout_s=2)
    with pytest.raises(AlertDeliveryFailed) as info:
        channel.send(ALERT)
    assert isinstance(info.value, TransientServiceError) and isinstance(info.value, ConnectionError)


def test_http_500_retries_then_fails_without_leaking_secrets(http, caplog):
    """A 500 every time is retried, then AlertDeliveryFailed names the host but no URL or key."""
    http.status[SLACK_PATH] = 500
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AlertDeliveryFailed) as info:
        SlackWebhookChannel(webhook_url=http.url(SLACK_PATH)).send(ALERT)
    assert len(http.at(SLACK_PATH)) == 2
    assert "HTTP 500 after 2 attempts" in str(info.value) and "127.0.0.1" in str(info.value)
    assert "slack-secret-token" not in str(info.value) and "slack-secret-token" not in caplog.text
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_http_4xx_is_terminal_and_not_retried(http):
    """A 400 is AlertChannelRejected at once: one request, a TerminalServiceError."""
    http.status["/v2/enqueue"] = 400
    with pytest.raises(AlertChannelRejected) as info:
        PagerDutyChannel(routing_key=ROUTING_KEY, events_url=http.url("/v2/enqueue")).send(ALERT)
    assert isinstance(info.value, TerminalServiceError) and len(http.at("/v2/enqueue")) == 1
    assert ROUTING_KEY not in str(info.value)


def test_secrets_absent_from_repr_and_request_logs(http, caplog):
    """repr masks every secret, and httpx's request log shows no webhook URL path."""
    caplog.set_level(logging.DEBUG)
    slack = SlackWebhookChannel(webhook_url=http.url(SLACK_PATH))
    hook = WebhookChannel(url=http.url("/hook?token=query-secret-99"), secret_header_value=HOOK_TOKEN)
    pd = PagerDutyChannel(routing_key=ROUTING_KEY, events_url=http.url("/pd"))
    for channel in (slack, hook, pd):
        channel.send(ALERT)
    text = caplog.text + repr(slack) + repr(hook) + repr(pd) + str(slack.model_dump())
    assert "HTTP Request" in caplog.text  # httpx did log its requests, masked
    for secret in ("slack-secret-token", "query-secret-99", HOOK_TOKEN, ROUTING_KEY):
        assert secret not in text


def test_unreachable_url_and_bad_scheme(http):
    """A refused connection is transient; a non-http URL is terminal; neither echoes the URL."""
    with pytest.raises(AlertDeliveryFailed, match="ConnectError"):
        WebhookChannel(url=f"http://127.0.0.1:{free_port()}/x-secret-path", timeout_s=2).send(ALERT)
    with pytest.raises(AlertChannelRejected) as info:
        WebhookChannel(url="ftp://example.test/ftp-secret-path").send(ALERT)
    assert "secret-path" not in str(info.value)
