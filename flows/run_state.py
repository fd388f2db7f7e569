"""A run's folder: its manifest, its DuckDB work file, and pruning old runs.

``manifest.json`` is rewritten atomically after every stage, so after a
crash it names exactly the stages whose checkpoints are complete; a resumed
run skips those and redoes the rest (every stage is idempotent).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from schemas.settings import DateWindow

__all__ = ["RunManifest", "new_run_id", "open_work_db", "prune_runs"]


def new_run_id(now: datetime) -> str:
    """``<UTC time>-<8 hex>``: sorts by start time, unique across processes."""
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


@dataclass
class RunManifest:
    run_dir: Path
    run_id: str
    window: DateWindow
    stages: dict[str, dict] = field(default_factory=dict)
    #: Empty for a window run. A recovery run names what it works on: ``case_ids`` and
    #: ``force`` (recomposed from staging), or ``recovery_of``, ``resumed_after`` and
    #: ``cases`` (continued from another run's checkpoints, see ``flows.recovery``).
    selection: dict = field(default_factory=dict)

    @classmethod
    def create(cls, run_dir: Path, run_id: str, window: DateWindow, selection: dict | None = None) -> "RunManifest":
        run_dir.mkdir(parents=True, exist_ok=False)
        manifest = cls(run_dir, run_id, window, selection=selection or {})
        manifest._write()
        return manifest

    @classmethod
    def load(cls, run_dir: Path) -> "RunManifest | None":
        path = run_dir / "manifest.json"
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        window = DateWindow(start=datetime.fromisoformat(data["window_start"]),
                            end=datetime.fromisoformat(data["window_end"]))
        return cls(run_dir, data["run_id"], window, data.get("stages", {}), data.get("selection", {}))

    @property
    def is_recovery(self) -> bool:
        """A run on chosen cases rather than a window: it must never move the high-water mark."""
        return bool(self.selection)

    def done(self, stage: str) -> bool:
        return stage in self.stages

    def complete(self, stage: str, stats: dict) -> None:
        self.stages[stage] = stats
        self._write()

    def _write(self) -> None:
        path = self.run_dir / "manifest.json"
        tmp = path.with_suffix(".json.partial")
        tmp.write_text(json.dumps({
            "run_id": self.run_id,
            "window_start": self.window.start.isoformat(),
            "window_end": self.window.end.isoformat(),
            "stages": self.stages,
            "selection": self.selection,
        }, indent=2, default=str))
        os.replace(tmp, path)


def open_work_db(run_dir: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """A file-backed DuckDB for the run's joins: large work spills to disk."""
    path = run_dir / "work.duckdb"
    path.unlink(missing_ok=True)  # temp tables from a killed attempt are not trusted
    con = duckdb.connect(str(path))
    con.execute(f"SET memory_limit = '{_safe(memory_limit)}'")  # SET takes no bound parameters
    con.execute(f"SET temp_directory = '{_safe(str(run_dir / 'duckdb_tmp'))}'")
    con.execute("SET preserve_insertion_order = false")
    return con


def _safe(value: str) -> str:
    return value.replace("'", "''")


def prune_runs(runs_dir: Path, retention_days: int, keep: set[str]) -> list[str]:
    """Delete run folders older than the retention period; returns their names."""
    if not runs_dir.exists():
        return []
    cutoff = time.time() - retention_days * 86400
    removed = []
    for child in runs_dir.iterdir():
        if child.is_dir() and child.name not in keep and child.stat().st_mtime < cutoff:
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
    return removed
