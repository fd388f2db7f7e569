"""The ``VectorStore`` interface: where one object per case ends up.

Objects travel as Arrow tables. An object table has the column ``id`` (the
uuid5 of the case id, see ``schemas.ids``), one column per stored property
(the 44 fields of ``schemas.fields`` plus ``LINEAGE_PROPERTIES``) and one
``vector_<name>`` column per named vector (``list<float32>``, null when that
vector is absent for the object).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from prefect.blocks.core import Block

__all__ = ["VectorStore", "UpsertResult", "SearchHit", "vector_column"]


def vector_column(name: str) -> str:
    """Column of an object table that holds the named vector ``name``."""
    return f"vector_{name}"


@dataclass
class UpsertResult:
    """What the store confirmed. Only ``succeeded`` may be marked completed."""

    succeeded: list[str] = field(default_factory=list)  # case ids
    failed: list[tuple[str, str]] = field(default_factory=list)  # (case id, reason)


@dataclass(frozen=True)
class SearchHit:
    case_id: str
    score: float
    properties: dict


class VectorStore(Block, ABC):
    """One object per case, with named vectors, addressed by uuid5(case id).

    Use as a context manager: the connection or client opens lazily and closes
    on exit.
    """

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection or client; reopened lazily on next use."""

    def is_healthy(self) -> bool:
        """Readiness probe; a load checks it before writing."""
        return True

    @abstractmethod
    def ensure_schema(self, vector_sizes: Mapping[str, int]) -> None:
        """Create the collection if missing; raise ``StoreSchemaMismatch`` if it differs."""

    @abstractmethod
    def upsert(self, objects: pa.Table) -> UpsertResult:
        """Replace whole objects (removed fields disappear); report per-object outcome."""

    @abstractmethod
    def delete(self, case_ids: Sequence[str]) -> int:
        """Delete the objects of these cases; returns how many existed."""

    @abstractmethod
    def count(self) -> int:
        """Number of objects stored."""

    @abstractmethod
    def fetch(self, case_ids: Sequence[str]) -> pa.Table:
        """Properties (no vectors) of the stored objects among ``case_ids``."""

    @abstractmethod
    def iter_checksums(self, batch_size: int = 10_000) -> Iterator[pa.RecordBatch]:
        """Every stored object as ``case_id``, ``checksum`` batches, for full reconciliation."""

    @abstractmethod
    def vector_lengths(self, case_ids: Sequence[str]) -> pa.Table:
        """``case_id`` and the length of each named vector (null when absent)."""

    @abstractmethod
    def search(self, vector: np.ndarray, target_vector: str, k: int = 10) -> list[SearchHit]:
        """Nearest objects to ``vector`` on the named vector ``target_vector``."""
