"""The leak scanner finds personal data that reached a store and reports ids and counts, never values."""

from __future__ import annotations

import pyarrow as pa
import pytest

from blocks.duckdb_store import DuckDBVectorStore
from blocks.presidio_redactor import PresidioRedactor
from schemas.context import CONTEXT_COLUMNS
from stages.leak_scan import LeakReport, scan_for_leaks
from tests.blocks.object_tables import case_id_of, fake_case, object_table, unit_vectors

LEAKED_EMAIL = "Jane.Roe@Example.com"
LEAKED_PHONE = "+44 20 7946 0958"
LIST = pa.list_(pa.string())


def _context(n: int) -> pa.Table:
    """Context lists per case as compose builds them; case 2's person is Jane Roe."""
    rows = {name: [[] for _ in range(n)] for name in CONTEXT_COLUMNS}
    rows["context_names"] = [["Jane Roe"] if i == 2 else [f"Person{i} Example"] for i in range(n)]
    rows["context_emails"] = [["jane.roe@example.com"] if i == 2 else [] for i in range(n)]
    return pa.table({"case_id": [case_id_of(i) for i in range(n)], **{k: pa.array(v, LIST) for k, v in rows.items()}})


@pytest.fixture(scope="module")
def redactor() -> PresidioRedactor:
    return PresidioRedactor(workers=1)


@pytest.fixture
def store(tmp_path) -> DuckDBVectorStore:
    """Six stored cases, PII-free except a context e-mail in case 2 and a stranger's phone in case 4."""
    cases = [fake_case(i) for i in range(6)]
    cases[2]["comment_bodies"] = ["Replaced DIMM 3.", f"Confirmation sent to {LEAKED_EMAIL.upper()} as asked."]
    cases[4]["description"] = f"Courier will call {LEAKED_PHONE} on arrival."
    store = DuckDBVectorStore(path=str(tmp_path / "vectors.duckdb"))
    with store:
        store.ensure_schema({"primary": 8})
        assert not store.upsert(object_table(cases, {"primary": unit_vectors(6, 8)})).failed
    return store


def test_planted_context_value_is_found_and_reported_without_the_value(store, redactor):
    """A context e-mail in stored text is a context leak of case 2; nothing in the report quotes it."""
    report = scan_for_leaks(store, _context(6), redactor=redactor)
    assert report.scanned == 6 and not report.sampled
    assert report.context_by_entity == {"EMAIL_ADDRESS": 1} and report.context_leaks == 1
    assert report.by_entity == {"PHONE_NUMBER": 1}
    assert report.case_ids == (case_id_of(2), case_id_of(4))
    shown = repr(report) + report.to_json() + str(report.as_dict())
    for secret in ("jane", "roe", "example.com", "7946", "0958"):
        assert secret not in shown.lower()


def test_context_may_come_from_a_function(store, redactor):
    """The context source can be a callable from case ids to a context table (cases it lacks have none)."""
    calls = []

    def lookup(ids):
        calls.append(len(ids))
        return _context(6).filter(pa.compute.is_in(pa.compute.field("case_id"), pa.array(ids)))

    report = scan_for_leaks(store, lookup, redactor=redactor, batch_size=4)
    assert calls == [4, 2] and report.context_leaks == 1


def test_without_context_only_detectors_count(store, redactor):
    """With no context the e-mail is still a detector finding; nothing is counted as context."""
    report = scan_for_leaks(store, None, redactor=redactor)
    assert report.context_leaks == 0 and report.by_entity == {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1}


def test_sample_scans_that_many_random_objects(store, redactor):
    """A sample scans exactly that many stored objects, repeatably for one seed; or exactly the ids given."""
    first = scan_for_leaks(store, _context(6), redactor=redactor, sample=3, seed=5)
    again = scan_for_leaks(store, _context(6), redactor=redactor, sample=3, seed=5)
    assert first.scanned == 3 and first.sampled and first == again
    assert isinstance(first, LeakReport)
    chosen = scan_for_leaks(store, _context(6), redactor=redactor, case_ids=[case_id_of(2), case_id_of(3)])
    assert chosen.scanned == 2 and chosen.case_ids == (case_id_of(2),)


def test_clean_store_reports_nothing(tmp_path, redactor):
    """Objects without personal data give an empty report."""
    store = DuckDBVectorStore(path=str(tmp_path / "clean.duckdb"))
    with store:
        store.ensure_schema({"primary": 8})
        store.upsert(object_table([fake_case(i) for i in range(3)], {"primary": unit_vectors(3, 8)}))
    report = scan_for_leaks(store, _context(3), redactor=redactor)
    assert report.scanned == 3 and report.leaks == 0 and report.case_ids == ()
