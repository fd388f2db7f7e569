"""PresidioRedactor: context-aware removal, presidio recognizers, keep-list, operators."""

from __future__ import annotations

import re
import string

import pyarrow as pa
import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from blocks.pii_context_variants import NAME_PART_STOPWORDS
from blocks.presidio_redactor import KNOWN_ENTITIES, PiiRedactionError, PresidioRedactor
from schemas.context import CONTEXT_COLUMNS

CONTEXT_TYPE = pa.list_(pa.string())
PLACEHOLDER = re.compile(r"<[A-Z_]+?(?:_[0-9a-f]{4})?>")


@pytest.fixture(scope="module")
def redactor() -> PresidioRedactor:
    return PresidioRedactor()


def make_batch(texts: list[str | None], **context: list[list[str] | None]) -> pa.RecordBatch:
    columns = {"case_id": pa.array([f"500Kh0000{i:06d}" for i in range(len(texts))]), "description": pa.array(texts)}
    for name in CONTEXT_COLUMNS:
        values = context.get(name.removeprefix("context_"), [[] for _ in texts])
        columns[name] = pa.array(values, type=CONTEXT_TYPE)
    return pa.RecordBatch.from_pydict(columns)


def redact_text(redactor: PresidioRedactor, text: str, **context: list[str]) -> str:
    batch = make_batch([text], **{k: [v] for k, v in context.items()})
    return redactor.redact(batch).column("description")[0].as_py()


def survives(value: str, text: str) -> bool:
    """Whether ``value`` is still in ``text`` as a word, in any casing (placeholders aside)."""
    bare = PLACEHOLDER.sub(" ", text)
    return re.search(rf"(?<![^\W_]){re.escape(value)}(?![^\W_])", bare, re.IGNORECASE) is not None


# --- context-aware removal ------------------------------------------------------------


@pytest.mark.parametrize(
    "mention",
    ["John Smith", "Smith, John", "J. Smith", "Smith J.", "John S.", "JOHN SMITH", "john smith", "John", "Smith",
     "SMITH,JOHN", "John-Smith", "john_smith"],
)
def test_each_name_variant_is_removed(redactor, mention):
    """Every written form of a context name goes, including first or last name alone."""
    out = redact_text(redactor, f"Spoke with {mention} about the DIMM in bay 3.", names=["John Smith"])
    assert not survives("John", out) and not survives("Smith", out)
    assert "<PERSON>" in out and "DIMM in bay 3" in out


def test_name_parts_match_whole_words_only(redactor):
    """A name part inside a longer word ("Johnson", "Smithfield") is left alone."""
    out = redact_text(redactor, "Johnson from Smithfield called.", names=["John Smith"])
    assert out == "Johnson from Smithfield called."


def test_name_parts_that_are_support_words_stay_alone_but_go_together(redactor):
    """'Mark Power' is removed as a name, yet 'mark' and 'power' alone are ordinary words."""
    out = redact_text(redactor, "Mark Power asked us to mark the power supply.", names=["Mark Power"])
    assert out == "<PERSON> asked us to mark the power supply."


@pytest.mark.parametrize(
    ("context", "mention"),
    [
        ("+1 (415) 555-0134", "415-555-0134"),
        ("+1 (415) 555-0134", "4155550134"),
        ("+1 (415) 555-0134", "+14155550134"),
        ("+1 (415) 555-0134", "415.555.0134"),
        ("+1 (415) 555-0134", "1 415 555 0134"),
        ("+1 (415) 555-0134", "555 0134"),
        ("4155550134", "+1 (415) 555-0134"),
        ("+49 30 1234567", "030 1234567"),
        ("+49 30 1234567", "+49 (0)30 1234567"),
        ("+49 30 1234567", "0049 30 123 45 67"),
        ("+49 30 1234567", "030/1234567"),
        ("030-1234567", "+49 30 1234567"),
    ],
)
def test_phone_is_matched_on_its_digits(redactor, context, mention):
    """A context phone goes whatever its separators, country code or trunk zero."""
    out = redact_text(redactor, f"Call back on {mention} after 5pm.", phones=[context])
    digits = re.sub(r"\D", "", context)[-7:]
    assert digits not in re.sub(r"\D", "", out) and "<PHONE_NUMBER>" in out
    assert out.startswith("Call back on ") and out.endswith(" after 5pm.")


@pytest.mark.parametrize("mention", ["JOHN.SMITH@ACME.COM", "john.smith@acme.com", "mailto:John.Smith@Acme.Com", "xjohn.smith@acme.com"])
def test_email_is_removed_in_any_casing(redactor, mention):
    """A context e-mail address goes in any casing, even inside a longer token."""
    out = redact_text(redactor, f"Reply to {mention} today", emails=["John.Smith@acme.com"])
    assert "john.smith@acme.com" not in out.lower()


def test_email_local_part_alone_is_removed(redactor):
    """The local part of a context address is removed when it stands alone (a user name)."""
    out = redact_text(redactor, r"Logged in as ACME\john.smith on the iLO.", emails=["john.smith@acme.com"])
    assert "john.smith" not in out.lower()


def test_company_with_and_without_legal_suffix(redactor):
    """A context company goes with its legal suffix and without it."""
    out = redact_text(redactor, "Contoso Ltd. asked; CONTOSO confirmed.", companies=["Contoso Ltd"])
    assert not survives("Contoso", out) and out.count("<ORGANIZATION>") == 2


def test_address_parts_are_removed():
    """Street (long or short form), city, postal code and state code of the case go (context alone)."""
    out = redact_text(
        PresidioRedactor(table_rules=[]),
        "Ship to 1200 Main St., Houston, TX 77070 (ctx: tx queue).",
        addresses=["1200 Main Street", "Houston", "TX", "77070"],
    )
    assert out == "Ship to <LOCATION>, <LOCATION>, <LOCATION> <LOCATION> (ctx: tx queue)."


def test_context_value_beats_keep_list(redactor):
    """A context phone is removed even where it looks like a protected case number."""
    out = redact_text(redactor, "Customer line 5000123456", phones=["500-012-3456"])
    assert out == "Customer line <PHONE_NUMBER>"


def test_partial_overlap_removes_the_whole_address(redactor):
    """A context name inside a third-party address takes the whole address with it."""
    out = redact_text(redactor, "Copy john.smith@other-domain.org please", names=["John Smith"])
    assert out == "Copy <EMAIL_ADDRESS> please"


# --- generic recognizers and keep-list ------------------------------------------------


def test_generic_recognizers_catch_third_party_values(redactor):
    """E-mail, phone, card and IP of people not in the context are still removed."""
    out = redact_text(
        redactor,
        "Partner bob.jones@contoso.org, +44 20 7946 0958, card 4111 1111 1111 1111, host 10.20.30.40, "
        "SSN 536-22-8726.",
    )
    assert out == (
        "Partner <EMAIL_ADDRESS>, <PHONE_NUMBER>, card <CREDIT_CARD>, host <IP_ADDRESS>, SSN <US_SSN>."
    )


def test_keep_tokens_survive_next_to_pii(redactor):
    """Serials, part numbers, error codes, versions, case/WO/KB numbers survive beside PII."""
    keep = ["CZJ8340F2K", "SNEW123456", "815098-B21", "0x80070005", "iLO_400_MemoryErrors", "218004",
            "2.78.10", "BIOS 1.2.3.4", "event 30012345", "5000123456", "WO-00012345", "KB000123456"]
    text = " ".join(f"{token} (john@acme.com, 415-555-0134)" for token in keep)
    out = redact_text(redactor, text, names=["John Smith"])
    for token in keep:
        assert token in out
    assert "john@" not in out and "555-0134" not in out


def test_dates_and_times_are_not_phone_numbers(redactor):
    """A timestamp such as '2025-10-09 10:22:33' is not taken for a phone number."""
    text = "Rebooted 2025-10-09 10:22:33 and 09.10.2025 14:00, call (212) 555-0199."
    assert redact_text(redactor, text) == "Rebooted 2025-10-09 10:22:33 and 09.10.2025 14:00, call <PHONE_NUMBER>."


def test_without_keep_list_versions_and_codes_are_mistaken_for_pii():
    """The keep-list is what saves 'BIOS 1.2.3.4' and 'event 30012345' from the recognizers."""
    out = redact_text(PresidioRedactor(keep_patterns=[]), "BIOS 1.2.3.4 event 30012345")
    assert out == "BIOS <IP_ADDRESS> event <PHONE_NUMBER>"


# --- arrow handling -------------------------------------------------------------------


def test_list_columns_are_redacted_elementwise_with_nulls_preserved(redactor):
    """Child-table lists keep their length, nulls, empty strings and types; each element is redacted."""
    batch = pa.RecordBatch.from_pydict(
        {
            "case_id": ["a", "b", "c"],
            "subject": pa.array(["John called", None, ""], type=pa.large_string()),
            "comment_bodies": pa.array(
                [["Call John", None, "", "mail john@acme.com"], None, []], type=pa.list_(pa.string())
            ),
            "context_names": pa.array([["John Smith"], None, []], type=CONTEXT_TYPE),
        }
    )
    out = redactor.redact(batch)
    assert out.schema.field("subject").type == pa.large_string()
    assert out.schema.field("comment_bodies").type == pa.list_(pa.string())
    assert out.column("subject").to_pylist() == ["<PERSON> called", None, ""]
    assert out.column("comment_bodies").to_pylist() == [
        ["Call <PERSON>", None, "", "mail <EMAIL_ADDRESS>"],
        None,
        [],
    ]


def test_output_schema_drops_context_and_adds_count(redactor):
    """Context columns are dropped, pii_entities_removed (int32) added, other columns untouched."""
    other = pa.array([7, None], type=pa.int64())
    batch = make_batch(["John Smith mailed john.smith@acme.com", "nothing here"], names=[["John Smith"], []])
    batch = batch.append_column("priority_rank", other)
    out = redactor.redact(batch)
    assert out.schema.names == ["case_id", "description", "priority_rank", "pii_entities_removed"]
    assert out.schema.field("pii_entities_removed").type == pa.int32()
    assert out.column("pii_entities_removed").to_pylist() == [2, 0]
    assert out.column("priority_rank").equals(other)
    assert out.column("case_id").equals(batch.column("case_id"))


def test_empty_batch(redactor):
    """An empty batch gives an empty batch with the output schema."""
    out = redactor.redact(make_batch([]))
    assert out.num_rows == 0 and out.schema.names[-1] == "pii_entities_removed"


# --- operators ------------------------------------------------------------------------


def pseudonymise(key: str, texts: list[str], **context) -> list[str]:
    redactor = PresidioRedactor(operator="pseudonym", pseudonym_key=key)
    return redactor.redact(make_batch(texts, **context)).column("description").to_pylist()


def test_pseudonyms_are_consistent_within_a_case():
    """All variants of one value get one token; another value gets another token."""
    [out] = pseudonymise(
        "k1", ["John Smith, SMITH John and J. Smith wrote from john.smith@acme.com"],
        names=[["John Smith"]], emails=[["john.smith@acme.com"]],
    )
    tokens = re.findall(r"<[A-Z_]+_[0-9a-f]{4}>", out)
    assert len(tokens) == 4 and len(set(tokens[:3])) == 1
    assert tokens[0].startswith("<PERSON_") and tokens[3].startswith("<EMAIL_ADDRESS_")


def test_pseudonyms_differ_across_keys_and_cases():
    """The token depends on the secret key and the case: nothing links cases or leaks the value."""
    text, names = ["John Smith called", "John Smith called"], [["John Smith"], ["John Smith"]]
    a = pseudonymise("key-a", text, names=names)
    b = pseudonymise("key-b", text, names=names)
    assert a[0] != b[0] and a[0] != a[1]


def test_pseudonym_needs_a_key():
    """The pseudonym operator refuses to run without a key."""
    with pytest.raises(ValidationError, match="pseudonym_key"):
        PresidioRedactor(operator="pseudonym")


# --- configuration and errors ---------------------------------------------------------


def test_bad_configuration_is_rejected():
    """Invalid keep patterns, unknown entities and unknown phone regions fail at configuration."""
    with pytest.raises(ValidationError, match=r"keep_patterns\[1\]"):
        PresidioRedactor(keep_patterns=["ok", "("])
    with pytest.raises(ValidationError, match="FAX_NUMBER"):
        PresidioRedactor(entities=["FAX_NUMBER"])
    with pytest.raises(ValidationError, match="XX"):
        PresidioRedactor(phone_regions=["US", "XX"])


def test_known_entities_match_the_recognizers():
    """The block's list of entities is exactly what the recognizer module supports."""
    from blocks.pii_recognizers import NER_ENTITIES, PATTERN_ENTITIES

    assert set(KNOWN_ENTITIES) == set(PATTERN_ENTITIES) | set(NER_ENTITIES)


def test_errors_name_case_and_columns_never_text(redactor, monkeypatch):
    """A failure names the case id and columns; the cause (which may quote PII) is not chained."""

    def boom(self, context):
        raise ValueError("could not parse john.smith@acme.com")

    monkeypatch.setattr(PresidioRedactor, "_matcher", boom)
    with pytest.raises(PiiRedactionError) as caught:
        redactor.redact(make_batch(["mail john.smith@acme.com"]))
    message = str(caught.value)
    assert "500Kh0000000000" in message and "description" in message and "ValueError" in message
    assert "john" not in message and caught.value.__cause__ is None and caught.value.__suppress_context__


def test_wrong_column_type_is_reported_by_name(redactor):
    """A free-text column of the wrong type is reported with its name and types."""
    batch = pa.RecordBatch.from_pydict({"case_id": ["a"], "comment_bodies": pa.array([[1]], pa.list_(pa.int64()))})
    with pytest.raises(PiiRedactionError, match=r"comment_bodies.*list<string>"):
        redactor.redact(batch)


def test_spacy_model_detects_person_without_context(tmp_path, redactor):
    """With an installed/local spaCy NER pipeline, PERSON is found without any context."""
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "PERSON", "pattern": "Zaphod Beeblebrox"}])
    nlp.to_disk(tmp_path / "ner")
    text = "Zaphod Beeblebrox reported fan noise."
    assert redact_text(redactor, text) == text
    assert redact_text(PresidioRedactor(spacy_model=str(tmp_path / "ner")), text) == "<PERSON> reported fan noise."


def test_missing_spacy_model_is_a_clear_error():
    """A spaCy model that is not installed is reported, never downloaded."""
    with pytest.raises(ValueError, match="not_a_model_xyz"):
        PresidioRedactor(spacy_model="not_a_model_xyz").redact(make_batch(["x"]))


# --- property: planted context values never survive -----------------------------------

SENTENCES = [
    "{x}",
    "Customer {x} reports Memory Health Degraded on DL380 Gen10 CZJ8340F2K.",
    "Please call {x} before the onsite visit; part 815098-B21 is on its way.",
    "CE: {x} Issue: iLO_400_MemoryErrors Action: replace DIMM, SN New: SNEW123456",
    "RE: HPE Support Case 5000123456 ({x}) [ref:!00Dd00bUlK.!500Kh0fwcXA:ref]",
    "Firmware 2.78.10 fixed error 0x80070005, confirmed by {x}.",
    "Contact:{x};escalated to WO-00012345",
]
_LETTERS = string.ascii_letters + "éèüöñçåø"
_NAME_PART = st.text(_LETTERS, min_size=2, max_size=10).filter(
    lambda p: p.casefold() not in NAME_PART_STOPWORDS
)


def _recase(draw, text: str) -> str:
    style = draw(st.sampled_from(["same", "upper", "lower", "title", "random"]))
    if style == "random":
        return "".join(ch.upper() if draw(st.booleans()) else ch.lower() for ch in text)
    return {"same": text, "upper": text.upper(), "lower": text.lower(), "title": text.title()}[style]


@st.composite
def planted(draw):
    sentence = draw(st.sampled_from(SENTENCES))
    kind = draw(st.sampled_from(["name", "email", "phone"]))
    if kind == "name":
        first, last = draw(_NAME_PART), draw(_NAME_PART)
        form = draw(st.sampled_from(["{f} {l}", "{l}, {f}", "{i}. {l}", "{f}", "{l}", "{l} {f}"]))
        mention = _recase(draw, form.format(f=first, l=last, i=first[0]))
        context, forbidden = {"names": [f"{first} {last}"]}, [first, last]
    elif kind == "email":
        address = draw(st.from_regex(r"[a-z][a-z0-9]{1,8}([._-][a-z0-9]{1,8})?@[a-z]{2,10}\.(com|org|de)", fullmatch=True))
        mention = _recase(draw, address)
        context, forbidden = {"emails": [address]}, [address]
    else:
        area, exchange, line = draw(st.from_regex(r"[2-9]\d\d", fullmatch=True)), draw(
            st.from_regex(r"[2-9]\d\d", fullmatch=True)
        ), draw(st.from_regex(r"\d{4}", fullmatch=True))
        stored = draw(st.sampled_from(["+1 ({a}) {e}-{n}", "{a}{e}{n}", "1-{a}-{e}-{n}"]))
        written = draw(st.sampled_from(["{a}-{e}-{n}", "({a}) {e} {n}", "+1.{a}.{e}.{n}", "{a}{e}{n}", "{e}-{n}"]))
        mention = written.format(a=area, e=exchange, n=line)
        context, forbidden = {"phones": [stored.format(a=area, e=exchange, n=line)]}, [f"{exchange}{line}"]
    return kind, sentence.format(x=mention), context, forbidden


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=planted())
def test_planted_context_values_never_survive(redactor, case):
    """Any context name, e-mail or phone planted anywhere, in any casing, is removed."""
    kind, text, context, forbidden = case
    out = redact_text(redactor, text, **context)
    for value in forbidden:
        if kind == "name":
            assert not survives(value, out), (text, out)
        elif kind == "email":
            assert value.lower() not in out.lower(), (text, out)
        else:
            runs = ["".join(re.findall(r"\d", run)) for run in re.findall(r"[\d(][\d\s().+-]*", out)]
            assert not any(value in run for run in runs), (text, out)
