"""Reading the store back: search and export.

Search embeds the query with each configured model and searches that
model's named vector (hybrid BM25 plus vector where the store offers it), so cases embedded only by the fallback are found too;
scores of different models are not comparable, so hits are interleaved by
rank, primary first, one object listed once.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa

from flows.config import PipelineBlocks

__all__ = ["search_cases", "export_cases"]


def search_cases(blocks: PipelineBlocks, text: str, k: int = 10) -> list[tuple]:
    """Best matching cases as ``(SearchHit, vector name)`` pairs."""
    per_vector = []
    with blocks.store as store:
        for name, embedder in (("primary", blocks.primary), ("fallback", blocks.fallback)):
            if embedder is None:
                continue
            vector = embedder.embed([text], "query")[0]
            if hasattr(store, "hybrid_search"):  # stores with keyword search fuse BM25 with the vector
                hits = store.hybrid_search(text, vector, name, k)
            else:
                hits = store.search(vector, name, k)
            per_vector.append([(hit, name) for hit in hits])
    seen, merged = set(), []
    for rank in range(k):
        for hits in per_vector:
            if rank < len(hits) and hits[rank][0].case_id not in seen:
                seen.add(hits[rank][0].case_id)
                merged.append(hits[rank])
    return merged[:k]


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
