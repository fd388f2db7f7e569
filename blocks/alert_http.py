"""The shared base of alert channels that POST JSON over HTTP (Slack, PagerDuty, webhook).

Each send opens its own httpx client with a timeout and retries 408, 429
(honouring ``Retry-After``, capped so one alert cannot stall a run), 5xx,
timeouts and connection errors with stamina. Any other 4xx, or a URL that is
not http(s), is ``AlertChannelRejected``: retrying cannot fix configuration.
Subclasses only say where to POST, what, and which values are secret.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from blocks.alert_channel import AlertChannel, AlertChannelRejected, AlertDeliveryFailed, masked_http_log

__all__ = ["HttpAlertChannel"]

_MAX_RETRY_AFTER_S = 30.0


class _Retryable(Exception):
    def __init__(self, what: str, retry_after: float | None = None):
        super().__init__(what)
        self.retry_after = retry_after


def _retry_http(exc: Exception) -> bool | float:
    if isinstance(exc, _Retryable):
        return min(exc.retry_after, _MAX_RETRY_AFTER_S) if exc.retry_after is not None else True
    return False


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def _reason(response: httpx.Response, secrets: list[str]) -> str:
    """A short, printable reason from an error answer, with secrets masked."""
    text = re.sub(r"[^\w .,:'()/-]+", " ", response.text[:160]).strip()
    for s in secrets:
        text = text.replace(s, "***") if len(s) > 3 else text
    return f" ({text[:120]})" if text else ""


class HttpAlertChannel(AlertChannel):
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
            with masked_http_log(secrets), httpx.Client(timeout=httpx.Timeout(self.timeout_s)) as client:
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
