"""The connection of ``WeaviateStore``: the v4 client opened lazily, readiness, outage errors.

``WeaviateConnection`` opens the client on first use (``skip_init_checks``:
no version check against the package index, which fails offline), probes
readiness before every store operation (REST ``/v1/.well-known/ready`` and
the gRPC health check, each within the init timeout) and turns outages,
timeouts and 5xx into ``StoreUnavailable``. The probe matters: against a
dead server the client's batch retries UNAVAILABLE for about half an hour
and never raises, and queries retry for about a minute.

The SDK is imported inside the methods, never at module level.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from blocks.errors import StoreSchemaMismatch, StoreUnavailable

__all__ = ["ConnectionSettings", "WeaviateConnection", "is_transient"]


@dataclass(frozen=True)
class ConnectionSettings:
    """Where and how to reach Weaviate: a self-hosted cluster, or Weaviate Cloud when ``cluster_url`` is set."""

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    http_secure: bool = False
    grpc_host: str | None = None
    grpc_port: int = 50051
    grpc_secure: bool = False
    cluster_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    init_timeout: float = 5.0
    query_timeout: float = 30.0
    insert_timeout: float = 90.0

    @property
    def rest_url(self) -> str:
        if self.cluster_url:
            url = self.cluster_url.rstrip("/")
            return url if "://" in url else f"https://{url}"
        return f"{'https' if self.http_secure else 'http'}://{self.http_host}:{self.http_port}"


def is_transient(exc: BaseException) -> bool:
    """True if ``exc`` (or what caused it) is an outage, a timeout, 429 or 5xx: worth retrying later."""
    import grpc
    from weaviate.exceptions import (
        UnexpectedStatusCodeError,
        WeaviateConnectionError,
        WeaviateGRPCUnavailableError,
        WeaviateRetryError,
        WeaviateTimeoutError,
    )

    transient_codes = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                       grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED}
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (httpx.TransportError, WeaviateConnectionError, WeaviateTimeoutError,
                                WeaviateRetryError, WeaviateGRPCUnavailableError, TimeoutError, ConnectionError)):
            return True
        if isinstance(current, UnexpectedStatusCodeError) and (
            current.status_code >= 500 or current.status_code == 429
        ):
            return True
        if isinstance(current, grpc.RpcError) and callable(getattr(current, "code", None)):
            if current.code() in transient_codes:
                return True
        current = current.__cause__ or current.__context__
    return False


class WeaviateConnection:
    """One client and one probe client, opened lazily, closed by ``close()``; thread-safe to open."""

    def __init__(self, settings: ConnectionSettings, label: str) -> None:
        self.settings = settings
        self.label = label  # "collection 'X' at http://..." in every message
        self._lock = threading.Lock()
        self._client: Any = None
        self._http: httpx.Client | None = None

    def client(self) -> Any:
        """The connected ``weaviate.WeaviateClient`` (``StoreUnavailable`` if Weaviate cannot be reached)."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        import weaviate
        from weaviate.classes.init import AdditionalConfig, Auth, Timeout

        s = self.settings
        common = dict(
            headers=dict(s.headers),
            additional_config=AdditionalConfig(
                timeout=Timeout(init=s.init_timeout, query=s.query_timeout, insert=s.insert_timeout)
            ),
            skip_init_checks=True,
            auth_credentials=Auth.api_key(s.api_key) if s.api_key else None,
        )
        try:
            if s.cluster_url:
                return weaviate.connect_to_weaviate_cloud(cluster_url=s.rest_url, **common)
            return weaviate.connect_to_custom(
                http_host=s.http_host, http_port=s.http_port, http_secure=s.http_secure,
                grpc_host=s.grpc_host or s.http_host, grpc_port=s.grpc_port, grpc_secure=s.grpc_secure, **common,
            )
        except Exception as exc:
            if is_transient(exc):
                raise StoreUnavailable(f"cannot connect to Weaviate for {self.label}: {exc}") from exc
            raise

    def _probe_client(self) -> httpx.Client:
        with self._lock:
            if self._http is None:
                s = self.settings
                headers = dict(s.headers)
                if s.api_key:
                    headers["Authorization"] = f"Bearer {s.api_key}"
                # verify only matters for https; skipping it for plain http spares loading the CA bundle (~0.1 s)
                self._http = httpx.Client(base_url=s.rest_url, headers=headers, timeout=s.init_timeout,
                                          verify=s.rest_url.startswith("https"))
            return self._http

    def probe(self) -> None:
        """Raise ``StoreUnavailable`` unless REST is ready and gRPC serving, each within the init timeout."""
        try:
            answer = self._probe_client().get("/v1/.well-known/ready")
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"Weaviate for {self.label} did not answer: {type(exc).__name__}: {exc}") from exc
        if answer.status_code != 200:
            raise StoreUnavailable(
                f"Weaviate for {self.label} is not ready: /v1/.well-known/ready answered {answer.status_code}"
            )
        client = self.client()
        try:
            client._connection._ping_grpc("sync")  # the client's own gRPC health check, with the init timeout
        except Exception as exc:
            raise StoreUnavailable(f"Weaviate gRPC for {self.label} is not serving: {exc}") from exc

    @contextmanager
    def calling(self, action: str, collection: str) -> Iterator[Any]:
        """Probe, then yield the collection handle; transient SDK errors become ``StoreUnavailable``."""
        self.probe()
        try:
            yield self.client().collections.use(collection)
        except (StoreUnavailable, StoreSchemaMismatch):
            raise
        except Exception as exc:
            if is_transient(exc):
                raise StoreUnavailable(f"Weaviate failed to {action} for {self.label}: {exc}") from exc
            raise

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
            if self._http is not None:
                self._http.close()
            self._client = self._http = None
