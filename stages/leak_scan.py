"""Leak scan: is there personal data in the vector store? Counts and case ids, never values.

The deep reconciliation calls ``scan_for_leaks`` to check what actually
reached the store: every stored object (or a random sample) is read back,
its free-text properties are searched with the redactor's own detectors
(``PiiRedactor.find_pii``: the same recognizers, table rules and keep-list
that redaction uses) and for the staging context values of its case (the
``context_*`` lists compose builds: the names, addresses and numbers of the
case's own people, in all their variants). Anything found is a leak.

The report carries counts per entity type, split into the case's own
context values and other detections, and the ids of the cases concerned.
It never carries a value, an offset or a snippet of text: a leak report must
not become a leak.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from blocks.pii_redactor import PiiRedactor
from blocks.vector_store import VectorStore
from schemas.context import CONTEXT_COLUMNS
from schemas.fields import FREE_TEXT_PROPERTIES

__all__ = ["ContextSource", "LeakReport", "scan_for_leaks"]

#: A table of ``case_id`` plus context list columns, or a function that
#: returns one for a list of case ids (cases it does not know have no context).
ContextSource = pa.Table | Callable[[Sequence[str]], pa.Table] | None

_CONTEXT_TYPE = pa.list_(pa.string())


@dataclass(frozen=True)
class LeakReport:
    """What a leak scan found: counts and case ids only."""

    scanned: int
    sampled: bool
    #: Detector and table-rule findings in stored text, per entity type.
    by_entity: dict[str, int] = field(default_factory=dict)
    #: The case's own context values found in its stored text, per entity type.
    context_by_entity: dict[str, int] = field(default_factory=dict)
    #: Cases with at least one finding, sorted.
    case_ids: tuple[str, ...] = ()

    @property
    def leaks(self) -> int:
        """All findings: context values plus detections."""
        return sum(self.by_entity.values()) + sum(self.context_by_entity.values())

    @property
    def context_leaks(self) -> int:
        """Context values found: must be 0."""
        return sum(self.context_by_entity.values())

    def as_dict(self) -> dict:
        return {
            "scanned": self.scanned,
            "sampled": self.sampled,
            "leaks": self.leaks,
            "context_leaks": self.context_leaks,
            "by_entity": dict(self.by_entity),
            "context_by_entity": dict(self.context_by_entity),
            "case_ids": list(self.case_ids),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)


def scan_for_leaks(
    store: VectorStore,
    context: ContextSource,
    *,
    redactor: PiiRedactor,
    sample: int | None = None,
    case_ids: Sequence[str] | None = None,
    batch_size: int = 1_000,
    seed: int | None = None,
) -> LeakReport:
    """Scan the stored objects of ``store`` for personal data; see the module docstring.

    ``sample`` scans that many objects drawn uniformly at random (reservoir
    sampling over the store's id stream, ``seed`` for repeatability);
    ``case_ids`` scans exactly those (e.g. a sample the caller already drew);
    with neither, every object. ``context`` gives the staging context lists
    per case (None: detectors only).
    """
    if sample is not None and sample < 0:
        raise ValueError(f"sample: expected a count >= 0 or None, got {sample}")
    if sample is not None and case_ids is not None:
        raise ValueError("sample and case_ids: expected at most one of them, got both")
    if batch_size < 1:
        raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
    ids = list(case_ids) if case_ids is not None else _sample_ids(store, sample, seed) if sample is not None else None
    by_entity: Counter[str] = Counter()
    by_context: Counter[str] = Counter()
    leaking: set[str] = set()
    scanned = 0
    with store:
        for chunk in _id_chunks(store, ids, batch_size):
            objects = store.fetch(chunk)
            if not objects.num_rows:
                continue
            scanned += objects.num_rows
            counts = redactor.find_pii(_scan_batch(objects, context))
            if not counts.num_rows:
                continue
            for row in counts.to_pylist():
                target = by_context if row["source"] == "context" else by_entity
                target[row["entity_type"]] += row["count"]
                leaking.add(row["case_id"])
    return LeakReport(
        scanned=scanned,
        sampled=sample is not None or case_ids is not None,
        by_entity=dict(sorted(by_entity.items())),
        context_by_entity=dict(sorted(by_context.items())),
        case_ids=tuple(sorted(leaking)),
    )


def _sample_ids(store: VectorStore, size: int, seed: int | None) -> list[str]:
    """``size`` stored case ids drawn uniformly (reservoir sampling; memory of ``size`` ids)."""
    rng = random.Random(seed)
    reservoir: list[str] = []
    seen = 0
    with store:
        for batch in store.iter_checksums():
            for case_id in batch.column("case_id").to_pylist():
                seen += 1
                if len(reservoir) < size:
                    reservoir.append(case_id)
                else:
                    slot = rng.randrange(seen)
                    if slot < size:
                        reservoir[slot] = case_id
    return reservoir


def _id_chunks(store: VectorStore, ids: list[str] | None, size: int) -> Iterator[list[str]]:
    if ids is not None:
        for start in range(0, len(ids), size):
            yield ids[start : start + size]
        return
    pending: list[str] = []
    for batch in store.iter_checksums(batch_size=size):
        pending.extend(batch.column("case_id").to_pylist())
        while len(pending) >= size:
            yield pending[:size]
            pending = pending[size:]
    if pending:
        yield pending


def _scan_batch(objects: pa.Table, context: ContextSource) -> pa.RecordBatch:
    """``case_id``, the free-text properties and the case's context lists, in the redactor's input form."""
    case_ids = objects.column("case_id")
    columns = {"case_id": case_ids}
    for name in FREE_TEXT_PROPERTIES:
        if name in objects.schema.names:
            columns[name] = objects.column(name)
    known = context(case_ids.to_pylist()) if callable(context) else context
    if known is not None and known.num_rows:
        rows = pc.index_in(case_ids, value_set=known.column("case_id").combine_chunks())
        aligned = known.take(rows)  # a null index gives nulls: no context for that case
    else:
        aligned = None
    for name in CONTEXT_COLUMNS:
        if aligned is not None and name in aligned.schema.names:
            columns[name] = aligned.column(name).cast(_CONTEXT_TYPE)
        else:
            columns[name] = pa.nulls(objects.num_rows, _CONTEXT_TYPE)
    return pa.table(columns).combine_chunks().to_batches(max_chunksize=max(1, objects.num_rows))[0]
