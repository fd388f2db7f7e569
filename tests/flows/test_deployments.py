"""prefect.yaml against a real ``prefect server`` and a process worker on loopback."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from generator import generate_staging

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def prefect_server(tmp_path):
    port = _free_port()
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", PREFECT_LOGGING_LEVEL="WARNING",
               PYTHONPATH=str(ROOT))
    env.pop("PREFECT_API_KEY", None)
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                raise AssertionError((tmp_path / "server.log").read_text()[-2000:])
            time.sleep(0.5)
        else:
            raise AssertionError("prefect server did not become healthy in 120 s")
        yield env
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _prefect(env, *args, timeout=300):
    proc = subprocess.run([PREFECT, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"prefect {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_deploy_from_prefect_yaml_and_rerun_a_window(prefect_server, tmp_path):
    """prefect deploy --all, then a parameterised window rerun executed by a process worker, recorded in lineage."""
    home = tmp_path / "pipeline-home"
    generate_staging(home / "staging", 40, seed=4)
    env = dict(prefect_server, PIPELINE_HOME=str(home), PIPELINE_PROJECT_DIR=str(ROOT), PIPELINE_CONFIG="")
    _prefect(env, "work-pool", "create", "case-pipeline", "--type", "process")
    _prefect(env, "--no-prompt", "deploy", "--all")
    _prefect(env, "deployment", "run", "case_vector_pipeline/case-vector-pipeline",
             "--param", "window_start=2026-08-01T00:00:00", "--param", "window_end=2026-11-02T00:00:00")
    _prefect(env, "worker", "start", "--pool", "case-pipeline", "--run-once", timeout=600)
    with sqlite3.connect(home / "lineage.db") as db:
        runs = db.execute("SELECT status, window_start, window_end FROM pipeline_runs").fetchall()
        completed = db.execute("SELECT count(*) FROM data_lineage WHERE status = 'completed'").fetchone()[0]
    assert [(r[0], r[1][:10], r[2][:10]) for r in runs] == [("completed", "2026-08-01", "2026-11-02")]
    assert completed > 0
