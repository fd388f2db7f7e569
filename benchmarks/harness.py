"""What the benchmark scripts share: child processes, peak memory, staging cache, Markdown.

Every measurement runs in a fresh Python process so that its peak resident
set size (``ru_maxrss``) belongs to that measurement alone, not to whatever
ran before it in the same interpreter. The parent starts the child with a
JSON spec, the child writes a JSON result file, and the parent collects it.
The child's own output (presidio and DuckDB chatter) goes to a log file so
the printed tables stay readable; it is shown when a child fails.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python benchmarks/x.py`: the project is the parent folder
    sys.path.insert(0, str(ROOT))

__all__ = ["ROOT", "RssSampler", "peak_rss_mb", "run_child", "child_main", "ensure_staging", "machine_note",
           "code_note", "markdown_table"]


def _own_peak_kb() -> float:
    """Peak RSS of this process image: ``VmHWM``, not ``ru_maxrss``.

    Linux carries the parent's RSS high-water mark into a child's
    ``ru_maxrss`` across fork/vfork + exec, so a parent that once held 4 GB
    would make every child it starts look 4 GB big. ``VmHWM`` belongs to the
    address space created by exec and starts from zero.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def peak_rss_mb() -> dict[str, float]:
    """Peak RSS of this process and of its largest waited-for child, in MB."""
    own = _own_peak_kb() / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self_mb": round(own, 1), "children_mb": round(kids, 1), "peak_mb": round(own + kids, 1)}


class RssSampler(threading.Thread):
    """Samples this process's RSS every ``interval`` s and keeps the maximum per label.

    ``ru_maxrss`` gives one peak per process; this says which part of the run
    (``label()``, e.g. the stage in progress) it belongs to. Sampling can miss
    a spike shorter than the interval, so ``ru_maxrss`` stays the reference.
    """

    def __init__(self, label, interval: float = 0.2):
        super().__init__(daemon=True)
        self.label, self.interval = label, interval
        self.peaks: dict[str, float] = {}
        self._halt = threading.Event()
        self._page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            try:
                rss = int(Path("/proc/self/statm").read_text().split()[1]) * self._page_mb
                name = self.label()
            except (OSError, ValueError):
                continue
            self.peaks[name] = round(max(self.peaks.get(name, 0.0), rss), 1)

    def stop(self) -> dict[str, float]:
        self._halt.set()
        self.join()
        return self.peaks


def run_child(script: Path, spec: dict, log_dir: Path) -> dict:
    """Run ``script --child <spec>`` in a fresh interpreter; return the result it wrote."""
    log_dir.mkdir(parents=True, exist_ok=True)
    tag = f"{spec.get('mode', 'child')}-{spec.get('cases', '')}-{int(time.time() * 1000)}"
    result_path, log_path = log_dir / f"{tag}.json", log_dir / f"{tag}.log"
    spec = {**spec, "result": str(result_path)}
    with log_path.open("w") as log:
        proc = subprocess.run([sys.executable, str(script), "--child", json.dumps(spec)],
                              stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    if proc.returncode != 0 or not result_path.exists():
        tail = log_path.read_text()[-4000:]
        raise RuntimeError(f"{script.name} child {spec.get('mode')} (cases={spec.get('cases')}) exited with "
                           f"{proc.returncode}; log {log_path}:\n{tail}")
    return json.loads(result_path.read_text())


def child_main(handlers: dict) -> None:
    """Entry point of a child: dispatch on ``spec["mode"]``, add peak RSS, write the result."""
    spec = json.loads(sys.argv[sys.argv.index("--child") + 1])
    result = handlers[spec["mode"]](spec)
    result["rss"] = peak_rss_mb()
    Path(spec["result"]).write_text(json.dumps(result, indent=2, default=str))


def ensure_staging(out: Path, cases: int, seed: int = 7) -> tuple[Path, float | None]:
    """Generated staging for ``cases`` under ``out/staging-<cases>``, made once.

    Returns the folder and the generation seconds (None when it was cached).
    Generation is not part of any pipeline figure, only printed.
    """
    from generator import generate_staging

    folder = out / f"staging-{cases}"
    marker = folder / "_generator.json"
    if marker.exists() and json.loads(marker.read_text()).get("cases") == cases:
        return folder, None
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    started = time.perf_counter()
    generate_staging(folder, cases, seed)
    return folder, time.perf_counter() - started


def table_keys(table: str) -> list[str]:
    """The columns that tie a staging or extract table to the others: its ``Id`` and its parent reference."""
    from schemas.staging import TABLES

    parent = TABLES[table].parent_column
    return ["Id", *([parent] if parent else [])]


def copy_with_suffixed_keys(sources: list[Path], target: Path, keys: list[str], copies: int, options: str,
                            order_by: str | None = None) -> None:
    """``copies`` copies of the rows of ``sources`` in one Parquet file, every ``keys`` column suffixed ``-<copy>``.

    The same rows, text and shape, ``copies`` times over, each copy tied
    only to itself: how the benchmarks make 1M cases without generating them.
    ``options`` are DuckDB's ``COPY ... TO`` options.
    """
    import duckdb

    suffixed = ", ".join(f'"{k}" || \'-\' || i AS "{k}"' for k in keys)
    order = f" ORDER BY {order_by}" if order_by else ""
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"COPY (SELECT t.* REPLACE ({suffixed}) FROM read_parquet($src) t, range({copies}) r(i){order}) "
                    f"TO '{target}' ({options})", {"src": [str(p) for p in sources]})
    finally:
        con.close()


def ensure_replicated_staging(out: Path, cases: int, base: int = 100_000) -> tuple[Path, float | None]:
    """``cases`` cases of staging made from ``copies`` copies of the generated ``base`` staging, made once.

    Generating 1M cases takes about 17 minutes here; copying the 100k
    staging ten times takes under a minute. Every key that ties the tables
    together (each row's ``Id``, its parent reference, and ``CaseNumber``) is
    suffixed ``-<copy>``, so the pipeline sees ``copies`` times the cases,
    each with its own children. Text repeats, so Parquet compression is
    flattered; the joins, checksums, lineage rows and vectors are real.
    Returns the folder and the seconds it took (None when cached).
    """
    from schemas.staging import TABLES

    if cases % base:
        raise SystemExit(f"replicated sizes must be multiples of {base}, got {cases}")
    copies = cases // base
    folder = out / f"staging-{cases}-replicated"
    marker = folder / "_replicated.json"
    if marker.exists() and json.loads(marker.read_text()).get("cases") == cases:
        return folder, None
    source, _ = ensure_staging(out, base)
    started = time.perf_counter()
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    for table, spec in TABLES.items():
        parts = sorted((source / table).rglob("*.parquet"))
        if parts:
            keys = [*table_keys(table), *(["CaseNumber"] if table == "case" else [])]
            (folder / table).mkdir(parents=True)
            copy_with_suffixed_keys(parts, folder / table / "part-00000.parquet", keys, copies,
                                    "FORMAT parquet, COMPRESSION zstd")
    marker.write_text(json.dumps({"cases": cases, "copies": copies, "source": str(source)}) + "\n")
    return folder, time.perf_counter() - started


def machine_note() -> str:
    """CPU count, memory, Python, and the load average (the machine may be shared)."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    mem = ""
    try:
        total_kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem = f", {total_kb / 1024 / 1024:.1f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs{mem}, Python {platform.python_version()}, "
            f"load average (1/5/15 min) {load}")


def code_note() -> str:
    """The commit measured, and how many files differed from it (figures belong to a code state)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "commit unknown (git not available)"
    return f"commit {head or 'unknown'}" + (f" with {len(dirty)} modified tracked file(s)" if dirty else "")


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub Markdown table; numbers are right-aligned."""
    def cell(v) -> str:
        if isinstance(v, float):
            return f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.2f}"
        if isinstance(v, int):
            return f"{v:,}"
        return "" if v is None else str(v)

    body = [[cell(v) for v in r] for r in rows]
    numeric = [any(isinstance(r[i], (int, float)) for r in rows) for i in range(len(header))]
    align = ["---:" if n else "---" for n in numeric]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)
