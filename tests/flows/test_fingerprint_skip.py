"""Reruns skip unchanged cases by source fingerprint, before composing them.

``run_pipeline`` called directly (stages as plain functions), on generated
staging data, with the embedded defaults.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from flows.config import load_blocks
from flows.pipeline import run_pipeline
from generator import generate_staging
from tests.staging_builder import read_staging_table, rewrite_staging_table

pytestmark = pytest.mark.slow
ALL_TIME = {"window_start": datetime(2000, 1, 1)}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated") / "staging"
    generate_staging(out, 80, seed=5)
    return out


@pytest.fixture
def staging(generated, tmp_path):
    target = tmp_path / "staging"
    shutil.copytree(generated, target)
    return target


def _run(tmp_path, staging, **kw) -> dict:
    return run_pipeline(load_blocks(home=tmp_path / "home", staging_path=staging), **{**ALL_TIME, **kw})


def _set(table: pa.Table, column: str, index: int, value) -> pa.Table:
    values = table.column(column).to_pylist()
    values[index] = value
    i = table.schema.get_field_index(column)
    return table.set_column(i, column, pa.array(values, table.schema.field(column).type))


def _live_comment(staging) -> tuple[pa.Table, int, str]:
    comments = read_staging_table(staging, "casecomment")
    case = read_staging_table(staging, "case")
    live = set(case.filter(pc.invert(case.column("IsDeleted"))).column("Id").to_pylist())
    idx = next(i for i, (p, d) in enumerate(zip(comments.column("ParentId").to_pylist(),
                                                comments.column("IsDeleted").to_pylist())) if p in live and not d)
    return comments, idx, comments.column("ParentId")[idx].as_py()


def test_rerun_of_a_window_skips_every_case_before_compose(tmp_path, staging):
    """Nothing changed: every case is skipped at extract and compose composes nothing."""
    first = _run(tmp_path, staging)
    assert first["loaded"] > 0 and first["stages"]["extract"]["skipped_unchanged"] == 0
    second = _run(tmp_path, staging)
    extract = second["stages"]["extract"]
    # every case the first run loaded or deleted (deleted before it was ever loaded included)
    # is skipped before compose
    assert first["stages"]["changes"]["deleted"] > 0
    assert extract["skipped_unchanged"] == first["loaded"] + first["stages"]["changes"]["deleted"]
    assert second["stages"]["compose"]["selected"] == 0
    assert second["processed"] == 0 and second["skipped_unchanged"] == second["selected"]


def test_a_touch_without_a_change_is_skipped_and_a_change_is_not(tmp_path, staging):
    """A new LastModifiedDate alone keeps the fingerprint; a new comment body changes it."""
    _run(tmp_path, staging)
    comments, idx, case_id = _live_comment(staging)
    touched = _set(comments, "LastModifiedDate", idx, datetime.now() - timedelta(minutes=1))
    rewrite_staging_table(staging, "casecomment", touched)
    again = _run(tmp_path, staging)
    assert again["processed"] == 0 and again["stages"]["compose"]["selected"] == 0
    rewrite_staging_table(staging, "casecomment", _set(touched, "CommentBody", idx, "Reseated DIMM A3, POST 207 cleared."))
    changed = _run(tmp_path, staging)
    assert changed["stages"]["compose"]["upserts"] == 1 and changed["processed"] == 1 and changed["loaded"] == 1
    blocks = load_blocks(home=tmp_path / "home", staging_path=staging)
    state = blocks.lineage.lineage_state([case_id]).to_pylist()[0]
    assert state["status"] == "completed" and state["source_fingerprint"]


def test_a_change_the_text_ignores_is_composed_once_then_skipped_early(tmp_path, staging):
    """A deleted comment edited: fingerprint differs, checksum does not; the next rerun skips it at extract."""
    _run(tmp_path, staging)
    comments = read_staging_table(staging, "casecomment")
    deleted = comments.column("IsDeleted").to_pylist()
    idx = next(i for i, d in enumerate(deleted) if d)
    rewrite_staging_table(staging, "casecomment", _set(comments, "CommentBody", idx, "edited after deletion"))
    second = _run(tmp_path, staging)
    assert second["stages"]["compose"]["upserts"] == 1 and second["processed"] == 0
    third = _run(tmp_path, staging)
    assert third["stages"]["compose"]["upserts"] == 0 and third["processed"] == 0


def test_a_failed_case_is_not_skipped_even_with_the_same_fingerprint(tmp_path, staging):
    """Only a finished status lets the fingerprint skip a case: a failed one is worked on again."""
    first = _run(tmp_path, staging)
    blocks = load_blocks(home=tmp_path / "home", staging_path=staging)
    ids = next(blocks.lineage.iter_record_ids(["completed"]))[:2]
    assert ids, "expected completed records after the first run"
    blocks.lineage.mark(ids, stage="embedding_generated", status="failed", error_message="test")
    again = _run(tmp_path, staging)
    assert again["processed"] == len(ids) and again["loaded"] == len(ids)
    assert first["loaded"] > len(ids)


def test_changing_the_composition_settings_recomposes_every_case(tmp_path, staging):
    """The fingerprint includes the settings that shape the text: new task types mean a new version of every case."""
    first = _run(tmp_path, staging)
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text(f'[staging]\ntype = "parquet"\npath = "{staging}"\n[pipeline]\ntask_types = ["Call"]\n')
    blocks = load_blocks(cfg, home=tmp_path / "home")
    changed = run_pipeline(blocks, **ALL_TIME)
    assert changed["stages"]["extract"]["skipped_unchanged"] == 0
    assert changed["stages"]["compose"]["upserts"] == first["loaded"]
    assert changed["processed"] >= first["loaded"]
    again = run_pipeline(load_blocks(cfg, home=tmp_path / "home"), **ALL_TIME)
    assert again["stages"]["compose"]["selected"] == 0 and again["processed"] == 0
