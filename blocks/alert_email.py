"""Pipeline alerts by email over SMTP (stdlib ``smtplib``; STARTTLS, implicit TLS or neither).

Retries follow SMTP's own split: a 4xx reply or a lost connection is
temporary and retried; a 5xx reply, a refused login, refused recipients or an
untrusted certificate is ``AlertChannelRejected``, since retrying cannot fix
configuration. Each send opens and closes its own connection.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

from pydantic import Field, SecretStr

from blocks.alert_channel import (
    AlertChannel,
    AlertChannelRejected,
    AlertDeliveryFailed,
    AlertMessage,
    body_lines,
    headline,
)

__all__ = ["EmailChannel"]

log = logging.getLogger(__name__)


class _SmtpRetryable(Exception):
    pass


class EmailChannel(AlertChannel):
    """Alerts by email over SMTP.

    Example:
        ```python
        from blocks.alert_email import EmailChannel

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
        msg["Subject"] = f"{self.subject_prefix} {headline(alert)}".strip()
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.to)
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = make_msgid(domain="case-pipeline.invalid")
        msg["X-Alert-Dedup-Key"] = alert.dedup_key
        msg.set_content("\n".join([headline(alert), "", *body_lines(alert)]) + "\n")
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
