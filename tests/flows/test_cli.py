"""The command line as other tools call it: exact commands, JSON outputs, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(prefect_harness):
    """Run ``python -m flows.run`` against the session's test Prefect API."""
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), PYTHONPATH=str(ROOT))

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "flows.run", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        if check and proc.returncode != 0:
            raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    return run


def test_generate_pipeline_rerun_search_export_reconcile(cli, tmp_path):
    """generate, pipeline --json twice (second processes 0), search, export and reconcile --json."""
    staging, home = tmp_path / "staging", tmp_path / "home"
    cli("generate", "--out", str(staging), "--cases", "60", "--seed", "3")
    assert (staging / "case").exists()
    first = json.loads(cli("pipeline", "--staging", str(staging), "--home", str(home), "--json").stdout)
    for key in ("run_id", "selected", "processed", "skipped_unchanged", "deleted", "quarantined", "failed", "loaded"):
        assert key in first
    assert first["loaded"] > 0 and first["failed"] == 0
    second = json.loads(cli("pipeline", "--staging", str(staging), "--home", str(home), "--json").stdout)
    assert second["processed"] == 0
    found = cli("search", "memory DIMM replaced", "--home", str(home), "-k", "3").stdout
    assert "score" in found and "500" in found
    out = tmp_path / "export.jsonl"
    cli("export", "--out", str(out), "--home", str(home))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == first["loaded"] and {"case_id", "properties"} <= set(lines[0])
    rec = cli("reconcile", "--home", str(home), "--config", str(_config(tmp_path, staging)), "--json")
    report = json.loads(rec.stdout)
    assert report["counts"]["store_count"] == first["loaded"] and report["discrepancies"] == []


def _config(tmp_path: Path, staging: Path) -> Path:
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text(f'[staging]\ntype = "parquet"\npath = "{staging}"\n')
    return cfg


def test_bad_config_exits_2_with_message(cli, tmp_path):
    """An unknown block type exits 2 and names the table and the known types."""
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[store]\ntype = "cassandra"\n')
    proc = cli("pipeline", "--config", str(cfg), "--home", str(tmp_path / "h"), check=False)
    assert proc.returncode == 2
    assert "[store]" in proc.stderr and "cassandra" in proc.stderr and "duckdb" in proc.stderr


def test_resume_unknown_run_exits_2(cli, tmp_path):
    """--resume with a run id that has no checkpoints exits 2 with a clear message."""
    proc = cli("pipeline", "--home", str(tmp_path / "h"), "--resume", "no-such-run", check=False)
    assert proc.returncode == 2 and "no-such-run" in proc.stderr
