"""The ``fallback_reembed`` flow: move cases the fallback embedded back onto the primary model.

During a primary outage the embed stage stores cases with the fallback's
vector only (named vector ``fallback``; lineage ``embedding_model`` names the
fallback model). Once the primary answers again this flow:

1. Finds them in lineage: completed cases whose ``embedding_model`` is not
   the configured primary's (keyset pages by id; nothing held in memory).
   With none, it stops there: no lock, no probe, no write (idempotent).
2. Takes the pipeline lock (never races a pipeline run), restores the
   primary's breaker from ``service_status`` and checks the primary: an open
   breaker inside its cool-down, or a failed health probe, ends the run
   with ``status = "primary_unavailable"`` and the outage recorded.
3. Per page: fetches the stored objects (their redacted properties are
   PII-free and always there, unlike a pruned run checkpoint), renders the
   composite text with the same SQL the redact stage used, embeds it with
   the primary through the embed stage (cache first: nothing paid twice;
   batching, concurrency, breaker, isolation of refused texts), and replaces
   each object whole: primary vector in, fallback vector out. One model per
   object, the one lineage names, so search embeds each query once per
   model and finds every case under exactly one of them.
4. Marks lineage (``embedding_model``, ``embedded_timestamp``,
   ``weaviate_timestamp``, ``run_id``) only for what the store confirmed.

Resumable: a crash between pages leaves finished pages finished; a crash
between the store write and the lineage mark leaves objects whose stored
``primary_model`` already names the primary, and the next run only fixes
their lineage. A text the primary refuses stays on the fallback (counted as
``refused``). A primary outage midway stops the run after the current page
(``status = "interrupted"``); a 401 stops it with the provider named.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from prefect import flow

from blocks.lineage_service_status import refused_by_primary
from flows.config import PipelineBlocks, load_blocks
from flows.embedding_guard import EmbeddingGuard
from flows.lineage_recording import now_utc
from flows.pipeline import PIPELINE_LOCK, acquire_pipeline_lock
from schemas.checkpoints import CHECKPOINTS, REDACT_ARROW
from stages.checkpoint import CheckpointWriter, read_checkpoint_table
from stages.composite_text import composite_text_sql
from stages.embed import embed_cases
from stages.load import object_table

__all__ = ["fallback_reembed", "reembed_fallback_cases", "REEMBED_FLOW"]

log = logging.getLogger(__name__)
REEMBED_FLOW = "fallback_reembed"
_REFUSED = "InputRejected"


def _redact_rows(con: duckdb.DuckDBPyConnection, stored: pa.Table, max_chars: int) -> pa.Table:
    """Stored properties as rows of the redact checkpoint: the composite text rendered as the redact stage did."""
    con.register("stored_objects", stored)
    try:
        rendered = con.sql(
            f"""SELECT *, left(full_text, $max) AS composite_text, length(full_text) > $max AS was_truncated,
                       CAST(0 AS INTEGER) AS pii_entities_removed
                FROM (SELECT *, {composite_text_sql()} AS full_text FROM stored_objects)""",
            params={"max": max_chars},
        ).to_arrow_table()
    finally:
        con.unregister("stored_objects")
    return rendered.select(REDACT_ARROW.names).cast(REDACT_ARROW)


class _Totals(dict):
    def add(self, **counts: int) -> None:
        for key, n in counts.items():
            self[key] = self.get(key, 0) + n


def reembed_fallback_cases(
    blocks: PipelineBlocks,
    *,
    limit: int | None = None,
    page_size: int | None = None,
    wait_for_lock: bool = False,
) -> dict:
    """Re-embed with the primary every completed case lineage says another model embedded; see module docstring.

    ``limit`` caps the cases looked at in this run (the rest wait for the
    next); ``page_size`` defaults to the pipeline's ``load_batch_size``.
    Returns a summary: ``status`` (``nothing_to_do``, ``completed``,
    ``limit_reached``, ``interrupted``, ``primary_unavailable``), the counts
    ``reembedded``, ``already_on_primary``, ``missing_from_store``,
    ``refused``, ``failed``, ``cache_hits``, ``primary_calls`` and
    ``remaining`` (cases still awaiting the primary).
    """
    lineage, primary = blocks.lineage, blocks.primary
    lineage.ensure_schema()
    model = primary.model_name
    page_size = max(1, page_size or blocks.settings.load_batch_size)
    totals = _Totals(reembedded=0, already_on_primary=0, missing_from_store=0, refused=0, failed=0, cache_hits=0,
                     primary_calls=0)
    summary: dict = {"run_id": None, "primary_model": model, "status": "nothing_to_do", **totals}
    if not lineage.reembed_candidates(model, limit=1) or (limit is not None and limit < 1):
        summary["remaining"] = lineage.reembed_backlog(model)
        return summary
    run_id = f"reembed-{now_utc():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    summary["run_id"] = run_id
    acquire_pipeline_lock(blocks, run_id, wait_for_lock)  # a run and a re-embed never write at once
    status = "failed"
    try:
        lineage.start_run(run_id, flow_name=REEMBED_FLOW, window_start=None, window_end=None,
                          parameters={"limit": limit, "page_size": page_size, "primary_model": model})
        guard = EmbeddingGuard.open(blocks)
        try:
            status = _run(blocks, guard, run_id, limit, page_size, totals)
        finally:
            guard.close(run_id)
        summary.update(totals, status=status, remaining=lineage.reembed_backlog(model))
        lineage.finish_run(run_id, status="completed", summary=summary)
        return summary
    except BaseException as exc:
        lineage.finish_run(run_id, status="failed", summary={**summary, **totals, "error": type(exc).__name__})
        raise
    finally:
        lineage.release_lock(PIPELINE_LOCK, run_id)


def _run(blocks: PipelineBlocks, guard: EmbeddingGuard, run_id: str, limit: int | None, page_size: int,
         totals: _Totals) -> str:
    """Probe the primary, then page through the candidates; returns the run's status."""
    primary, breaker = blocks.primary, guard.breaker
    if not breaker.allow():
        log.warning("%s: breaker open (cool-down of %ss not over); nothing re-embedded", guard.service,
                    breaker.cooldown_s)
        return "primary_unavailable"
    if not primary.is_healthy():
        breaker.record_failure("HealthProbeFailed")
        log.warning("%s: health probe failed; nothing re-embedded", guard.service)
        return "primary_unavailable"
    breaker.record_success()
    run_dir = blocks.home / "runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    sizes = {"primary": primary.vector_size}
    if blocks.fallback is not None:
        sizes["fallback"] = blocks.fallback.vector_size
    con = duckdb.connect()
    seen, after = 0, None
    try:
        with blocks.store as store:
            store.ensure_schema(sizes)
            while limit is None or seen < limit:
                take = page_size if limit is None else min(page_size, limit - seen)
                ids = blocks.lineage.reembed_candidates(primary.model_name, after=after, limit=take)
                if not ids:
                    return "completed"
                seen, after = seen + len(ids), ids[-1]
                outage = _page(blocks, guard, con, store, run_dir, run_id, ids, totals)
                blocks.lineage.refresh_lock(PIPELINE_LOCK, run_id, blocks.settings.lock_ttl_seconds)
                if outage:
                    log.warning("%s failed midway; %d cases re-embedded so far, run again when it is back",
                                guard.service, totals["reembedded"])
                    return "interrupted"
    finally:
        con.close()
    return "limit_reached" if blocks.lineage.reembed_candidates(primary.model_name, after=after, limit=1) else "completed"


def _page(blocks: PipelineBlocks, guard: EmbeddingGuard, con, store, run_dir: Path, run_id: str, ids: list[str],
          totals: _Totals) -> bool:
    """Re-embed one page of case ids; returns True if the primary failed on it (an outage)."""
    primary, lineage = blocks.primary, blocks.lineage
    stored = store.fetch(ids)
    found = stored.column("case_id").to_pylist()
    totals.add(missing_from_store=len(ids) - len(found))
    on_primary = pc.fill_null(pc.equal(stored.column("primary_model"), primary.model_name), False)
    already = stored.filter(on_primary).column("case_id").to_pylist()
    todo = stored.filter(pc.invert(on_primary))
    now = now_utc()
    if already:  # written by an earlier run that died before its lineage mark
        lineage.mark(already, stage="loaded", status="completed", run_id=run_id, embedding_model=primary.model_name)
        totals.add(already_on_primary=len(already))
    if not todo.num_rows:
        return False
    redact_path, embed_path = run_dir / "redact.parquet", run_dir / "embed.parquet"
    with CheckpointWriter(redact_path, CHECKPOINTS["redact"], REDACT_ARROW) as writer:
        writer.write(_redact_rows(con, todo, blocks.settings.max_text_chars))
        writer.close()
    result = embed_cases(redact_path, embed_path, primary, None, batch_size=blocks.settings.batch_size,
                         request_size=blocks.settings.embed_batch_size, breaker=guard.breaker, cache=guard.cache)
    totals.add(cache_hits=result.cache_hits, primary_calls=result.primary_calls)
    refused = [cid for cid, error in result.failed if error.startswith(_REFUSED)]
    totals.add(refused=len(refused))
    if refused:  # not asked again until the case changes (a new version clears the mark)
        lineage.mark(refused, stage="loaded", status="completed", error_message=refused_by_primary(primary.model_name))
    redacted = read_checkpoint_table(redact_path, CHECKPOINTS["redact"])
    embedded = read_checkpoint_table(embed_path, CHECKPOINTS["embed"])
    objects = object_table(redacted, embedded, run_id)
    upserted = store.upsert(objects) if objects.num_rows else None
    if upserted is not None:
        if upserted.succeeded:
            lineage.mark(upserted.succeeded, stage="loaded", status="completed", run_id=run_id,
                         embedding_model=primary.model_name, embedded_timestamp=now, weaviate_timestamp=now_utc())
        totals.add(reembedded=len(upserted.succeeded), failed=len(upserted.failed))
        for case_id, _reason in upserted.failed[:5]:
            log.warning("re-embed: the store refused case %s; it stays on its earlier vector", case_id)
    return len(result.failed) > len(refused)


@flow(name=REEMBED_FLOW, log_prints=True)
def fallback_reembed(config_path: str | None = None, home: str | None = None, limit: int | None = None,
                     block_names: dict[str, str] | None = None) -> dict:
    """Re-embed with the primary every case the fallback embedded during an outage (see module docstring).

    Blocks come from the configuration file; safe to schedule often: with
    nothing to do, or the primary still down, it changes nothing. ``block_names``
    loads sections from saved block documents, as for the pipeline flow.
    """
    blocks = load_blocks(Path(config_path) if config_path else None, Path(home) if home else None,
                         block_names=block_names)
    return reembed_fallback_cases(blocks, limit=limit)
