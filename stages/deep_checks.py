"""Weekly deep checks: content integrity and vector dimensions of a sample.

The counts and the id/checksum diff say every case is there with the right
version; these say what is stored is right: the key properties equal the
staging values (CaseNumber, Product__c, Priority, Status), the stored checksum
equals the completed lineage checksum, and every named vector has the size
its model produces. Sampling is a reservoir over the store's id stream, so a
sample of a million objects needs memory for the sample only.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from blocks.vector_store import vector_column

__all__ = ["reservoir_sample", "IntegrityReport", "content_integrity", "DimensionReport", "vector_dimensions"]

#: stored property -> staging column of the case row it must equal
_KEY_PROPERTIES = {"case_number": "CaseNumber", "product": "Product__c", "priority": "Priority", "status": "Status"}


def reservoir_sample(batches: Iterable[pa.RecordBatch], size: int | None, seed: int = 0) -> list[str]:
    """Case ids of a uniform sample of ``size`` (all when ``size`` is None) from a stream."""
    rng = random.Random(seed)
    sample: list[str] = []
    seen = 0
    for batch in batches:
        for case_id in batch.column(0).to_pylist():
            seen += 1
            if size is None or len(sample) < size:
                sample.append(case_id)
            else:
                j = rng.randrange(seen)
                if j < size:
                    sample[j] = case_id
    return sample


@dataclass
class IntegrityReport:
    sampled: int
    corrupted: int
    by_field: dict[str, int] = field(default_factory=dict)
    sample_ids: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.corrupted / self.sampled if self.sampled else 0.0

    def as_dict(self) -> dict:
        return {"sampled": self.sampled, "corrupted": self.corrupted, "corruption_rate": round(self.rate, 6),
                "by_field": self.by_field, "sample_ids": self.sample_ids}


def content_integrity(con: duckdb.DuckDBPyConnection, stored: pa.Table, lineage_state: pa.Table,
                      *, sample_ids: int = 20) -> IntegrityReport:
    """Compare stored key properties with staging (``chk_case``) and checksums with lineage.

    ``stored`` holds ``case_id``, the key properties and ``checksum``;
    ``lineage_state`` holds ``record_id``, ``checksum``, ``status``. A case
    missing from staging counts as corrupted on ``case_id``.
    """
    con.register("deep_stored", stored)
    con.register("deep_lineage", lineage_state.select(["record_id", "checksum", "status"]))
    try:
        checks = [f"(s.{prop} IS DISTINCT FROM c.{col}) AS bad_{prop}" for prop, col in _KEY_PROPERTIES.items()]
        checks.append("(l.status IS DISTINCT FROM 'completed' OR s.checksum IS DISTINCT FROM l.checksum) AS bad_checksum")
        checks.append("(c.Id IS NULL) AS bad_case_id")
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE deep_result AS
            SELECT s.case_id, {', '.join(checks)}
            FROM deep_stored s
            LEFT JOIN (SELECT * FROM chk_case QUALIFY row_number() OVER (PARTITION BY Id) = 1) c ON c.Id = s.case_id
            LEFT JOIN deep_lineage l ON l.record_id = s.case_id"""
        )
        flags = [*(f"bad_{p}" for p in _KEY_PROPERTIES), "bad_checksum", "bad_case_id"]
        sums = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {' OR '.join(flags)}), "
            + ", ".join(f"count(*) FILTER (WHERE {f})" for f in flags) + " FROM deep_result"
        ).fetchall()[0]
        ids = [r[0] for r in con.execute(
            f"SELECT case_id FROM deep_result WHERE {' OR '.join(flags)} ORDER BY case_id LIMIT $n", {"n": sample_ids}
        ).fetchall()]
    finally:
        con.unregister("deep_stored")
        con.unregister("deep_lineage")
    by_field = {f.removeprefix("bad_"): n for f, n in zip(flags, sums[2:]) if n}
    return IntegrityReport(sampled=sums[0], corrupted=sums[1], by_field=by_field, sample_ids=ids)


@dataclass
class DimensionReport:
    checked: int
    wrong_size: dict[str, int] = field(default_factory=dict)
    without_vector: int = 0
    sample_ids: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(self.wrong_size.values()) + self.without_vector

    def as_dict(self) -> dict:
        return {"checked": self.checked, "wrong_size": self.wrong_size, "without_vector": self.without_vector,
                "errors": self.errors, "sample_ids": self.sample_ids}


def vector_dimensions(lengths: pa.Table, sizes: Mapping[str, int], *, sample_ids: int = 20) -> DimensionReport:
    """Every present named vector has its model's size; every object has at least one vector."""
    rows = lengths.to_pylist()
    report = DimensionReport(checked=len(rows))
    bad: list[str] = []
    for row in rows:
        present = False
        for name, size in sizes.items():
            n = row.get(vector_column(name))
            if n is None:
                continue
            present = True
            if n != size:
                report.wrong_size[name] = report.wrong_size.get(name, 0) + 1
                bad.append(row["case_id"])
        if not present:
            report.without_vector += 1
            bad.append(row["case_id"])
    report.sample_ids = sorted(set(bad))[:sample_ids]
    return report
