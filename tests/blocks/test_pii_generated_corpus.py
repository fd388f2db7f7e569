"""On 500 generated cases: no must-keep token is touched and no context value survives."""

from __future__ import annotations

import re
from datetime import datetime

import duckdb
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from blocks.pii_case_text import CaseText
from blocks.presidio_redactor import PresidioRedactor
from blocks.staging_files import ParquetStagingSource
from generator import generate_staging
from schemas.context import CONTEXT_COLUMNS
from schemas.fields import FREE_TEXT_PROPERTIES
from schemas.settings import DateWindow
from stages.compose import compose_cases
from stages.extract import extract_window

CASES = 500
_WORD = re.compile(r"[^\W_]+")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Composed cases (as the redactor receives them), their joined texts and their spans, plus both keys."""
    root = tmp_path_factory.mktemp("pii_corpus")
    generate_staging(root / "staging", CASES, seed=3)
    con = duckdb.connect()
    present = ParquetStagingSource(path=str(root / "staging")).register(con)
    extract_window(con, present, DateWindow(start=datetime(2000, 1, 1), end=datetime(2030, 1, 1)), root / "extract")
    compose_cases(con, root / "extract", root / "compose.parquet", task_types=("Plan of Action", "Trouble Shooting"),
                  max_text_chars=24_000)
    con.close()
    table = pq.read_table(root / "compose.parquet")
    table = table.filter(pc.equal(table.column("action"), "upsert"))
    batch = table.select(["case_id", *FREE_TEXT_PROPERTIES, *CONTEXT_COLUMNS]).combine_chunks().to_batches()[0]
    texts = {p: batch.column(p).to_pylist() for p in FREE_TEXT_PROPERTIES}
    cases = {cid: CaseText.gather(texts, row) for row, cid in enumerate(batch.column("case_id").to_pylist())}
    spans: dict[str, list[tuple[int, int]]] = {}
    for s in PresidioRedactor(workers=1).find_spans(batch).to_pylist():
        case = cases[s["case_id"]]
        base = case.bounds[case.slots.index((s["property"], s["list_index"]))][0]
        spans.setdefault(s["case_id"], []).append((base + s["start"], base + s["end"]))
    key = ds.dataset(root / "staging" / "answer_key").to_table().to_pylist()
    keep = ds.dataset(root / "staging" / "keep_tokens").to_table().to_pylist()
    return cases, spans, key, keep


def test_no_keep_token_is_touched(corpus):
    """Every live occurrence of a must-keep token (serial, part, error code, version...) survives untouched."""
    cases, spans, _, keep = corpus
    checked, harmed = 0, []
    for row in keep:
        case = cases.get(row["case_id"])
        if not row["record_live"] or case is None:
            continue
        for m in re.finditer(re.escape(row["token"]), case.text):
            checked += 1
            if any(s < m.end() and m.start() < e for s, e in spans.get(row["case_id"], [])):
                harmed.append((row["kind"], row["token"]))
    assert checked > 5_000
    assert harmed == []


def test_no_context_value_survives(corpus):
    """Every live planted value the case's context holds is fully covered (no word or 4 digits left)."""
    cases, spans, key, _ = corpus
    checked, leaked = 0, []
    for row in key:
        case = cases.get(row["case_id"])
        if not (row["record_live"] and row["in_context"]) or case is None:
            continue
        pattern = re.compile(rf"(?<![^\W_]){re.escape(row['value'])}(?![^\W_])", re.IGNORECASE)
        for m in pattern.finditer(case.text):
            checked += 1
            chars = list(m.group())
            for s, e in spans.get(row["case_id"], []):
                for i in range(max(s, m.start()), min(e, m.end())):
                    chars[i - m.start()] = " "
            rest = "".join(chars)
            if any(len(w) >= 2 for w in _WORD.findall(rest)) and (
                row["entity_type"] != "PHONE_NUMBER" or sum(c.isdigit() for c in rest) >= 4
            ):
                leaked.append((row["entity_type"], row["case_id"]))
    assert checked > 2_000
    assert leaked == []
