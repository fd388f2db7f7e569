"""Alert rules, the ledger and dispatch over every channel against local receivers."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import pytest
import stamina
from sqlalchemy import inspect

from blocks.alert_email import EmailChannel
from blocks.alert_ledger import AlertLedger
from blocks.alert_pagerduty import PagerDutyChannel
from blocks.alert_slack import SlackWebhookChannel
from blocks.alert_webhook import WebhookChannel
from blocks.lineage import LineageStore
from flows.alerting import build_channels, dispatch_alerts
from flows.config import ConfigError
from stages.alert_rules import AlertSettings, firing_problems
from tests.alert_receivers import HttpReceiver, SmtpReceiver

SLACK_PATH = "/services/T1/B1/slack-secret-token"
ROUTING_KEY = "pd-routing-key-0123456789abcdef"
HOOK_TOKEN = "Bearer hook-token-abcdef"
T0 = datetime(2025, 3, 1, 6, 0)


def result(*, completion_rate=1.0, discrepancies=(), **counts) -> dict:
    """A reconcile() result with only what the rules read."""
    return {"counts": {"completion_rate": completion_rate, "lineage_tracked": 1000,
                       "lineage_completed": round(1000 * completion_rate), **counts},
            "discrepancies": list(discrepancies)}


def gap(kind="staging_to_lineage_gap", n=1500, severity=None, detail="") -> dict:
    """A discrepancy as compare_counts makes it: critical past 1000."""
    severity = severity or ("critical" if abs(n) > 1000 else "high")
    return {"type": kind, "severity": severity, "expected": n, "actual": 0, "gap": n, "detail": detail}


@pytest.fixture(autouse=True)
def fast_retries():
    with stamina.set_testing(True, attempts=2):
        yield


@pytest.fixture
def ledger(tmp_path):
    with LineageStore.from_url(f"sqlite:///{tmp_path / 'lineage.db'}") as lineage:
        yield AlertLedger(lineage)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_ledger(request, tmp_path):
    """The ledger on SQLite and on a real PostgreSQL."""
    url = (f"sqlite:///{tmp_path / 'lineage.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_database_url"))
    with LineageStore.from_url(url) as lineage:
        yield AlertLedger(lineage)


@pytest.fixture
def receivers():
    with HttpReceiver() as http, SmtpReceiver() as smtp:
        yield http, smtp


@pytest.fixture
def channels(receivers):
    http, smtp = receivers
    return [
        SlackWebhookChannel(label="slack", webhook_url=http.url(SLACK_PATH)),
        PagerDutyChannel(label="pagerduty", routing_key=ROUTING_KEY, events_url=http.url("/v2/enqueue")),
        WebhookChannel(label="webhook", url=http.url("/hook"), secret_header_value=HOOK_TOKEN),
        EmailChannel(label="email", host="127.0.0.1", port=smtp.port, security="none", username=smtp.username,
                     password=smtp.password, sender="pipeline@example.test", to=["oncall@example.test"]),
    ]


def sent(receivers) -> dict[str, list]:
    """What each receiver got: JSON bodies per HTTP channel, messages for email."""
    http, smtp = receivers
    return {"slack": [r.json for r in http.at(SLACK_PATH)], "pagerduty": [r.json for r in http.at("/v2/enqueue")],
            "webhook": [r.json for r in http.at("/hook")], "email": [m.message for m in smtp.messages]}


# ------------------------------------------------------------------- rules


def test_each_rule_fires_only_past_its_threshold():
    """Completion < 0.95, gap > 1000, leaks > 0 and corruption > 1% fire; the boundaries do not."""
    s = AlertSettings()
    assert set(firing_problems(result(completion_rate=0.95, discrepancies=[gap(n=1000)], pii_leaks=0,
                                      corruption_rate=0.01), s)) == set()
    fired = firing_problems(result(completion_rate=0.9499, discrepancies=[gap(n=-1001)], pii_leaks=2,
                                   corruption_rate=0.0101), s)
    assert list(fired) == ["CriticalRecordGap", "PIILeakageDetected", "HighPipelineAttrition", "ContentCorruption"]
    assert fired["CriticalRecordGap"].counts["record_gap"] == 1001
    assert fired["HighPipelineAttrition"].severity == "high"


def test_corruption_reads_the_deep_reconciliation_sample():
    """ContentCorruption carries the deep run's sampled and corrupted counts and its sample ids."""
    deep = {"integrity": {"sampled": 200, "corrupted": 5, "corruption_rate": 0.025, "sample_ids": ["500C0000001"],
                          "by_field": {"Status": 5}}, "dimensions": {"errors": 0}}
    (problem,) = firing_problems(result(corruption_rate=0.025, deep=deep), AlertSettings()).values()
    assert problem.counts == {"corruption_rate": 0.025, "threshold": 0.01, "corrupted": 5, "sampled": 200}
    assert problem.sample_ids == ("500C0000001",) and problem.needs == ("corruption",)


def test_a_load_queue_waiting_too_long_fires_once_it_is_older_than_the_threshold():
    """LoadQueueBacklog fires past load_queue_age_hours_max with counts only; an empty queue never fires."""
    s = AlertSettings()
    young = result(load_queue={"segments": 2, "rows": 40, "oldest_age_hours": 6.0})
    old = result(load_queue={"segments": 2, "rows": 40, "oldest_age_hours": 6.5})
    empty = result(load_queue={"segments": 0, "rows": 0, "oldest_age_hours": None})
    assert firing_problems(young, s) == {} and firing_problems(empty, s) == {}
    (problem,) = firing_problems(old, s).values()
    assert problem.key == "LoadQueueBacklog" and problem.severity == "high" and problem.needs == ("counts",)
    assert problem.counts == {"oldest_age_hours": 6.5, "threshold": 6.0, "queued_rows": 40, "segments": 2}
    assert firing_problems(old, AlertSettings(load_queue_age_hours_max=12)) == {}


def test_thresholds_come_from_settings():
    """AlertSettings moves the thresholds, and an unknown setting is refused."""
    r = result(completion_rate=0.92, discrepancies=[gap(n=1500, severity="high")])
    assert set(firing_problems(r, AlertSettings())) == {"HighPipelineAttrition", "CriticalRecordGap"}
    assert firing_problems(r, AlertSettings(completion_rate_min=0.9, record_gap_max=2000)) == {}
    with pytest.raises(ValueError, match="completion_rate_minimum"):
        AlertSettings(completion_rate_minimum=0.9)


def test_critical_discrepancy_gets_its_own_problem_with_ids_only():
    """A critical discrepancy no rule covers opens CriticalDiscrepancy:<type> with ids, not its detail text."""
    leak = gap("deleted_but_stored", n=3, severity="critical", detail="3 cases, e.g. jane.doe@example.com")
    r = result(discrepancies=[leak],
               diff={"sample_ids": {"deleted_but_stored": ["500X0000001", "jane.doe@example.com", "Jane Doe"]}})
    (problem,) = firing_problems(r, AlertSettings()).values()
    assert problem.key == "CriticalDiscrepancy:deleted_but_stored"
    assert problem.sample_ids == ("500X0000001",)
    assert "jane" not in json.dumps(problem.__dict__).lower()


def test_gap_rule_covers_the_critical_gap_discrepancy():
    """A big gap opens CriticalRecordGap alone; under a raised threshold it is still a critical discrepancy."""
    problems = firing_problems(result(discrepancies=[gap(n=5000)]), AlertSettings())
    assert list(problems) == ["CriticalRecordGap"]
    quiet = firing_problems(result(discrepancies=[gap(n=5000)]), AlertSettings(record_gap_max=10_000))
    assert list(quiet) == ["CriticalDiscrepancy:staging_to_lineage_gap"]
    assert firing_problems(result(discrepancies=[gap(n=5000)]),
                           AlertSettings(record_gap_max=10_000, critical_discrepancies=False)) == {}


# ----------------------------------------------------------------- dispatch


def test_one_alert_per_open_problem_then_resolution_then_retrigger(any_ledger, channels, receivers):
    """Three runs with a problem send one trigger per channel; clearing sends one notice; reopening triggers anew."""
    ledger = any_ledger
    firing = result(discrepancies=[gap(n=1500)])
    for day in range(3):
        report = dispatch_alerts(firing, channels, ledger, run_id=f"r{day}", now=T0 + timedelta(days=day))
        assert report.failed == []
    assert report.still_open == ["CriticalRecordGap"] and report.sent == []
    assert {k: len(v) for k, v in sent(receivers).items()} == {"slack": 1, "pagerduty": 1, "webhook": 1, "email": 1}
    state = ledger.problems()["CriticalRecordGap"]
    assert state.opened_at == T0 and state.last_seen_at == T0 + timedelta(days=2) and state.resolved_at is None

    report = dispatch_alerts(result(), channels, ledger, run_id="r3", now=T0 + timedelta(days=3))
    assert report.resolved == ["CriticalRecordGap"] and len(report.sent) == 4
    got = sent(receivers)
    assert got["pagerduty"][1] == {"routing_key": ROUTING_KEY, "event_action": "resolve",
                                   "dedup_key": got["pagerduty"][0]["dedup_key"]}
    assert got["slack"][1]["text"].startswith("[RESOLVED] ") and got["webhook"][1]["kind"] == "resolve"
    assert got["email"][1]["Subject"].startswith("[case-pipeline] [RESOLVED] ")
    assert ledger.open_problems() == {}
    assert dispatch_alerts(result(), channels, ledger, now=T0 + timedelta(days=4)).deliveries == []

    report = dispatch_alerts(firing, channels, ledger, run_id="r5", now=T0 + timedelta(days=5))
    assert report.opened == ["CriticalRecordGap"] and len(report.sent) == 4
    triggers = [e for e in sent(receivers)["pagerduty"] if e["event_action"] == "trigger"]
    assert len(triggers) == 2 and triggers[0]["dedup_key"] != triggers[1]["dedup_key"]


def test_failing_channel_does_not_block_others_and_is_retried(ledger, channels, receivers):
    """A webhook answering 500 is reported; the other channels deliver; the next run retries only it."""
    http, _ = receivers
    http.status["/hook"] = 500
    report = dispatch_alerts(result(pii_leaks=1), channels, ledger, now=T0)
    assert [(d.channel, d.kind) for d in report.failed] == [("webhook", "trigger")]
    assert "AlertDeliveryFailed" in report.failed[0].error and "HTTP 500" in report.failed[0].error
    assert {d.channel for d in report.sent} == {"slack", "pagerduty", "email"}
    deliveries = ledger.problems()["PIILeakageDetected"].deliveries
    assert deliveries["webhook"]["trigger"]["status"] == "failed"

    http.status["/hook"] = 200
    report = dispatch_alerts(result(pii_leaks=1), channels, ledger, now=T0 + timedelta(days=1))
    assert [(d.channel, d.ok) for d in report.deliveries] == [("webhook", True)]
    assert {k: len(v) for k, v in sent(receivers).items()} == {"slack": 1, "pagerduty": 1, "webhook": 3, "email": 1}


def test_failed_resolution_keeps_the_problem_open_until_delivered(ledger, channels, receivers):
    """A resolve PagerDuty refused with 500 is sent again next run; only then is the problem resolved."""
    http, _ = receivers
    dispatch_alerts(result(corruption_rate=0.2), channels, ledger, now=T0)
    http.status["/v2/enqueue"] = 500
    clean = result(corruption_rate=0.0)
    report = dispatch_alerts(clean, channels, ledger, now=T0 + timedelta(days=1))
    assert report.resolving == ["ContentCorruption"] and [d.channel for d in report.failed] == ["pagerduty"]
    http.status["/v2/enqueue"] = 202
    report = dispatch_alerts(clean, channels, ledger, now=T0 + timedelta(days=2))
    assert report.resolved == ["ContentCorruption"] and [d.channel for d in report.sent] == ["pagerduty"]
    assert ledger.problems()["ContentCorruption"].resolved_at == T0 + timedelta(days=2)


def test_only_a_run_that_measured_a_problem_clears_it(ledger, channels, receivers):
    """A PII alert from a deep run stays open through daily runs without a scan; a clean scan resolves it."""
    dispatch_alerts(result(pii_leaks=3, pii_leak_ids=["500P0000001"]), channels, ledger, now=T0)
    daily = dispatch_alerts(result(), channels, ledger, now=T0 + timedelta(days=1))
    assert daily.unmeasured == ["PIILeakageDetected"] and daily.deliveries == []
    deep = dispatch_alerts(result(pii_leaks=0), channels, ledger, now=T0 + timedelta(days=7))
    assert deep.resolved == ["PIILeakageDetected"] and len(deep.sent) == 4
    assert sent(receivers)["pagerduty"][0]["payload"]["custom_details"]["sample_ids"] == ["500P0000001"]


def test_no_pii_and_no_secret_in_payloads_logs_or_ledger(ledger, channels, receivers, caplog):
    """Planted PII never leaves; webhook URL, token and password appear in no body, log, report or ledger row."""
    http, smtp = receivers
    http.status[SLACK_PATH] = 500
    caplog.set_level(logging.DEBUG)
    leak = gap("stale_checksum", n=7, severity="critical", detail="Jane Doe <jane.doe@example.com>")
    planted = result(discrepancies=[leak],
                     diff={"sample_ids": {"stale_checksum": ["500S0000001", "jane.doe@example.com"]}})
    report = dispatch_alerts(planted, channels, ledger, now=T0)
    assert len(report.sent) == 3 and len(report.failed) == 1
    bodies = [r.body.decode() for r in http.requests] + [m.raw.decode() for m in smtp.messages]
    assert all("500S0000001" in b for b in bodies if "stale_checksum" in b)
    everything = "\n".join(bodies) + caplog.text + json.dumps(report.as_dict()) + json.dumps(
        {k: v.row()["last_payload"] for k, v in ledger.problems().items()})
    for forbidden in ("jane", "Jane", "slack-secret-token", "hook-token-abcdef", smtp.password):
        assert forbidden not in everything
    pd_bodies = [r.body.decode() for r in http.at("/v2/enqueue")]
    assert all(ROUTING_KEY in b for b in pd_bodies) and ROUTING_KEY not in everything.replace(pd_bodies[0], "")


def test_ledger_table_lives_in_the_lineage_database(any_ledger):
    """alert_state is created idempotently beside the lineage tables, which are left alone."""
    ledger = any_ledger
    ledger._lineage.ensure_schema()
    ledger.ensure_schema()
    ledger.ensure_schema()
    tables = set(inspect(ledger.engine).get_table_names())
    assert {"alert_state", "data_lineage", "reconciliation_runs"} <= tables
    columns = {c["name"] for c in inspect(ledger.engine).get_columns("alert_state")}
    assert columns == {"problem_key", "rule", "severity", "opened_at", "last_seen_at", "resolved_at", "last_payload"}


def test_duplicate_channel_labels_are_refused(ledger, channels):
    """Two channels with one label would share ledger entries, so dispatch refuses them."""
    with pytest.raises(ValueError, match="distinct labels"):
        dispatch_alerts(result(), [channels[0], channels[0]], ledger)


# ------------------------------------------------------------------- config


def test_build_channels_reads_secrets_from_the_environment():
    """build_channels takes <field>_env from base_env and labels repeated types slack, slack-2."""
    env = {"SLACK_WEBHOOK": "https://hooks.slack.test/T/B/x", "SLACK_WEBHOOK_2": "https://hooks.slack.test/T/B/y",
           "PD_KEY": ROUTING_KEY, "SMTP_PASSWORD": "pw-secret"}
    built = build_channels([
        {"type": "slack", "webhook_url_env": "SLACK_WEBHOOK"},
        {"type": "slack", "webhook_url_env": "SLACK_WEBHOOK_2", "block_kit": False},
        {"type": "pagerduty", "name": "oncall", "routing_key_env": "PD_KEY"},
        {"type": "email", "host": "smtp.test", "username": "u", "password_env": "SMTP_PASSWORD",
         "sender": "p@example.test", "to": ["o@example.test"]},
        {"type": "webhook", "url": "https://hooks.example.test/alerts"},
    ], base_env=env)
    assert [c.channel_name for c in built] == ["slack", "slack-2", "oncall", "email", "webhook"]
    assert built[1].webhook_url.get_secret_value() == env["SLACK_WEBHOOK_2"] and built[1].block_kit is False
    assert built[2].routing_key.get_secret_value() == ROUTING_KEY
    assert built[3].password.get_secret_value() == "pw-secret"


@pytest.mark.parametrize(("table", "message"), [
    ({"type": "sms"}, "type 'sms' is unknown"),
    ({"type": "slack", "webhook_url_env": "NOT_SET_ANYWHERE"}, "'NOT_SET_ANYWHERE', which is not set"),
    ({"type": "pagerduty", "routing_key_env": "PD_KEY", "port": 25}, "no field(s) ['port']"),
    ({"type": "webhook", "url_env": "PD_KEY", "timeout_s": "soon"}, "timeout_s"),
    ({"type": "email", "host": "h", "password_env": "PD_KEY", "sender": "s", "to": []}, "to"),
])
def test_build_channels_errors_name_the_table_never_the_secret(table, message):
    """A bad table is a ConfigError naming alerts.channels[0] and the field, without the secret value."""
    with pytest.raises(ConfigError) as info:
        build_channels([table], base_env={"PD_KEY": ROUTING_KEY})
    assert "[alerts.channels[0]]" in str(info.value) and message in str(info.value)
    assert ROUTING_KEY not in str(info.value)
