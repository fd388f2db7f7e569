"""A stand-in embedding service on loopback: OpenAI, Azure OpenAI and Ollama APIs.

A real HTTP/1.1 server (stdlib ``ThreadingHTTPServer``, keep-alive) that the
real httpx client talks to. Vectors are deterministic: ``HashingEmbedder`` of
the text as received, at the size the request asks for (``dimensions``) or
the model's size, so similar texts stay similar and prefixes matter.

Routes::

    POST .../embeddings                                   OpenAI (Authorization: Bearer)
    POST /openai/deployments/{d}/embeddings?api-version=  Azure (api-key header)
    POST /api/embed                                       Ollama

Faults are scripted: ``fail_next``, ``rate_limit_next``, ``slow_next``,
``wrong_dimensions_next``, ``nan_next``, ``malformed_next``,
``missing_vector_next`` act on the next N requests, in arrival order;
``down(status)``, ``reject_inputs_containing(marker)`` and ``api_key`` hold
until changed (``api_key`` applies to the OpenAI and Azure routes). ``latency_s`` delays every answer. Every request is recorded
(``requests``), with the most requests ever in flight at once
(``max_in_flight``) and the TCP connections accepted (``connections``).

The ``embedding_standin`` fixture yields a fresh server per test;
``shared_standin()`` is one fault-free server per process (for contract
factories, which a fresh process must be able to rebuild).
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from blocks.hashing_embedder import HashingEmbedder

__all__ = ["EmbeddingStandIn", "RequestRecord", "embedding_standin", "shared_standin"]

_CACHE_ROWS = 20_000
MODEL_DIMENSIONS = {"text-embedding-3-large": 3072, "text-embedding-3-small": 1536, "nomic-embed-text": 768,
                    "mxbai-embed-large": 1024}


@dataclass
class RequestRecord:
    """One request as the stand-in saw it."""

    api: str  # openai | azure | ollama | unknown
    path: str
    inputs: list[str]
    body: dict
    headers: dict[str, str]
    started: float
    finished: float = math.nan
    status: int = 0


@dataclass
class _Fault:
    kind: str
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0


@dataclass
class _Script:
    faults: deque = field(default_factory=deque)
    down_status: int | None = None
    reject_markers: list[str] = field(default_factory=list)


class EmbeddingStandIn:
    """The server and its fault controls; see the module docstring."""

    def __init__(self, *, api_key: str | None = None, latency_s: float = 0.0, default_dimensions: int = 768):
        self.api_key = api_key
        self.latency_s = latency_s
        self.default_dimensions = default_dimensions
        self.requests: list[RequestRecord] = []
        self.connections = 0
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._script = _Script()
        self._embedders: dict[int, HashingEmbedder] = {}
        self._cache: dict[tuple[int, str], np.ndarray] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="embedding-standin", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ addresses

    @property
    def url(self) -> str:
        """Root URL, e.g. http://127.0.0.1:PORT (OpenAI base_url is url + "/v1")."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ------------------------------------------------------------------ faults

    def fail_next(self, n: int, status: int = 503) -> None:
        """The next ``n`` requests get ``status`` (a 5xx burst, or a 401...)."""
        self._push(n, _Fault("status", status=status))

    def rate_limit_next(self, n: int, retry_after: str | None = "1") -> None:
        """The next ``n`` requests get 429 with ``Retry-After: retry_after`` (None: no header)."""
        self._push(n, _Fault("status", status=429, retry_after=retry_after))

    def slow_next(self, n: int, seconds: float) -> None:
        """The next ``n`` requests answer after ``seconds`` (longer than the client timeout: a timeout)."""
        self._push(n, _Fault("slow", seconds=seconds))

    def wrong_dimensions_next(self, n: int) -> None:
        """The next ``n`` answers hold vectors one dimension short."""
        self._push(n, _Fault("wrong_dimensions"))

    def nan_next(self, n: int) -> None:
        """The next ``n`` answers hold a NaN in their first vector."""
        self._push(n, _Fault("nan"))

    def malformed_next(self, n: int) -> None:
        """The next ``n`` answers are 200 with a body that is not JSON."""
        self._push(n, _Fault("malformed"))

    def missing_vector_next(self, n: int) -> None:
        """The next ``n`` answers hold one vector fewer than there were inputs."""
        self._push(n, _Fault("missing_vector"))

    def down(self, status: int | None = 503) -> None:
        """Every request gets ``status`` until ``down(None)``."""
        with self._lock:
            self._script.down_status = status

    def reject_inputs_containing(self, marker: str) -> None:
        """A request with any input containing ``marker`` gets 400 (as OpenAI does for a bad input)."""
        with self._lock:
            self._script.reject_markers.append(marker)

    def reset(self) -> None:
        """Forget faults and records."""
        with self._lock:
            self._script = _Script()
            self.requests.clear()
            self.connections = self.max_in_flight = 0

    # ------------------------------------------------------------------ records

    def statuses(self) -> list[int]:
        """Status of every finished request, in arrival order."""
        with self._lock:
            return [r.status for r in self.requests]

    def inputs_seen(self) -> list[str]:
        """Every input of every request, in arrival order."""
        with self._lock:
            return [text for r in self.requests for text in r.inputs]

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "EmbeddingStandIn":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ serving

    def _push(self, n: int, fault: _Fault) -> None:
        with self._lock:
            self._script.faults.extend([fault] * n)

    def _vectors(self, texts: list[str], dims: int) -> np.ndarray:
        """Hashing vectors, remembered per text so a busy stand-in costs little CPU (latency is simulated)."""
        with self._lock:
            embedder = self._embedders.setdefault(dims, HashingEmbedder(dimensions=dims))
            known = {t: self._cache[(dims, t)] for t in texts if (dims, t) in self._cache}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = dict(zip(missing, embedder.embed(missing)))
            with self._lock:
                if len(self._cache) > _CACHE_ROWS:
                    self._cache.clear()
                self._cache.update({(dims, t): v for t, v in fresh.items()})
            known.update(fresh)
        return np.stack([known[t] for t in texts])

    def _serve(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for one request (called with the request counted in flight)."""
        split = urlsplit(handler.path)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "invalid_request_error", "body is not JSON")
        api = _api(split.path)
        raw_inputs = payload.get("input", []) if isinstance(payload, dict) else []
        inputs = [raw_inputs] if isinstance(raw_inputs, str) else list(raw_inputs)
        record = RequestRecord(api, split.path, inputs, payload, dict(handler.headers.items()), time.monotonic())
        with self._lock:
            self.requests.append(record)
            fault = self._script.faults.popleft() if self._script.faults else None
            down, markers = self._script.down_status, list(self._script.reject_markers)
        if self.latency_s:
            time.sleep(self.latency_s)
        status, headers, out = self._answer(api, split, handler, payload, inputs, fault, down, markers)
        record.status, record.finished = status, time.monotonic()
        return status, headers, out

    def _answer(self, api, split, handler, payload, inputs, fault, down, markers):
        if api == "unknown":
            return _error(404, "not_found", f"no route {split.path}")
        if self.api_key is not None and api != "ollama":  # Ollama has no authentication
            given = handler.headers.get("api-key") if api == "azure" else handler.headers.get("authorization")
            expected = self.api_key if api == "azure" else f"Bearer {self.api_key}"
            if given != expected:
                return _error(401, "invalid_api_key", "Incorrect API key provided")
        if api == "azure" and "api-version" not in parse_qs(split.query):
            return _error(404, "not_found", "api-version missing")
        if fault is not None and fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            status, headers_, out = _error(fault.status, "standin_fault", f"scripted {fault.status}")
            return status, {**headers_, **headers}, out
        if down is not None:
            return _error(down, "standin_down", "service down")
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "malformed":
            return 200, {"Content-Type": "application/json"}, b'{"data": [{"embedding": [0.1, 0.2'
        if not inputs or any(not isinstance(t, str) for t in inputs):
            return _error(400, "invalid_request_error", "input must be a string or a list of strings")
        if api != "ollama" and any(t == "" for t in inputs):
            return _error(400, "invalid_request_error", "'$.input' is invalid")
        if any(marker in t for t in inputs for marker in markers):
            return _error(400, "invalid_request_error", "input rejected")
        model = payload.get("model") or split.path.split("/")[3 if api == "azure" else 0]
        dims = int(payload.get("dimensions") or MODEL_DIMENSIONS.get(model, self.default_dimensions))
        vectors = self._vectors(inputs, dims)
        if fault is not None and fault.kind == "wrong_dimensions":
            vectors = vectors[:, :-1]
        if fault is not None and fault.kind == "nan":
            vectors = vectors.copy()
            vectors[0, 0] = np.nan
        if fault is not None and fault.kind == "missing_vector":
            vectors = vectors[:-1]
        json_type = {"Content-Type": "application/json"}
        if api == "ollama":
            # json.dumps writes NaN as NaN, which httpx's json() accepts, like a sloppy server's output
            return 200, json_type, json.dumps({"model": model, "embeddings": vectors.astype(np.float64).tolist()}).encode()
        usage = {"prompt_tokens": sum(len(t) // 4 for t in inputs), "total_tokens": 0}
        if payload.get("encoding_format") != "base64":
            rows = vectors.astype(np.float64).tolist()
            data = [{"object": "embedding", "index": i, "embedding": row} for i, row in enumerate(rows)]
            return 200, json_type, json.dumps({"object": "list", "model": model, "data": data, "usage": usage}).encode()
        # base64 answers are assembled as bytes: json.dumps of megabytes of base64 would make the
        # stand-in, not the client, the bottleneck of the concurrency benchmark
        items = b",".join(b'{"object":"embedding","index":%d,"embedding":"%s"}' % (i, base64.b64encode(v.astype("<f4").tobytes()))
                          for i, v in enumerate(vectors))
        head = json.dumps({"object": "list", "model": model, "usage": usage})[:-1].encode()
        return 200, json_type, head + b',"data":[' + items + b"]}"

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1


def _api(path: str) -> str:
    if path.startswith("/openai/deployments/") and path.endswith("/embeddings"):
        return "azure"
    if path.endswith("/embeddings"):
        return "openai"
    if path == "/api/embed":
        return "ollama"
    return "unknown"


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = {"error": {"message": message, "type": code, "code": code}}
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _handler_for(standin: EmbeddingStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: connections are reused

        def setup(self) -> None:
            super().setup()
            with standin._lock:
                standin.connections += 1

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            standin._enter()
            try:
                status, headers, out = standin._serve(self, body)
            finally:
                standin._leave()
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                self.close_connection = True

        def do_GET(self) -> None:  # noqa: N802
            out = b"Ollama is running"
            self.send_response(200)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - silence access logs
            pass

    return Handler


_shared: EmbeddingStandIn | None = None
_shared_lock = threading.Lock()


def shared_standin() -> EmbeddingStandIn:
    """One fault-free stand-in per process, started on first use (never reset by tests)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = EmbeddingStandIn()
        return _shared


@pytest.fixture
def embedding_standin():
    """A fresh stand-in per test: ``.url``, fault controls and request records."""
    with EmbeddingStandIn() as server:
        yield server


def main() -> None:
    """``python -m tests.embedding_standin [--latency S] [--api-key K]``: serve until stdin closes.

    Prints the URL as its first line (for benchmarks that run the stand-in in
    its own process, so its CPU does not compete with the client's).
    """
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args()
    with EmbeddingStandIn(api_key=args.api_key, latency_s=args.latency) as server:
        print(server.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
