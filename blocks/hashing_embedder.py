"""``HashingEmbedder``: a deterministic, offline feature-hashing embedder.

The default embedder: it needs no service, no model file and no network, and
the same text gives the same vector in every process, on every machine.

How a text becomes a vector (the definition of ``hashing-v1``):

1. Lowercase the text and split it into word tokens (``\\w+``, Unicode aware).
2. Each token's 64-bit hash is the first 8 bytes of its UTF-8 MD5 digest, read
   little-endian. Word n-grams (up to ``max_ngram``) are hashed by mixing the
   hashes of their words (SplitMix64 finaliser), so no n-gram string is built.
3. A feature adds ``+1`` or ``-1`` (bit 63 of its hash) at index
   ``hash % dimensions``; the sums are L2-normalised to float32.
4. A text without tokens (or whose features cancel out) gets a fixed unit
   vector: ``+1`` at the index of the reserved feature ``"<empty>"``.

Python's ``hash()`` is salted per process and is never used.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from itertools import chain

import numpy as np
from pydantic import Field

from blocks.embedder import Embedder, Purpose

__all__ = ["HashingEmbedder"]

_TOKEN = re.compile(r"\w+")
# ASCII fast path of the same tokenizer: A-Z lowered, every byte that is not
# [a-z0-9_] becomes a space, then bytes.split(). Identical to ``\w+`` on
# ASCII text and about four times faster than the regex.
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_")
_ASCII_TABLE = bytes(
    c + 32 if 65 <= c <= 90 else (c if c in _WORD_BYTES else 32) for c in range(256)
)
_EMPTY_FEATURE = "<empty>"
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_NGRAM_SEED = np.uint64(0x9E3779B97F4A7C15)
_SIGN_BIT = np.uint64(63)


def _tokens(text: str | None) -> list[bytes]:
    """Lowercased ``\\w+`` word tokens of ``text``, UTF-8 encoded."""
    if not text:
        return []
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_TABLE).split()
    return [t.encode("utf-8") for t in _TOKEN.findall(text.lower())]


def _token_hashes(tokens: Sequence[bytes]) -> np.ndarray:
    """Stable 64-bit hash of each token (MD5 of its UTF-8 bytes, first 8 bytes, little-endian)."""
    digests = b"".join(hashlib.md5(t, usedforsecurity=False).digest()[:8] for t in tokens)
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64, copy=False)


def _mix(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Hash of an n-gram from the hash of its prefix and of its last word."""
    z = (left * _NGRAM_SEED) ^ right
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return z ^ (z >> np.uint64(31))


class HashingEmbedder(Embedder):
    """Feature-hashing embedder: word and word n-gram counts, hashed and normalised.

    Deterministic and offline; ``purpose`` is ignored (documents and queries
    share one space). Texts that share words and phrases score a higher cosine
    similarity than unrelated texts, which is all the pipeline needs from its
    default embedder.

    Example:
        ```python
        from blocks.hashing_embedder import HashingEmbedder

        embedder = HashingEmbedder.load("default")
        vectors = embedder.embed(["Memory health degraded", "Replace DIMM"])
        ```
    """

    _block_type_name = "Hashing Embedder"
    _description = "Deterministic offline feature-hashing embedder (no service needed)."

    dimensions: int = Field(
        default=3072,
        ge=2,
        le=65_536,
        description="Number of dimensions of every vector (size of the hashed feature space).",
    )
    model: str = Field(
        default="hashing-v1",
        description="Algorithm version; with the dimensions it forms model_name, e.g. hashing-v1-3072.",
    )
    max_ngram: int = Field(
        default=2,
        ge=1,
        le=3,
        description="Longest word n-gram hashed as a feature (1 = words only, 2 = words and bigrams).",
    )
    chunk_size: int = Field(
        default=2048,
        ge=1,
        description="Texts hashed together in one vectorised step; bounds working memory.",
    )

    @property
    def model_name(self) -> str:
        """``<model>-<dimensions>``, plus ``-n<max_ngram>`` when not the default 2."""
        suffix = "" if self.max_ngram == 2 else f"-n{self.max_ngram}"
        return f"{self.model}-{self.dimensions}{suffix}"

    @property
    def vector_size(self) -> int:
        return self.dimensions

    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> np.ndarray:
        """Embed ``texts`` (``purpose`` is ignored); shape ``(len(texts), dimensions)``, float32."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one str")
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(texts), self.chunk_size):
            chunk = texts[start : start + self.chunk_size]
            self._embed_chunk(chunk, out[start : start + len(chunk)])
        return out

    def _embed_chunk(self, texts: Sequence[str], out: np.ndarray) -> None:
        """Write the unit vectors of ``texts`` into ``out`` (float32, one row per text)."""
        n, dims = len(texts), self.dimensions
        token_lists = [_tokens(t) for t in texts]
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=n)
        flat = list(chain.from_iterable(token_lists))
        distinct = list(dict.fromkeys(flat))
        position = dict(zip(distinct, range(len(distinct))))
        token_ids = np.fromiter(map(position.__getitem__, flat), dtype=np.int64, count=len(flat))
        hashes = _token_hashes(distinct)[token_ids] if flat else np.empty(0, dtype=np.uint64)
        rows = np.repeat(np.arange(n, dtype=np.int64), lengths)

        feature_hashes, feature_rows = [hashes], [rows]
        gram = hashes
        for size in range(2, self.max_ngram + 1):
            # An n-gram starting at token i exists when tokens i .. i+n-1 share a row.
            same_row = rows[size - 1 :] == rows[: len(rows) - size + 1]
            gram = _mix(gram[:-1], hashes[size - 1 :])
            feature_hashes.append(gram[same_row])
            feature_rows.append(rows[: len(rows) - size + 1][same_row])

        all_hashes = np.concatenate(feature_hashes)
        all_rows = np.concatenate(feature_rows)
        index = (all_hashes % np.uint64(dims)).astype(np.int64)
        sign = 1.0 - 2.0 * (all_hashes >> _SIGN_BIT).astype(np.float64)
        sums = np.bincount(all_rows * dims + index, weights=sign, minlength=n * dims)
        matrix = sums.reshape(n, dims)

        norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
        empty = norms == 0
        norms[empty] = 1.0
        np.divide(matrix, norms[:, None], out=out, casting="same_kind")
        if empty.any():
            out[empty] = self._empty_vector()

    def _empty_vector(self) -> np.ndarray:
        vector = np.zeros(self.dimensions, dtype=np.float64)
        vector[int(_token_hashes([_EMPTY_FEATURE.encode()])[0] % np.uint64(self.dimensions))] = 1.0
        return vector
