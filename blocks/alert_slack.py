"""Pipeline alerts to Slack through an incoming webhook.

The webhook URL is the credential (its path carries the token), so it is a
``SecretStr`` and is masked, whole and as path, in logs and error messages.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from blocks.alert_channel import AlertMessage, body_lines, format_number, headline, url_secrets, utc_iso
from blocks.alert_http import HttpAlertChannel

__all__ = ["SlackWebhookChannel"]


class SlackWebhookChannel(HttpAlertChannel):
    """Alerts to a Slack channel through an incoming webhook.

    Example:
        ```python
        from blocks.alert_slack import SlackWebhookChannel

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
        return url_secrets(self._target())

    def payload(self, alert: AlertMessage) -> dict:
        """The JSON body sent for ``alert``."""
        text = headline(alert)
        if not self.block_kit:
            return {"text": "\n".join([text, *body_lines(alert)])}
        fields = [{"type": "mrkdwn", "text": f"*{k}*\n{format_number(v)}"} for k, v in list(alert.counts.items())[:8]]
        blocks: list[dict] = [
            {"type": "header", "text": {"type": "plain_text", "text": text[:150]}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*rule*\n{alert.rule}"},
                                           {"type": "mrkdwn", "text": f"*severity*\n{alert.severity}"}, *fields]},
        ]
        if alert.sample_ids:
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                       "text": "*sample ids*\n" + ", ".join(alert.sample_ids)}})
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"opened {utc_iso(alert.opened_at)} · run {alert.run_id or '-'} · {alert.dedup_key}")}]})
        return {"text": text, "blocks": blocks}

    def send(self, alert: AlertMessage) -> None:
        self._post(self.payload(alert))
