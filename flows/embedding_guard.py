"""What guards the primary embedder across runs: its persisted breaker and the embedding cache.

The embed stage takes a ``CircuitBreaker`` and an ``EmbeddingCache`` as
arguments and knows nothing of where they come from; this is where a flow
gets them. ``EmbeddingGuard.open`` restores the primary's breaker from the
lineage database (``service_status``: a run that starts inside the
cool-down of an outage the previous run saw sends nothing to the primary
until it has passed) and opens the cache under the home folder;
``close`` writes the breaker's state and outage windows back and prunes the
cache to its cap. The pipeline's embed stage and the re-embed flow both use it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from blocks.circuit_breaker import CircuitBreaker
from blocks.embedding_cache import EmbeddingCache
from blocks.embedding_http import HttpEmbedder
from blocks.lineage_service_status import embedder_service
from flows.config import PipelineBlocks

__all__ = ["EmbeddingGuard", "open_cache", "restored_breaker"]

log = logging.getLogger(__name__)


def open_cache(blocks: PipelineBlocks) -> EmbeddingCache | None:
    """The embedding cache the configuration asks for, or None.

    By default (``enabled`` unset) only when an embedder calls a remote API:
    caching the offline hashing embedder would spend disk to save nothing.
    """
    settings = blocks.cache
    enabled = settings.enabled
    if enabled is None:
        enabled = any(isinstance(e, HttpEmbedder) for e in (blocks.primary, blocks.fallback) if e is not None)
    if not enabled:
        return None
    path = Path(settings.path) if settings.path else blocks.home / "embedding_cache.sqlite"
    return EmbeddingCache(path, max_entries=settings.max_entries, max_age_days=settings.max_age_days)


def restored_breaker(blocks: PipelineBlocks) -> CircuitBreaker:
    """The primary's breaker as the last run left it in ``service_status`` (closed if none is recorded)."""
    service = embedder_service(blocks.primary.model_name)
    breaker = blocks.breaker.build(service)
    snapshot = blocks.lineage.breaker_snapshot(service)
    if snapshot is not None:
        breaker.restore(snapshot)
        if breaker.state != "closed":
            log.warning("%s was left %s by an earlier run (since %s, last failure %s)", service,
                        breaker.state, snapshot.since, snapshot.last_failure)
    return breaker


class EmbeddingGuard:
    """The primary's breaker (restored from lineage) and the cache, for one stage or flow run."""

    def __init__(self, blocks: PipelineBlocks, breaker: CircuitBreaker, cache: EmbeddingCache | None):
        self.blocks = blocks
        self.service = embedder_service(blocks.primary.model_name)
        self.breaker = breaker
        self.cache = cache

    @classmethod
    def open(cls, blocks: PipelineBlocks) -> "EmbeddingGuard":
        """Restore the primary's breaker from ``service_status`` and open the cache."""
        return cls(blocks, restored_breaker(blocks), open_cache(blocks))

    def close(self, run_id: str | None) -> None:
        """Persist the breaker (state and outage windows); prune and close the cache."""
        try:
            self.blocks.lineage.save_breaker(self.service, self.breaker.snapshot(), run_id)
        finally:
            if self.cache is not None:
                try:
                    self.cache.prune()
                finally:
                    self.cache.close()
