"""Recovery resumes a stuck record from the stage it reached, or recomposes it when its checkpoint is gone."""

from __future__ import annotations

import shutil
from datetime import timedelta
from typing import ClassVar

import pytest
from sqlalchemy import select

from blocks.hashing_embedder import HashingEmbedder
from blocks.lineage_tables import reconciliation_runs
from blocks.presidio_redactor import PresidioRedactor
from flows.pipeline import PIPELINE_LOCK
from flows.reconcile import reconcile
from flows.recovery import prepare_recovery_runs
from flows.run_state import RunManifest
from tests.flows.test_reconcile import _kinds, _store_sql, generated, loaded  # noqa: F401 - shared fixtures
from tests.stages.test_changes_embed_load import OutageEmbedder


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, counting the texts it is asked to embed."""

    _block_type_name = "Counting Embedder (tests)"  # its own registry key: HashingEmbedder stays registered
    texts: ClassVar[list[int]] = []

    def embed(self, texts, purpose="document"):
        CountingEmbedder.texts.append(len(texts))
        return super().embed(texts, purpose)


class CountingRedactor(PresidioRedactor):
    """The presidio redactor, counting the cases it is asked to redact."""

    _block_type_name = "Counting Redactor (tests)"
    cases: ClassVar[list[int]] = []

    def redact(self, batch):
        CountingRedactor.cases.append(batch.num_rows)
        return super().redact(batch)


@pytest.fixture
def counted(loaded):
    """``loaded`` with counting redactor and embedders of the same configuration."""
    blocks, summary = loaded
    CountingEmbedder.texts.clear()
    CountingRedactor.cases.clear()
    blocks.redactor = CountingRedactor()
    blocks.primary = CountingEmbedder(dimensions=blocks.primary.dimensions)
    blocks.fallback = CountingEmbedder(dimensions=blocks.fallback.dimensions)
    return blocks, summary


def _victim(blocks, offset: int = 5) -> str:
    return _store_sql(blocks, "SELECT case_id FROM case_vectorized ORDER BY case_id LIMIT 1 OFFSET ?", [offset])[0][0]


def _state(blocks, case_id: str) -> dict:
    return blocks.lineage.lineage_state([case_id]).to_pylist()[0]


def _hwm(blocks):
    return blocks.lineage.last_successful_run(PIPELINE_LOCK)["high_water_mark"]


@pytest.mark.parametrize(
    ("lineage_stage", "carried", "ran", "redacted", "embedded"),
    [
        ("composed", ["extract", "compose", "changes"], ["redact", "embed", "load"], 1, 1),
        ("redacted", ["extract", "compose", "changes", "redact"], ["embed", "load"], 0, 1),
        ("embedded", ["extract", "compose", "changes", "redact", "embed"], ["load"], 0, 0),
    ],
)
def test_stuck_record_resumes_from_the_stage_it_reached(counted, lineage_stage, carried, ran, redacted, embedded):
    """A record stuck after compose/redact/embed runs only the stages after it; earlier ones are not repeated."""
    blocks, summary = counted
    victim = _victim(blocks)
    before = _state(blocks, victim)
    hwm = _hwm(blocks)
    blocks.lineage.mark([victim], stage=lineage_stage, status="in_progress")

    result = reconcile(blocks, repair=True, stuck_after=timedelta(0))

    repair = result["repair"]
    assert repair["resumed_from_checkpoint"]["cases"] == 1 and repair["resumed_from_checkpoint"]["recovered"] == 1
    assert repair["recomposed"]["cases"] == 0 and repair["recomposed"]["runs"] == []
    assert repair["recovered"] == 1 and result["discrepancies"] == []
    # the redactor saw only the victim, or nothing; the embedder (the primary: no outage) likewise
    assert sum(CountingRedactor.cases) == redacted
    assert sum(CountingEmbedder.texts) == embedded
    (run_id,) = repair["resumed_from_checkpoint"]["runs"]
    manifest = RunManifest.load(blocks.home / "runs" / run_id)
    assert manifest.selection["recovery_of"] == summary["run_id"] and manifest.is_recovery
    assert [s for s, st in manifest.stages.items() if st.get("carried_from") == summary["run_id"]] == carried
    assert [s for s, st in manifest.stages.items() if "carried_from" not in st] == ran
    after = _state(blocks, victim)
    assert after["status"] == "completed" and after["run_id"] == run_id and after["checksum"] == before["checksum"]
    assert _store_sql(blocks, "SELECT checksum, run_id FROM case_vectorized WHERE case_id = ?", [victim]) == [
        (before["checksum"], run_id)]
    assert _hwm(blocks) == hwm  # a recovery run never moves the watermark
    assert blocks.lineage.get_run(run_id)["parameters"]["recovery_of"] == summary["run_id"]


def test_stuck_record_whose_run_was_pruned_is_recomposed_from_staging(counted):
    """With the run folder gone, the record is recomposed from staging (redacted and embedded again)."""
    blocks, summary = counted
    victim = _victim(blocks)
    hwm = _hwm(blocks)
    blocks.lineage.mark([victim], stage="embedded", status="in_progress")
    shutil.rmtree(blocks.home / "runs" / summary["run_id"])

    repair = reconcile(blocks, repair=True, stuck_after=timedelta(0))["repair"]

    assert repair["recomposed"] == {**repair["recomposed"], "cases": 1, "recovered": 1, "failed": 0}
    assert repair["resumed_from_checkpoint"]["cases"] == 0
    assert sum(CountingRedactor.cases) == 1 and sum(CountingEmbedder.texts) == 1
    (run_id,) = repair["recomposed"]["runs"]
    assert RunManifest.load(blocks.home / "runs" / run_id).selection["case_ids"] == [victim]
    assert _state(blocks, victim)["status"] == "completed"
    assert _hwm(blocks) == hwm


def test_groups_by_run_and_stage_and_counts_each_path_in_the_run_row(counted):
    """Records at different stages get one recovery run each; an untracked store object is recomposed;
    the reconciliation_runs row carries both paths' figures."""
    blocks, summary = counted
    at_embed, at_compose, lost = _victim(blocks, 1), _victim(blocks, 2), _victim(blocks, 3)
    blocks.lineage.mark([at_embed], stage="embedded", status="in_progress")
    blocks.lineage.mark([at_compose], stage="composed", status="in_progress")
    blocks.lineage.mark([lost], stage="redacted", status="in_progress", run_id="20000101T000000-gone0000")

    result = reconcile(blocks, repair=True, stuck_after=timedelta(0))

    repair = result["repair"]
    assert repair["resumed_from_checkpoint"]["cases"] == 2 and len(repair["resumed_from_checkpoint"]["runs"]) == 2
    assert repair["recomposed"]["cases"] == 1 and repair["recovered"] == 3
    assert sum(CountingRedactor.cases) == 2  # at_compose from its checkpoint, lost from staging
    assert {_state(blocks, i)["status"] for i in (at_embed, at_compose, lost)} == {"completed"}
    with blocks.lineage.engine.connect() as conn:
        details = conn.execute(select(reconciliation_runs.c.error_details, reconciliation_runs.c.records_recovered)
                               .where(reconciliation_runs.c.run_id == result["run_id"])).one()
    assert details.records_recovered == 3
    assert details.error_details["repair"]["resumed_from_checkpoint"]["recovered"] == 2
    assert details.error_details["repair"]["recomposed"]["recovered"] == 1


def test_missing_object_is_reloaded_from_its_checkpoint_without_embedding(counted):
    """An object the store lost is reloaded from the run that wrote it: no redaction, no embedding."""
    blocks, summary = counted
    victim = _victim(blocks)
    _store_sql(blocks, "DELETE FROM case_vectorized WHERE case_id = ?", [victim])
    repair = reconcile(blocks, repair=True)["repair"]
    assert repair["resumed_from_checkpoint"]["recovered"] == 1
    assert CountingRedactor.cases == [] and CountingEmbedder.texts == []
    assert _store_sql(blocks, "SELECT count(*) FROM case_vectorized WHERE case_id = ?", [victim]) == [(1,)]


def test_record_waiting_in_the_load_queue_is_not_stuck(counted):
    """A load_pending record belongs to the load queue's drain: not reported stuck, not recovered."""
    blocks, _ = counted
    victim = _victim(blocks)
    blocks.lineage.mark([victim], stage="embedded", status="load_pending")
    result = reconcile(blocks, stuck_after=timedelta(0))
    assert "stuck_records" not in _kinds(result) and result["counts"]["stuck"] == 0
    runs, recompose = prepare_recovery_runs(blocks, [victim])
    assert runs == [] and recompose == []


def test_recovery_that_keeps_failing_is_parked(counted):
    """A resumed run that fails counts against its records; after max_attempts they are parked."""
    blocks, _ = counted
    victim = _victim(blocks)
    blocks.lineage.mark([victim], stage="redacted", status="in_progress")
    blocks.primary = OutageEmbedder(terminal=True, dims=blocks.primary.dimensions)  # a 401: the run stops
    for attempt in range(1, 4):
        repair = reconcile(blocks, repair=True, stuck_after=timedelta(0), max_attempts=3)["repair"]
        assert repair["resumed_from_checkpoint"]["failed"] == 1 and "EmbedderRejected" in repair["errors"][0]
        state = _state(blocks, victim)
        assert (state["status"], state["retry_count"]) == ("failed", attempt)
    result = reconcile(blocks, repair=True, stuck_after=timedelta(0), max_attempts=3)
    assert result["counts"]["parked"] == 1 and _state(blocks, victim)["status"] == "parked"
    assert result["repair"]["resumed_from_checkpoint"]["cases"] == 0 and result["repair"]["recomposed"]["cases"] == 0
