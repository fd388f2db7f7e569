"""Full id and checksum diff of lineage against the store, at scale.

    python benchmarks/bench_diff.py --records 1000000 [--lineage sqlite|postgresql-url]
    python benchmarks/bench_diff.py --store weaviate-standin --records 100000

Builds a DuckDB vector store and a lineage database holding N completed
records (a handful deliberately missing, stale or untracked), then times
``stages.reconcile_diff.diff_store_against_lineage`` fed by the two streaming
iterators, the store scan included. Setup time is printed but not counted.
Target (issue 6): 1M records in under 30 s on a 2-core machine.

``--store weaviate-standin`` scans a ``WeaviateStore`` instead: the real
weaviate-client's cursor iterator (gRPC ``Search`` pages with ``after``)
against the stand-in server of ``tests/weaviate_standin`` on loopback, in
this process. Objects are put into the stand-in's state directly (setup);
the scan pays the client, gRPC and the stand-in's own Python paging (it
sorts the collection for every page), so the figure is an upper bound for
the client's share, not a prediction for a real Weaviate.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import tempfile
import time
from datetime import datetime
from pathlib import Path

import duckdb

import harness  # noqa: F401 - puts the project (and its tests package) on sys.path


def _build_store(path: Path, n: int) -> None:
    """Objects with ids and checksums only (vectors and text do not change the scan's work)."""
    from blocks.duckdb_store import DuckDBVectorStore

    store = DuckDBVectorStore(path=str(path))
    with store:
        store.ensure_schema({"primary": 8})
    store.close()
    con = duckdb.connect(str(path))
    con.execute(
        """INSERT INTO case_vectorized (id, case_id, checksum)
           SELECT uuid(), 'C' || lpad(i::VARCHAR, 9, '0'), sha256(i::VARCHAR)
           FROM range($n) t(i) WHERE i % 100000 <> 7""",
        {"n": n},
    )
    con.execute("UPDATE case_vectorized SET checksum = 'stale' WHERE case_id = 'C000000011'")
    con.execute("INSERT INTO case_vectorized (id, case_id, checksum) VALUES (uuid(), 'X-untracked', 'x')")
    con.close()


def _build_standin_store(n: int):
    """A stand-in server holding N objects (ids and checksums, same faults as the DuckDB store) and its store."""
    from blocks.weaviate_store import WeaviateStore
    from schemas.ids import object_uuid
    from tests.weaviate_standin.server import WeaviateStandIn

    standin = WeaviateStandIn().start()
    store = WeaviateStore(http_port=standin.http_port, grpc_port=standin.grpc_port, collection="BenchDiff",
                          init_timeout=5.0)
    with store:
        store.ensure_schema({"primary": 8})
    ids = [f"C{i:09d}" for i in range(n) if i % 100_000 != 7]
    for case_id, i in zip(ids, (int(c[1:]) for c in ids)):
        checksum = "stale" if case_id == "C000000011" else hashlib.sha256(str(i).encode()).hexdigest()
        standin.state.put_object("BenchDiff", object_uuid(case_id), {"case_id": case_id, "checksum": checksum}, {})
    standin.state.put_object("BenchDiff", object_uuid("X-untracked"), {"case_id": "X-untracked", "checksum": "x"}, {})
    return standin, store


def _build_lineage(url: str, n: int):
    from blocks.lineage import LineageStore

    lineage = LineageStore.from_url(url)
    lineage.ensure_schema()
    now = datetime(2026, 11, 1)
    for lo in range(0, n, 50_000):
        lineage.upsert_records([
            {"record_id": f"C{i:09d}", "case_number": str(5_000_000_000 + i), "status": "completed",
             "current_stage": "loaded", "checksum": hashlib.sha256(str(i).encode()).hexdigest(),
             "source_timestamp": now}
            for i in range(lo, min(lo + 50_000, n))
        ])
    return lineage


def main() -> None:
    from blocks.duckdb_store import DuckDBVectorStore
    from stages.reconcile_diff import diff_store_against_lineage

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--lineage", default="sqlite", help="'sqlite' or a SQLAlchemy URL (e.g. PostgreSQL)")
    ap.add_argument("--store", choices=["duckdb", "weaviate-standin"], default="duckdb",
                    help="embedded DuckDB store, or WeaviateStore against the loopback stand-in")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-diff-"))
    url = f"sqlite:///{work / 'lineage.db'}" if args.lineage == "sqlite" else args.lineage
    t = time.perf_counter()
    standin = None
    if args.store == "duckdb":
        _build_store(work / "vectors.duckdb", args.records)
        store = DuckDBVectorStore(path=str(work / "vectors.duckdb"))
    else:
        standin, store = _build_standin_store(args.records)
    lineage = _build_lineage(url, args.records)
    print(f"setup: {time.perf_counter() - t:.1f} s for {args.records:,} records ({args.store})")
    con = duckdb.connect(str(work / "diff.duckdb"))
    t = time.perf_counter()
    with store:
        report = diff_store_against_lineage(con, lineage.iter_completed_checksums(), store.iter_checksums())
    elapsed = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"diff: {elapsed:.2f} s ({args.records / elapsed:,.0f} records/s), peak RSS {peak:,.0f} MB")
    print(f"found: {report.counts}")
    if standin is not None:
        standin.stop()


if __name__ == "__main__":
    main()
