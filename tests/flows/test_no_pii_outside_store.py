"""A pipeline run leaves no context value anywhere after the PII stage: logs, failures, checkpoints, errors.

One run on ~80 generated cases plus two troublemakers: a corrupt comment
row that quotes its case's people (quarantined at extract), and a case the
redactor fails on (isolated at redact, with a cause that quotes a name).
The redactor runs its process pool (default start method, as in production)
because the batch is larger than ``pool_min_cases``; its workers import this
module, so the pipeline and generator imports stay inside the fixture.
"""

from __future__ import annotations

import json
import logging
import re
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from blocks.presidio_redactor import PiiRedactionError, PresidioRedactor
from schemas.context import CONTEXT_COLUMNS
from schemas.fields import FREE_TEXT_PROPERTIES

CASES = 80
CORRUPT_SSN = "536-22-8726"


class NameChokingRedactor(PresidioRedactor):
    """Fails on the case whose context names ``choke_on``, with a cause quoting the name (as a bug might)."""

    _block_type_name = "Test Name Choking Redactor"
    _block_type_slug = "test-name-choking-redactor"

    choke_on: str = ""

    def _matcher(self, context):
        if self.choke_on and self.choke_on in (context.get("context_names") or []):
            raise ValueError(f"unexpected character in {self.choke_on!r}")
        return super()._matcher(context)


def _live_case(staging) -> dict:
    case = ds.dataset(staging / "case").to_table()
    live = case.filter(pc.and_(pc.invert(case.column("IsDeleted")), pc.is_valid(case.column("ContactName"))))
    return live.slice(0, 1).to_pylist()[0]


def _plant_corrupt_comment(staging, case: dict, victim: dict) -> None:
    """A comment row whose Id is taken by another row: quarantined, its text never read."""
    comments = ds.dataset(staging / "casecomment").to_table()
    row = comments.slice(0, 1).to_pylist()[0]
    row.update(ParentId=case["Id"], CommentBody=(
        f"Call {victim['ContactName']} on {victim['ContactPhone']}, mail {victim['ContactEmail']}, SSN {CORRUPT_SSN}"))
    table = pa.concat_tables([comments, pa.Table.from_pylist([row], schema=comments.schema)])
    shutil.rmtree(staging / "casecomment")
    (staging / "casecomment").mkdir()
    pq.write_table(table, staging / "casecomment" / "part-00000.parquet")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The pipeline run, its blocks, captured log records, the choked case and every case's context values."""
    from flows.config import load_blocks
    from flows.pipeline import run_pipeline
    from generator import generate_staging

    root = tmp_path_factory.mktemp("no_pii")
    staging = root / "staging"
    generate_staging(staging, CASES, seed=5)
    choked = _live_case(staging)
    _plant_corrupt_comment(staging, choked, choked)
    blocks = load_blocks(home=root / "home", staging_path=staging)
    blocks.redactor = NameChokingRedactor(choke_on=choked["ContactName"], workers=2, pool_min_cases=20)
    handler = _Collect()
    root_logger = logging.getLogger()
    old_level = root_logger.level
    root_logger.addHandler(handler)
    root_logger.setLevel(logging.DEBUG)
    try:
        with blocks.redactor:
            summary = run_pipeline(blocks)
    finally:
        root_logger.removeHandler(handler)
        root_logger.setLevel(old_level)
    run_dir = blocks.home / "runs" / summary["run_id"]
    compose = pq.read_table(run_dir / "compose.parquet")
    return {"blocks": blocks, "summary": summary, "records": handler.records, "run_dir": run_dir,
            "choked": choked, "compose": compose, "secrets": _secrets(compose, choked)}


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _secrets(compose: pa.Table, choked: dict) -> list[str]:
    """Every context value of every case (4+ characters) and the corrupt row's values, case-folded.

    An e-mail column's value may list several addresses: each is a value.
    """
    values = {v for name in CONTEXT_COLUMNS for vs in compose.column(name).to_pylist() for v in (vs or []) if v}
    values = {part for v in values for part in re.split(r"[;,]\s*", v)}
    values |= {choked["ContactName"], choked["ContactEmail"], choked["ContactPhone"], CORRUPT_SSN}
    return sorted({v.strip().casefold() for v in values if v and len(v.strip()) >= 4})


def _leaks(secrets: list[str], text: str) -> list[str]:
    """The secrets that occur in ``text`` as whole words, in any casing."""
    folded = text.casefold()
    return [v for v in secrets if v in folded
            and re.search(rf"(?<![^\W_]){re.escape(v)}(?![^\W_])", folded)]


def test_run_completes_with_the_two_failures(run):
    """The run loads every other case; the corrupt row is quarantined and the choked case failed at redact."""
    summary, choked = run["summary"], run["choked"]
    failures = run["blocks"].lineage.unresolved_failures()
    assert {f["stage"] for f in failures} == {"extract", "redact"}
    assert [f["record_id"] for f in failures if f["stage"] == "redact"] == [choked["Id"]]
    assert summary["loaded"] == summary["processed"] - 1 - summary["deleted"]


def test_secrets_are_really_there_before_the_pii_stage(run):
    """The compose checkpoint holds the context values: the searches below are not vacuous."""
    composed = json.dumps(run["compose"].select(list(CONTEXT_COLUMNS)).to_pylist(), ensure_ascii=False)
    found = set(_leaks(run["secrets"], composed))
    assert len(run["secrets"]) > 100 and [v for v in run["secrets"] if v not in found] == [CORRUPT_SSN]


def test_no_context_value_in_log_records(run):
    """No log record, with the root logger at DEBUG, carries a context value (tracebacks included)."""
    formatter = logging.Formatter()
    text = "\n".join(
        f"{r.name} {r.getMessage()} {formatter.formatException(r.exc_info) if r.exc_info else ''}"
        for r in run["records"]
    )
    assert len(run["records"]) > 5
    assert _leaks(run["secrets"], text) == []


def test_no_context_value_in_failed_records(run):
    """failed_records payloads and messages name ids, tables and error types only."""
    failures = run["blocks"].lineage.unresolved_failures()
    assert _leaks(run["secrets"], json.dumps(failures, default=str, ensure_ascii=False)) == []


def test_no_context_value_in_checkpoints_after_redact(run):
    """redact, embed and load checkpoints and the manifest hold no context value."""
    run_dir = run["run_dir"]
    for name in ("redact.parquet", "embed.parquet", "load.parquet"):
        table = pq.read_table(run_dir / name)
        assert not set(CONTEXT_COLUMNS) & set(table.schema.names)
        text = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                or (pa.types.is_list(f.type) and pa.types.is_string(f.type.value_type))]
        dumped = json.dumps(table.select(text).to_pylist(), default=str, ensure_ascii=False)
        assert _leaks(run["secrets"], dumped) == [], name
    assert _leaks(run["secrets"], (run_dir / "manifest.json").read_text()) == []


def test_no_context_value_in_the_store(run):
    """The leak scanner, with the staging context of every case, finds no context value in the store."""
    from stages.leak_scan import scan_for_leaks

    report = scan_for_leaks(run["blocks"].store, run["compose"], redactor=PresidioRedactor(workers=1))
    assert report.scanned == run["summary"]["loaded"]
    assert report.context_leaks == 0


def test_redaction_error_message_carries_no_value(run):
    """The error of the choked case names it and the columns, not the name its cause quoted."""
    compose, choked = run["compose"], run["choked"]
    one = compose.filter(pc.equal(compose.column("case_id"), choked["Id"]))
    batch = one.select(["case_id", *FREE_TEXT_PROPERTIES, *CONTEXT_COLUMNS]).combine_chunks().to_batches()[0]
    with pytest.raises(PiiRedactionError) as caught:
        NameChokingRedactor(choke_on=choked["ContactName"], workers=1).redact(batch)
    assert choked["Id"] in str(caught.value) and caught.value.__cause__ is None
    assert _leaks(run["secrets"], str(caught.value)) == []
