"""``HttpEmbedder``: what every embedder that calls an HTTP embedding API shares.

A concrete provider says where a request goes and how it looks
(``_endpoint``, ``_headers``, ``_payload``) and where the vectors are in the
answer (``_parse``); this class does the rest, the same way for every one:

1. **Prepare.** Texts longer than ``max_input_tokens`` are cut (estimated as
   characters / ``chars_per_token``: no tokenizer), task prefixes are added
   (Nomic models by default), an empty text is sent as one space.
2. **Plan.** Consecutive texts are packed into requests of at most
   ``max_batch_inputs`` texts and ``max_batch_tokens`` estimated tokens.
3. **Send.** Up to ``max_concurrency`` requests in flight over one pooled
   ``httpx.Client`` (opened on first use, closed by ``close()`` or ``with``).
   stamina retries 429 (waiting what ``Retry-After`` asks, capped), 408, 5xx,
   timeouts and connection errors; 401/403/404 are terminal at once.
4. **Check.** Every answer must hold one finite vector of ``vector_size``
   numbers per text, or it is a provider failure and nothing is returned.
5. **Isolate.** A 400 (or 413/422) for a request of several texts splits it
   in halves until each refused text is alone; the others are embedded and
   ``EmbedderInputRejected`` names the refused positions.

The pure parts (planning, checks, the two extra errors) live in
``blocks.embedding_requests``. Messages name the provider, host and model;
never the key, never a text.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import stamina
from pydantic import Field, PrivateAttr, SecretStr, model_validator

from blocks.embedder import Embedder, Purpose
from blocks.embedding_requests import (
    KNOWN_DIMENSIONS,
    EmbedderBadResponse,
    EmbedderInputRejected,
    RejectBudget,
    checked_matrix,
    error_code,
    estimate_tokens,
    plan_requests,
    prepare_texts,
    retry_after_seconds,
)
from blocks.errors import EmbedderRejected, EmbedderUnavailable

__all__ = ["HttpEmbedder", "EmbedderBadResponse", "EmbedderInputRejected"]


_RETRY_STATUS = frozenset({408, 429})
_SPLIT_STATUS = frozenset({400, 413, 422})


class _RetryableStatus(Exception):
    """A 408, 429 or 5xx answer; ``retry_after`` in seconds when the server asked."""

    def __init__(self, status: int, retry_after: float | None):
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class _Refused(Exception):
    """A 400/413/422 for the texts of one request."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Connection:
    """The lazily opened client, worker pool and request slots of one embedder.

    A deep copy or an unpickled block gets an empty one and opens its own:
    clients and threads cannot be copied, and blocks cross process boundaries.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.client: httpx.Client | None = None
        self.pool: ThreadPoolExecutor | None = None
        self.slots: threading.BoundedSemaphore | None = None

    def __deepcopy__(self, memo) -> "_Connection":
        return _Connection()

    def __reduce__(self):
        return (_Connection, ())

    def close(self) -> None:
        with self.lock:
            client, pool = self.client, self.pool
            self.client = self.pool = self.slots = None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if client is not None:
            client.close()


class HttpEmbedder(Embedder):
    """Base of embedders that call an HTTP API; see the module docstring."""

    _provider: str = "HTTP"

    base_url: str = Field(description="Root URL of the API, e.g. https://gateway.example.com/v1.")
    model: str = Field(description="Model name as the API knows it, e.g. text-embedding-3-large.")
    dimensions: int | None = Field(
        default=None, ge=1, le=65_536,
        description="Vector size expected from the API (and requested, where the API takes it); "
                    "defaults to the model's known native size.",
    )
    api_key: SecretStr | None = Field(default=None, description="API key; give it as api_key_env in the configuration file.")
    extra_headers: dict[str, str] = Field(
        default_factory=dict, description="Headers added to every request (not for secrets: use api_key)."
    )
    timeout_s: float = Field(default=60.0, gt=0, description="Seconds to wait for one request (connect, send, answer).")
    max_batch_inputs: int = Field(default=256, ge=1, description="Most texts in one request.")
    max_batch_tokens: int = Field(default=250_000, ge=1, description="Most estimated tokens in one request.")
    max_input_tokens: int = Field(default=8191, ge=16, description="Longer texts are cut to this many estimated tokens.")
    chars_per_token: float = Field(
        default=3.0, gt=0, le=8,
        description="Characters per token for estimates (conservative: IDs and codes tokenise densely).",
    )
    max_concurrency: int = Field(default=8, ge=1, le=64,
                                 description="Most requests in flight at once (8: 4.6x sequential at 100 ms latency).")
    retry_attempts: int = Field(default=6, ge=1, description="Attempts per request before the service counts as unavailable.")
    retry_timeout_s: float = Field(default=120.0, gt=0, description="Most seconds spent retrying one request.")
    retry_wait_initial_s: float = Field(default=0.5, ge=0, description="First backoff; doubles up to retry_wait_max_s.")
    retry_wait_max_s: float = Field(default=20.0, ge=0, description="Longest backoff between attempts.")
    max_retry_after_s: float = Field(default=60.0, ge=0, description="Longest Retry-After wait honoured for a 429/503.")
    max_rejected_inputs: int = Field(
        default=16, ge=1,
        description="More texts refused one by one in one call means the request itself is wrong: stop.",
    )
    document_prefix: str | None = Field(
        default=None, description='Prefix for texts being indexed; default "search_document: " for Nomic models, else none.'
    )
    query_prefix: str | None = Field(
        default=None, description='Prefix for search queries; default "search_query: " for Nomic models, else none.'
    )

    _connection: _Connection = PrivateAttr(default_factory=_Connection)

    @model_validator(mode="after")
    def _size_known(self) -> "HttpEmbedder":
        if self.dimensions is None and self.model not in KNOWN_DIMENSIONS:
            raise ValueError(
                f"dimensions: required for model {self.model!r} (native size known only for "
                f"{', '.join(sorted(KNOWN_DIMENSIONS))})"
            )
        return self

    # ----------------------------------------------------------- provider hooks

    @abstractmethod
    def _endpoint(self) -> str:
        """Full URL of the embedding endpoint."""

    @abstractmethod
    def _headers(self) -> dict[str, str]:
        """Authentication headers (extra_headers are added by the base)."""

    @abstractmethod
    def _payload(self, texts: list[str]) -> dict[str, Any]:
        """JSON body for prepared ``texts``."""

    @abstractmethod
    def _parse(self, body: Any) -> list:
        """The vectors of a decoded answer, in input order; raise KeyError/TypeError/ValueError if absent."""

    # ------------------------------------------------------------------ public

    @property
    def model_name(self) -> str:
        """``<model>-<vector_size>``, e.g. text-embedding-3-large-3072."""
        return f"{self.model}-{self.vector_size}"

    @property
    def vector_size(self) -> int:
        return self.dimensions if self.dimensions is not None else KNOWN_DIMENSIONS[self.model]

    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> np.ndarray:
        """Embed ``texts``; shape ``(len(texts), vector_size)``, float32, finite."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one str")
        prepared = self._prepare(texts, purpose)
        out = np.zeros((len(prepared), self.vector_size), dtype=np.float32)
        if not prepared:
            return out
        tokens = [estimate_tokens(t, self.chars_per_token) for t in prepared]
        ranges = plan_requests(tokens, self.max_batch_inputs, self.max_batch_tokens)
        budget = RejectBudget(self.max_rejected_inputs)
        refused: dict[int, str] = {}

        def run(lo: int, hi: int) -> None:
            vectors, bad = self._embed_isolating(prepared[lo:hi], budget)
            out[lo:hi] = vectors
            refused.update({lo + i: reason for i, reason in bad.items()})

        if len(ranges) == 1:
            run(*ranges[0])
        else:
            futures = [self._open()[1].submit(run, lo, hi) for lo, hi in ranges]
            try:
                for future in futures:
                    future.result()
            finally:
                for future in futures:
                    future.cancel()
        if refused:
            indexes = sorted(refused)
            raise EmbedderInputRejected(
                f"{self._describe()} refused {len(indexes)} of {len(prepared)} texts even when sent alone "
                f"(positions {indexes[:10]}{' ...' if len(indexes) > 10 else ''})",
                indexes=indexes, reasons=refused, vectors=out,
            )
        return out

    def is_healthy(self) -> bool:
        """One small request, no retries: does the service answer with a vector of the right size?"""
        try:
            self._send([" "], retry=False)
        except (EmbedderUnavailable, EmbedderRejected, _Refused):
            return False
        return True

    def close(self) -> None:
        """Close the HTTP client and the worker pool; the next call opens new ones."""
        self._connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --------------------------------------------------------------- internals

    def _describe(self) -> str:
        return f"{self._provider} embedder at {urlsplit(self.base_url).netloc or self.base_url} (model {self.model!r})"

    def _prefix(self, purpose: Purpose) -> str:
        configured = self.query_prefix if purpose == "query" else self.document_prefix
        if configured is not None:
            return configured
        if "nomic" in self.model.lower():
            return "search_query: " if purpose == "query" else "search_document: "
        return ""

    def _prepare(self, texts: Sequence[str], purpose: Purpose) -> list[str]:
        return prepare_texts(texts, int(self.max_input_tokens * self.chars_per_token), self._prefix(purpose))

    def _open(self) -> tuple[httpx.Client, ThreadPoolExecutor, threading.BoundedSemaphore]:
        conn = self._connection
        with conn.lock:
            if conn.client is None:
                conn.client = httpx.Client(
                    timeout=httpx.Timeout(self.timeout_s),
                    limits=httpx.Limits(max_connections=self.max_concurrency,
                                        max_keepalive_connections=self.max_concurrency),
                    headers={**self.extra_headers, **self._headers()},
                )
                conn.pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix=f"embed-{self.model}")
                conn.slots = threading.BoundedSemaphore(self.max_concurrency)
            return conn.client, conn.pool, conn.slots

    def _embed_isolating(self, texts: list[str], budget: RejectBudget) -> tuple[np.ndarray, dict[int, str]]:
        """Vectors for ``texts``; a refused request is halved until each refused text is alone."""
        try:
            return self._send(texts), {}
        except _Refused as exc:
            if len(texts) == 1:
                budget.spend(self._describe())
                return np.zeros((1, self.vector_size), dtype=np.float32), {0: exc.reason}
        mid = len(texts) // 2
        left, left_bad = self._embed_isolating(texts[:mid], budget)
        right, right_bad = self._embed_isolating(texts[mid:], budget)
        return np.vstack([left, right]), {**left_bad, **{mid + i: r for i, r in right_bad.items()}}

    def _send(self, texts: list[str], *, retry: bool = True) -> np.ndarray:
        """One request with retries; checked ``(len(texts), vector_size)`` float32."""
        client, _, slots = self._open()
        url, payload = self._endpoint(), self._payload(texts)
        attempts = 0
        try:
            for attempt in stamina.retry_context(
                on=self._backoff,
                attempts=self.retry_attempts if retry else 1,
                timeout=self.retry_timeout_s,
                wait_initial=self.retry_wait_initial_s,
                wait_max=self.retry_wait_max_s,
                wait_jitter=min(1.0, self.retry_wait_initial_s),
            ):
                with attempt:
                    attempts += 1
                    with slots:
                        response = client.post(url, json=payload)
                    body = self._check_status(response)
        except _RetryableStatus as exc:
            raise EmbedderUnavailable(
                f"{self._describe()}: still HTTP {exc.status} after {attempts} attempts ({len(texts)} texts)"
            ) from None
        except httpx.UnsupportedProtocol as exc:
            raise EmbedderRejected(f"{self._describe()}: base_url {self.base_url!r} is not an http(s) URL") from exc
        except httpx.TransportError as exc:
            raise EmbedderUnavailable(
                f"{self._describe()}: still {type(exc).__name__} after {attempts} attempts ({len(texts)} texts)"
            ) from exc
        return self._vectors(body, len(texts))

    def _backoff(self, exc: Exception) -> bool | float:
        """stamina hook: retry 408/429/5xx (waiting Retry-After if given) and transport errors."""
        if isinstance(exc, _RetryableStatus):
            if exc.retry_after is not None:
                return min(exc.retry_after, self.max_retry_after_s)
            return True
        return isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.UnsupportedProtocol)

    def _check_status(self, response: httpx.Response) -> Any:
        status = response.status_code
        if status in _RETRY_STATUS or status >= 500:
            raise _RetryableStatus(status, retry_after_seconds(response.headers))
        if status in _SPLIT_STATUS:
            raise _Refused(status, f"HTTP {status} {error_code(response)}".rstrip())
        if status in (401, 403):
            raise EmbedderRejected(
                f"{self._describe()} refused the credentials (HTTP {status}); check api_key and its access to the model"
            )
        if status == 404:
            raise EmbedderRejected(
                f"{self._describe()}: HTTP 404 for {urlsplit(self._endpoint()).path}; check base_url and the model or deployment name"
            )
        if status >= 400:
            raise EmbedderRejected(f"{self._describe()}: HTTP {status} {error_code(response)}".rstrip())
        try:
            return response.json()
        except ValueError:
            raise EmbedderBadResponse(
                f"{self._describe()}: answer is not JSON ({len(response.content)} bytes, "
                f"content-type {response.headers.get('content-type')!r})"
            ) from None

    def _vectors(self, body: Any, expected: int) -> np.ndarray:
        try:
            rows = self._parse(body)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise EmbedderBadResponse(f"{self._describe()}: answer has no vectors where expected ({type(exc).__name__})") from None
        return checked_matrix(rows, expected, self.vector_size, self._describe())
