"""Requests and answers of HTTP embedding APIs, without I/O.

How texts become requests (truncation, task prefixes, packing by count and
estimated tokens) and how answers become vectors (count, size, finiteness),
plus the errors ``HttpEmbedder`` raises beyond ``blocks.errors``::

    EmbedderUnavailable             (blocks.errors) retries exhausted
    └── EmbedderBadResponse         answered, but not with usable vectors
    EmbedderRejected                (blocks.errors) 401/403/404, other 4xx
    └── EmbedderInputRejected       some texts refused alone; carries their
                                    indexes and the vectors of every other text

Tokens are estimated as characters / ``chars_per_token``: no tokenizer is
downloaded or loaded. Messages never quote a text.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import numpy as np

from blocks.errors import EmbedderRejected, EmbedderUnavailable

__all__ = [
    "KNOWN_DIMENSIONS",
    "EmbedderBadResponse",
    "EmbedderInputRejected",
    "RejectBudget",
    "checked_matrix",
    "error_code",
    "estimate_tokens",
    "plan_requests",
    "prepare_texts",
    "retry_after_seconds",
]

#: Native vector size of well-known models, used when ``dimensions`` is not set.
KNOWN_DIMENSIONS: dict[str, int] = {
    "text-embedding-3-large": 3072,
    "text-embedding-3-small": 1536,
    "text-embedding-ada-002": 1536,
    "nomic-embed-text": 768,
    "mxbai-embed-large": 1024,
    "all-minilm": 384,
}

class EmbedderBadResponse(EmbedderUnavailable):
    """The service answered, but not with usable vectors (count, size, NaN, JSON)."""


class EmbedderInputRejected(EmbedderRejected):
    """The service refused some texts even when sent alone (HTTP 400/413/422).

    ``indexes`` are positions in the ``texts`` given to ``embed``; ``reasons``
    maps each to a short reason without the text. ``vectors`` holds the vectors
    of every other text (zero rows at ``indexes``), so the caller need not pay
    for them twice.
    """

    def __init__(self, message: str, *, indexes: Sequence[int], reasons: dict[int, str],
                 vectors: np.ndarray | None = None):
        super().__init__(message)
        self.indexes = tuple(indexes)
        self.reasons = dict(reasons)
        self.vectors = vectors


def prepare_texts(texts: Sequence[str | None], limit_chars: int, prefix: str) -> list[str]:
    """Each text cut to ``limit_chars`` including ``prefix``, prefixed; an empty result becomes one space."""
    room = max(1, limit_chars - len(prefix))
    out = []
    for text in texts:
        text = (text or "")[:room]
        out.append(prefix + text if (prefix or text) else " ")
    return out


def estimate_tokens(text: str, chars_per_token: float) -> int:
    """Upper-leaning token estimate: characters / chars_per_token, plus one."""
    return math.ceil(len(text) / chars_per_token) + 1


def plan_requests(token_counts: Sequence[int], max_inputs: int, max_tokens: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` ranges of consecutive texts, each within both limits (a lone text always fits)."""
    ranges: list[tuple[int, int]] = []
    lo, tokens = 0, 0
    for i, count in enumerate(token_counts):
        if i > lo and (i - lo >= max_inputs or tokens + count > max_tokens):
            ranges.append((lo, i))
            lo, tokens = i, 0
        tokens += count
    if lo < len(token_counts):
        ranges.append((lo, len(token_counts)))
    return ranges


def retry_after_seconds(headers: httpx.Headers, now: datetime | None = None) -> float | None:
    """Seconds a 429/503 asks to wait: ``retry-after-ms``, or ``Retry-After`` (seconds or HTTP date)."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def checked_matrix(rows: Any, expected: int, size: int, where: str) -> np.ndarray:
    """``rows`` as a ``(expected, size)`` float32 matrix of finite values, or ``EmbedderBadResponse``."""
    if not isinstance(rows, list) or len(rows) != expected:
        got = len(rows) if isinstance(rows, list) else type(rows).__name__
        raise EmbedderBadResponse(f"{where}: expected {expected} vectors, got {got}")
    # decoded base64 rows are float32 already; JSON numbers are read as float64 so that a value
    # too large for float32 shows up as infinite instead of being silently clipped
    decoded = all(isinstance(row, np.ndarray) and row.dtype == np.float32 for row in rows)
    try:
        matrix = np.asarray(rows, dtype=np.float32 if decoded else np.float64)
    except (TypeError, ValueError):
        raise EmbedderBadResponse(f"{where}: vectors are not lists of numbers of one size") from None
    if matrix.shape != (expected, size):
        raise EmbedderBadResponse(f"{where}: expected vectors of {size} dimensions, got shape {matrix.shape}")
    with np.errstate(over="ignore"):
        matrix = matrix.astype(np.float32, copy=False)
    finite = np.isfinite(matrix)
    if not finite.all():
        raise EmbedderBadResponse(
            f"{where}: {int((~finite).any(axis=1).sum())} of {expected} vectors hold NaN or infinite values"
        )
    return matrix


def error_code(response: httpx.Response) -> str:
    """The provider's error type or code (never its free-text message, which may quote the input or key)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    if isinstance(error, dict):
        parts = list(dict.fromkeys(str(error[k]) for k in ("type", "code") if error.get(k)))
        return "(" + ", ".join(parts)[:80] + ")" if parts else ""
    return ""


class RejectBudget:
    """Counts texts refused alone within one ``embed`` call; too many means the request itself is wrong."""

    def __init__(self, limit: int):
        self.limit = limit
        self.spent = 0
        self._lock = threading.Lock()

    def spend(self, where: str) -> None:
        with self._lock:
            self.spent += 1
            if self.spent > self.limit:
                raise EmbedderRejected(
                    f"{where} refused more than {self.limit} texts one by one: the request itself is refused "
                    "(model, dimensions or parameters?)"
                )
