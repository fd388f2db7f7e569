"""Table rules: each default rule removes what only it finds, in its tables only; rules are data."""

from __future__ import annotations

import re
import tomllib

import pyarrow as pa
import pytest
from pydantic import ValidationError

from blocks.pii_table_rules import DEFAULT_TABLE_RULES, TableRule, TableRules
from blocks.presidio_redactor import PresidioRedactor
from schemas.context import CONTEXT_COLUMNS
from schemas.fields import FIELD_BY_PROPERTY

#: rule -> (property, text, value only that rule removes). No context is given.
RULE_EXAMPLES: dict[str, tuple[str, str, str]] = {
    "email_greeting": ("email_bodies", "Hello Priyanka,\n\nThe replacement is scheduled.", "Priyanka"),
    "email_signature": (
        "email_bodies", "The fix worked.\n\nKind regards,\nTobias Lindgren\nNordvik Shipping AS", "Tobias Lindgren"),
    "quoted_reply_header": ("email_bodies", "Ok.\n\nOn Tue, 4 Nov 2025, Marta Kowalska wrote:\n> old text", "Kowalska"),
    "quoted_header_from": ("email_bodies", "From: Oduya, Grace\nSent: Tuesday\nSubject: RE: case", "Oduya"),
    "quoted_header_recipients": (
        "email_bodies", "Sent: Tuesday\nTo: Lindqvist, Henrik; Ana Pereira\nSubject: x", "Pereira"),
    "field_engineer": ("feed_bodies", "Partner Notes 20251009, CE: Bartholomew Issue: fan noise", "Bartholomew"),
    "feed_mention": ("feed_bodies", "@Ingrid Solberg please check the parts", "Solberg"),
    "street_address": ("workorder_descriptions", "Loading dock behind 212 Technology Parkway, Boston.", "Technology"),
    "dispatch_address": ("workorder_descriptions", "Please send the engineer to 149 Kingsway, Leeds.", "Kingsway"),
    "site_label": ("gsd_environment_plain_text", "OS: ESXi 8\nSite: Unit 4 Kingsway Mills\nRack B07", "Kingsway"),
    "comment_mention": ("comment_bodies", "Spoke with Ottilie, she agrees with the plan.", "Ottilie"),
    "role_mention": ("comment_bodies", "Customer Rasmus Kjeldsen reports the fan is loud.", "Kjeldsen"),
    "honorific": ("comment_bodies", "Mrs. Abernathy asked for a status update.", "Abernathy"),
    "customer_company_label": ("gsd_environment_plain_text", "OS: RHEL 9\nCustomer: Fjordline Maritime AS", "Fjordline"),
    "partner_organisation": ("feed_bodies", "Partner Insight Direct assigned the job.", "Insight Direct"),
}


@pytest.fixture(scope="module")
def redactor() -> PresidioRedactor:
    return PresidioRedactor(workers=1)


@pytest.fixture(scope="module")
def no_rules() -> PresidioRedactor:
    return PresidioRedactor(workers=1, table_rules=[])


def redact_field(redactor: PresidioRedactor, prop: str, text: str) -> str:
    listed = FIELD_BY_PROPERTY[prop].is_list
    columns = {
        "case_id": ["500Kh0000000001"],
        prop: pa.array([[text]] if listed else [text], pa.list_(pa.string()) if listed else pa.string()),
    }
    for name in CONTEXT_COLUMNS:
        columns[name] = pa.array([[]], pa.list_(pa.string()))
    value = redactor.redact(pa.RecordBatch.from_pydict(columns)).column(prop)[0].as_py()
    return value[0] if listed else value


def test_every_default_rule_has_an_example():
    """Each default rule is pinned down by an example below (and the examples name real rules)."""
    assert set(RULE_EXAMPLES) == {rule.name for rule in DEFAULT_TABLE_RULES}


@pytest.mark.parametrize("rule", list(RULE_EXAMPLES))
def test_each_rule_removes_what_only_it_finds(rule, redactor, no_rules):
    """The rule's example value goes; without any rule it stays, and no other rule finds it."""
    prop, text, value = RULE_EXAMPLES[rule]
    assert value not in redact_field(redactor, prop, text)
    assert value in redact_field(no_rules, prop, text)
    others = TableRules([r for r in DEFAULT_TABLE_RULES if r.name != rule])
    start = text.index(value)
    table = FIELD_BY_PROPERTY[prop].table
    assert not [f for f in others.find(text, [(0, len(text))], [table]) if f.start < start + len(value) and start < f.end]


def test_names_found_by_shape_are_trimmed_of_support_words(redactor):
    """'CE: Bartholomew Issue: fan noise' loses the name only; the label and the text stay."""
    out = redact_field(redactor, *RULE_EXAMPLES["field_engineer"][:2])
    assert out == "Partner Notes 20251009, CE: <PERSON> Issue: fan noise"


def test_signature_takes_name_and_company_lines(redactor):
    """A signature block loses its name and its company line; the closing stays."""
    out = redact_field(redactor, *RULE_EXAMPLES["email_signature"][:2])
    assert out == "The fix worked.\n\nKind regards,\n<PERSON>\n<ORGANIZATION>"


def test_rules_apply_to_their_tables_only(redactor):
    """An Outlook 'From:' line is a quoted header in an e-mail body, not in a case comment."""
    text = "From: Oduya, Grace\nSent: Tuesday"
    assert "Oduya" not in redact_field(redactor, "email_bodies", text)
    assert "Oduya" in redact_field(redactor, "comment_bodies", text)


def test_ordinary_words_after_a_trigger_are_not_names(redactor):
    """'Spoke with customer', 'per policy', 'Customer Service' and 'called back' lose nothing."""
    text = "Spoke with customer, closed per policy. Customer Service called back on Monday."
    assert redact_field(redactor, "comment_bodies", text) == text


def test_rule_table_is_configuration(tmp_path):
    """Rules load from the TOML configuration: a new rule is a table entry, not code."""
    config = tomllib.loads(
        """
        [redactor]
        type = "presidio"
        workers = 1

        [[redactor.table_rules]]
        name = "ticket_owner"
        tables = ["casecomment"]
        pattern = '(?i:owner)[ \\t]*=[ \\t]*(?P<PERSON>{NAME})'
        description = "owner=Name in pasted ticket metadata"
        """
    )
    fields = {k: v for k, v in config["redactor"].items() if k != "type"}
    redactor = PresidioRedactor(**fields)
    assert [r.name for r in redactor.table_rules] == ["ticket_owner"]
    assert redact_field(redactor, "comment_bodies", "Imported: owner=Ulla Bergstrom prio=2") == (
        "Imported: owner=<PERSON> prio=2"
    )


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "x", "tables": ["invoice"], "pattern": "(?P<PERSON>{NAME})"}, r"tables: unknown \['invoice'\]"),
        ({"name": "x", "tables": ["case"], "pattern": "(?P<who>{NAME})"}, "no group named after an entity"),
        ({"name": "x", "tables": ["case"], "pattern": "(?P<PERSON>[)"}, "'x': pattern does not compile"),
    ],
)
def test_bad_rules_are_rejected_with_their_name(rule, message):
    """A rule with an unknown table, no entity group or a broken regex fails at configuration."""
    with pytest.raises(ValidationError, match=message):
        TableRule(**rule)


def test_rule_findings_are_labelled_by_rule_and_entity():
    """Each finding names the rule that produced it and the entity of its group."""
    text = "On Mon, 3 Nov 2025, Jane Doe <jane.doe@example.org> wrote:"
    found = TableRules().find(text, [(0, len(text))], ["emailmessage"])
    assert {(f.rule, f.entity, text[f.start : f.end]) for f in found} == {
        ("quoted_reply_header", "PERSON", "Jane Doe"),
        ("quoted_reply_header", "EMAIL_ADDRESS", "jane.doe@example.org"),
    }
    assert all(re.fullmatch(r"[A-Z_]+:.+", f.key) for f in found)
