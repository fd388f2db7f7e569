"""``EmbeddingCache``: never pay twice for the same text.

Vectors are kept by ``(model, sha256 of the exact text sent)``, so a rerun
after a load failure, a resumed recovery or a re-embed that crashed halfway
gets its vectors from disk instead of from a paid API. The key is the
embedder's ``model_name`` (model and size, e.g. ``text-embedding-3-large-3072``)
and the text as the embed stage hands it to ``embed(..., "document")``;
provider-side prefixes and truncation are functions of the two.

Why a SQLite file under the home folder (``<home>/embedding_cache.sqlite``)
and not a table in the lineage database: the lineage database is PostgreSQL
in production, shared, backed up and read by dashboards; a 3072-d vector is
12 KB, so 100k cases are 1.2 GB of blobs that it should not carry. The cache
is disposable (deleting the file costs money, never correctness), local to
the machine that holds the run folders, and SQLite in WAL mode serves the
embed stage's worker threads and a concurrent reader without a server.
DuckDB was the other candidate; it allows one process per file, and a
reconcile or a second CLI call would then fail on the lock.

- Lookups and inserts are batched: one ``IN (...)`` query per chunk of
  hashes, one ``executemany`` per chunk of vectors in one transaction;
  never a statement per record from Python's side of a network hop.
- Memory is bounded by the chunk being embedded; nothing is held in RAM.
- Size is capped: ``prune()`` drops entries older than ``max_age_days`` and
  then the least recently written beyond ``max_entries`` (the embed stage
  prunes once per run).

Texts are never stored, only their hashes; the vectors of redacted texts are
what the store holds anyway.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

__all__ = ["EmbeddingCache", "CacheSettings", "text_key"]

_IN_CHUNK = 500  # hashes per lookup: far below SQLite's bound-parameter limit
_WRITE_CHUNK = 2_000


def text_key(text: str) -> bytes:
    """SHA-256 of the exact text, as the cache key's second half."""
    return hashlib.sha256(text.encode("utf-8")).digest()


class CacheSettings(BaseModel):
    """The ``[embedder.cache]`` table of the configuration file."""

    enabled: bool | None = Field(
        None, description="Cache vectors; default: only for embedders that call a remote API (HTTP embedders).")
    path: str | None = Field(None, description="SQLite file; default <home>/embedding_cache.sqlite.")
    max_entries: int = Field(500_000, ge=1, description="Most vectors kept (about 6 GB at 3072 dimensions).")
    max_age_days: float = Field(90.0, gt=0, description="Vectors older than this are dropped.")


class EmbeddingCache:
    """Vectors by (model, sha256(text)) in one SQLite file; see the module docstring.

    Example:
        ```python
        with EmbeddingCache(home / "embedding_cache.sqlite") as cache:
            found = cache.get("text-embedding-3-large-3072", texts, 3072)   # {index: vector}
            cache.put("text-embedding-3-large-3072", missing_texts, vectors)
        ```

    The connection opens on first use and closes with ``close()`` or the
    ``with`` block; it is shared by threads behind a lock.
    """

    def __init__(self, path: Path | str, *, max_entries: int = 500_000, max_age_days: float = 90.0):
        self.path = Path(path)
        self.max_entries = max_entries
        self.max_age_days = max_age_days
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS embedding_cache ("
                " model TEXT NOT NULL, text_sha256 BLOB NOT NULL, dims INTEGER NOT NULL,"
                " vector BLOB NOT NULL, written_at REAL NOT NULL,"
                " PRIMARY KEY (model, text_sha256)) WITHOUT ROWID"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS ix_embedding_cache_written ON embedding_cache (written_at)")
            self._conn = conn
        return self._conn

    def get(self, model: str, texts: Sequence[str], dims: int) -> dict[int, np.ndarray]:
        """Cached vectors of ``texts`` under ``model``, by position; absent texts are left out.

        A stored vector of another size or with non-finite values is treated
        as absent (and will be overwritten), so the cache never hands out
        what the stage would refuse from a provider.
        """
        keys = [text_key(t) for t in texts]
        positions: dict[bytes, list[int]] = {}
        for i, key in enumerate(keys):
            positions.setdefault(key, []).append(i)
        distinct = list(positions)
        found: dict[int, np.ndarray] = {}
        with self._lock:
            conn = self._connection()
            for lo in range(0, len(distinct), _IN_CHUNK):
                chunk = distinct[lo : lo + _IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT text_sha256, dims, vector FROM embedding_cache WHERE model = ? AND text_sha256 IN ({marks})",
                    [model, *chunk],
                ).fetchall()
                for key, stored_dims, blob in rows:
                    if stored_dims != dims or len(blob) != 4 * dims:
                        continue
                    vector = np.frombuffer(blob, dtype="<f4").astype(np.float32)
                    if not np.isfinite(vector).all():
                        continue
                    for i in positions[key]:
                        found[i] = vector
        self.hits += len(found)
        self.misses += len(texts) - len(found)
        return found

    def put(self, model: str, texts: Sequence[str], vectors: np.ndarray) -> int:
        """Store the vectors of ``texts`` (row i for text i); returns how many were written."""
        matrix = np.asarray(vectors, dtype="<f4")
        if matrix.ndim != 2 or matrix.shape[0] != len(texts):
            raise ValueError(f"put(): {len(texts)} texts but vectors of shape {matrix.shape}")
        now = time.time()
        rows = [(model, text_key(t), matrix.shape[1], matrix[i].tobytes(), now)
                for i, t in enumerate(texts) if np.isfinite(matrix[i]).all()]
        if not rows:
            return 0
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                for lo in range(0, len(rows), _WRITE_CHUNK):
                    conn.executemany(
                        "INSERT OR REPLACE INTO embedding_cache (model, text_sha256, dims, vector, written_at) "
                        "VALUES (?, ?, ?, ?, ?)", rows[lo : lo + _WRITE_CHUNK])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return len(rows)

    def count(self) -> int:
        with self._lock:
            return int(self._connection().execute("SELECT count(*) FROM embedding_cache").fetchone()[0])

    def prune(self) -> int:
        """Drop entries older than ``max_age_days``, then the oldest beyond ``max_entries``; returns how many."""
        cutoff = time.time() - self.max_age_days * 86_400
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                dropped = conn.execute("DELETE FROM embedding_cache WHERE written_at < ?", [cutoff]).rowcount
                excess = conn.execute("SELECT count(*) FROM embedding_cache").fetchone()[0] - self.max_entries
                if excess > 0:
                    dropped += conn.execute(
                        "DELETE FROM embedding_cache WHERE (model, text_sha256) IN ("
                        " SELECT model, text_sha256 FROM embedding_cache ORDER BY written_at LIMIT ?)", [excess]
                    ).rowcount
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return dropped

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> "EmbeddingCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.path)!r}, max_entries={self.max_entries})"
