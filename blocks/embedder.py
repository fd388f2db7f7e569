"""The ``Embedder`` interface: a batch of texts in, a float32 matrix out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Literal

import numpy as np
from prefect.blocks.core import Block

__all__ = ["Embedder", "Purpose"]

Purpose = Literal["document", "query"]


class Embedder(Block, ABC):
    """Turns texts into vectors of a fixed size.

    Implementations raise ``EmbedderUnavailable`` for outages (the caller may
    fall back) and ``EmbedderRejected`` for terminal refusals. A returned
    matrix always has shape ``(len(texts), self.vector_size)``, dtype float32,
    and only finite values.
    """

    @property
    @abstractmethod
    def model_name(self) -> str:
        """Identifies the model in lineage and store properties."""

    @property
    @abstractmethod
    def vector_size(self) -> int:
        """Number of dimensions of every vector this embedder returns."""

    @abstractmethod
    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> np.ndarray:
        """Embed ``texts`` for indexing (``document``) or searching (``query``)."""

    def is_healthy(self) -> bool:
        """Cheap readiness probe; offline embedders are always healthy."""
        return True
