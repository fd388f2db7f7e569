"""Pipeline alerts as a JSON POST to any URL, for receivers without their own channel.

Many webhook URLs embed a token, so the URL is a ``SecretStr`` like the
optional secret header; both are masked in logs and error messages.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from blocks.alert_channel import ALERT_SOURCE, AlertMessage, url_secrets
from blocks.alert_http import HttpAlertChannel

__all__ = ["WebhookChannel"]


class WebhookChannel(HttpAlertChannel):
    """Alerts as a JSON POST to any URL: ``alert.as_dict()`` plus ``source``.

    Example:
        ```python
        from blocks.alert_webhook import WebhookChannel

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
        return url_secrets(self._target()) + secret

    def payload(self, alert: AlertMessage) -> dict:
        """The JSON body sent for ``alert``."""
        return {"source": ALERT_SOURCE, **alert.as_dict()}

    def send(self, alert: AlertMessage) -> None:
        headers = dict(self.headers)
        if self.secret_header_value is not None:
            headers[self.secret_header_name] = self.secret_header_value.get_secret_value()
        self._post(self.payload(alert), headers)
