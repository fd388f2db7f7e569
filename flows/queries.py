"""Reading the store back: search and export.

Search embeds the query with each configured model (``purpose="query"``, so
Nomic models get ``search_query: ``) and searches that model's named vector
(hybrid BM25 plus vector where the store offers it). Every stored object
carries exactly one vector, the one its lineage names: the primary's, or
the fallback's for a case embedded during an outage and not yet re-embedded
(``flows.reembed``). So the primary search covers the primary cases and the
fallback search the fallback-only ones, and together they cover the store.

Merging: cosine scores of two models are not on one scale (a 0.6 from one
model may beat a 0.8 from the other), so hits are interleaved by rank,
primary first, each case listed once. If one embedder is unavailable
(an outage), search answers from the other's vector alone and logs it; an
outage the last run recorded (the persisted breaker is open) skips the
primary without calling it.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
from sqlalchemy.exc import SQLAlchemyError

from blocks.errors import TransientServiceError
from flows.config import PipelineBlocks
from flows.embedding_guard import restored_breaker

__all__ = ["search_cases", "export_cases"]

log = logging.getLogger(__name__)


def search_cases(blocks: PipelineBlocks, text: str, k: int = 10) -> list[tuple]:
    """Best matching cases as ``(SearchHit, vector name)`` pairs."""
    per_vector, failures = [], []
    primary_open = _primary_breaker_open(blocks)
    with blocks.store as store:
        for name, embedder in (("primary", blocks.primary), ("fallback", blocks.fallback)):
            if embedder is None:
                continue
            if name == "primary" and primary_open and blocks.fallback is not None:
                log.warning("search: the primary embedder %s is in an outage the last run recorded; "
                            "answering from the fallback's cases only", embedder.model_name)
                continue
            try:
                vector = embedder.embed([text], "query")[0]
            except TransientServiceError as exc:
                log.warning("search: %s embedder %s unavailable (%s); its cases are left out",
                            name, embedder.model_name, type(exc).__name__)
                failures.append(exc)
                continue
            if hasattr(store, "hybrid_search"):  # stores with keyword search fuse BM25 with the vector
                hits = store.hybrid_search(text, vector, name, k)
            else:
                hits = store.search(vector, name, k)
            per_vector.append([(hit, name) for hit in hits])
    if failures and not per_vector:
        raise failures[0]
    seen, merged = set(), []
    for rank in range(k):
        for hits in per_vector:
            if rank < len(hits) and hits[rank][0].case_id not in seen:
                seen.add(hits[rank][0].case_id)
                merged.append(hits[rank])
    return merged[:k]


def _primary_breaker_open(blocks: PipelineBlocks) -> bool:
    """Whether the persisted breaker says not to call the primary now (read only: search saves no state).

    Without it, a search during an outage would spend the primary's whole
    retry budget before answering from the fallback.
    """
    try:
        return not restored_breaker(blocks).allow()
    except SQLAlchemyError:  # no lineage database yet: nothing recorded
        return False


def _jsonable(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def export_cases(blocks: PipelineBlocks, out: Path, batch_size: int = 5_000) -> int:
    """One JSON object per stored case: ``case_id`` and its stored ``properties``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with blocks.store as store, out.open("w", encoding="utf-8") as fh:
        for batch in store.iter_checksums(batch_size):
            ids = batch.column("case_id").to_pylist()
            props: pa.Table = store.fetch(ids)
            for row in props.to_pylist():
                fh.write(json.dumps({"case_id": row["case_id"],
                                     "properties": {k: _jsonable(v) for k, v in row.items()}}, ensure_ascii=False))
                fh.write("\n")
                n += 1
    return n
