"""Detection without rewriting (find_spans, find_pii) and detections beyond presidio's defaults."""

from __future__ import annotations

import logging

import pyarrow as pa
import pytest

from blocks.pii_redactor import PII_COUNTS_SCHEMA, PII_SPANS_SCHEMA
from blocks.presidio_redactor import PresidioRedactor
from schemas.context import CONTEXT_COLUMNS

LIST = pa.list_(pa.string())


@pytest.fixture(scope="module")
def redactor() -> PresidioRedactor:
    return PresidioRedactor(workers=1)


def batch(subjects: list[str], comments: list[list[str]], names: list[list[str]]) -> pa.RecordBatch:
    columns = {"case_id": [f"C{i}" for i in range(len(subjects))], "subject": subjects,
               "comment_bodies": pa.array(comments, LIST)}
    for name in CONTEXT_COLUMNS:
        columns[name] = pa.array(names if name == "context_names" else [[] for _ in subjects], LIST)
    return pa.RecordBatch.from_pydict(columns)


def test_find_spans_points_at_what_redact_replaces(redactor):
    """Offsets are per field value and list element; sources say context, rule or detector."""
    b = batch(["Call John Smith"], [["ok", "Spoke with Ottilie; mail bob.jones@contoso.org"]], [["John Smith"]])
    spans = redactor.find_spans(b)
    assert spans.schema == PII_SPANS_SCHEMA
    rows = {(r["property"], r["list_index"], r["source"], r["rule"]): (r["start"], r["end"]) for r in spans.to_pylist()}
    comment = b.column("comment_bodies")[0][1].as_py()
    assert rows[("subject", None, "context", None)] == (5, 15)
    assert rows[("comment_bodies", 1, "rule", "comment_mention")] == (11, 18)
    lo, hi = rows[("comment_bodies", 1, "detector", None)]
    assert comment[lo:hi] == "bob.jones@contoso.org"


def test_find_pii_counts_per_case_entity_and_source(redactor):
    """Counts only, per case, entity and source; cases without findings have no row."""
    b = batch(["Call John Smith twice: John Smith", "nothing here"], [["mail a.b@example.org"], []],
              [["John Smith"], []])
    counts = redactor.find_pii(b)
    assert counts.schema == PII_COUNTS_SCHEMA
    assert counts.to_pylist() == [
        {"case_id": "C0", "entity_type": "EMAIL_ADDRESS", "source": "detector", "count": 1},
        {"case_id": "C0", "entity_type": "PERSON", "source": "context", "count": 2},
    ]


def test_name_spelled_by_a_third_party_address_goes_everywhere(redactor):
    """'zoltan.farkas@...' makes 'Zoltan Farkas' go wherever the case mentions him; a role mailbox names nobody."""
    b = batch(["Zoltan Farkas will cover for me"], [["(zoltan.farkas@ventor-group.hu)", "it-helpdesk@acme.com helpdesk"]],
              [[]])
    out = redactor.redact(b)
    assert out.column("subject")[0].as_py() == "<PERSON> will cover for me"
    assert out.column("comment_bodies")[0].as_py() == ["(<EMAIL_ADDRESS>)", "<EMAIL_ADDRESS> helpdesk"]


def test_addresses_on_private_domains_are_detected(redactor):
    """'jdoe@corp.lan' is an address although '.lan' is no public suffix; 'v1.2@3.4' is none."""
    out = redactor.redact(batch(["login jdoe@corp.lan fails, build v1.2@3.4"], [[]], [[]]))
    assert out.column("subject")[0].as_py() == "login <EMAIL_ADDRESS> fails, build v1.2@3.4"


def test_presidio_debug_output_stays_off_even_when_root_turns_debug(redactor, caplog):
    """presidio quotes text at DEBUG; its logger stays at INFO after the analyzer is built."""
    redactor.redact(batch(["warm up"], [[]], [[]]))
    caplog.set_level(logging.DEBUG)
    redactor.redact(batch(["call 415-555-0134 about John Smith"], [[]], [["John Smith"]]))
    assert not [r for r in caplog.records if "555" in r.getMessage() or "John" in r.getMessage()]


def test_international_numbers_are_phones_even_outside_libphonenumber_ranges(redactor):
    """'+33594627193' (no valid French number) is still a phone; '+2.78.10' and '+12345' are not."""
    out = redactor.redact(batch(["call +33594627193 or +33 (0)4 06 67 33 60; fw +2.78.10, order +12345"], [[]], [[]]))
    assert out.column("subject")[0].as_py() == "call <PHONE_NUMBER> or <PHONE_NUMBER>; fw +2.78.10, order +12345"
