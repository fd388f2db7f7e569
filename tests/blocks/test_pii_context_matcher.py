"""Context matcher details: which variants of a case's values are found, and which are not."""

from __future__ import annotations

from blocks.pii_context_matcher import ContextMatcher


def found(context: dict[str, list[str]], text: str) -> list[str]:
    matcher = ContextMatcher.from_context({f"context_{k}": v for k, v in context.items()})
    return [text[f.start : f.end] for f in matcher.find(text)]


def test_state_and_country_codes_match_their_casing_only():
    """Two-letter address values are codes: 'TX' goes, 'tx' in 'tx queue' stays."""
    assert found({"addresses": ["TX"]}, "TX 77070, tx queue") == ["TX"]


def test_values_of_role_words_only_are_not_people():
    """'HPE Support' as a name removes nothing: it is no person."""
    assert found({"names": ["HPE Support"]}, "HPE Support replied") == []


def test_email_value_with_display_name_and_several_addresses():
    """A 'Name <address>; address' value yields the name and every address."""
    text = "From John Smith: cc jane@acme.com and john@acme.com"
    hits = set(found({"emails": ["John Smith <john@acme.com>; jane@acme.com"]}, text))
    assert {"John Smith", "jane@acme.com", "john@acme.com"} <= hits


def test_email_value_listing_several_display_names():
    """Each address of a list is a value of its own: two display names are two people, not one."""
    text = "Jane Roe wrote to John Smith"
    hits = found({"emails": ["John Smith <john@acme.com>, Jane Roe <jane@acme.com>;"]}, text)
    assert hits == ["Jane Roe", "John Smith"]


def test_phone_extension_is_ignored():
    """A stored extension does not stop the number from matching."""
    assert found({"phones": ["+1 415 555 0134 ext. 12"]}, "call (415) 555-0134") == ["(415) 555-0134"]


def test_phone_match_does_not_eat_a_neighbouring_number():
    """Extending a phone match to the left stops where the digits disagree."""
    assert found({"phones": ["+1 415 555 0134"]}, "case 5000123456 4155550134") == ["4155550134"]


def test_short_phone_values():
    """Under five digits is no phone; five or six digits must be a whole number."""
    assert found({"phones": ["1234"]}, "1234") == []
    assert found({"phones": ["12345"]}, "ext 12345 and 123456") == ["12345"]


def test_variants_of_one_value_share_a_key():
    """All variants of a value carry the same key, so pseudonyms agree."""
    matcher = ContextMatcher.from_context({"context_names": ["Smith, John"]})
    keys = {f.key for f in matcher.find("John Smith, J. Smith, SMITH and john")}
    assert keys == {"PERSON:john smith"}


def test_middle_names_and_titles():
    """Titles are dropped; middle names are optional in the full form."""
    assert found({"names": ["Dr. John A. Smith"]}, "John A. Smith and John Smith") == ["John A. Smith", "John Smith"]


def test_several_numbers_in_one_phone_value():
    """A phone value listing several numbers yields each of them."""
    text = "office 030 1234567, mobile 0171 7654321"
    assert found({"phones": ["+49 30 1234567 / +49 171 7654321"]}, text) == ["030 1234567", "0171 7654321"]


def test_company_short_forms_people_write():
    """A context company is also found as its leading words, initials plus rest, or first and last word."""
    cases = {
        "Blue Ridge Credit Union": "Blue Ridge CU",
        "Lakeview Unified School District": "Lakeview USD",
        "Centre Hospitalier de Vauclair": "CH Vauclair",
        "Malabar Cooperative Bank": "Malabar Bank",
        "Granite State Insurance Co.": "GRANITE STATE",
        "Pinecrest Manufacturing LLC": "Pinecrest",
    }
    for company, short in cases.items():
        assert found({"companies": [company]}, f"Escalated by {short} today") == [short], company


def test_generic_first_word_of_a_company_is_not_enough():
    """'Blue' alone (short, an everyday word) is not taken for 'Blue Ridge Credit Union'."""
    assert found({"companies": ["Blue Ridge Credit Union"]}, "blue LED on the drive") == []


def test_street_abbreviations():
    """Streets are found in the abbreviated forms notes use: Wy, ORR, str., M.G. Rd, r., bd."""
    cases = {
        "244 Innovation Way": "244 Innovation Wy",
        "402 Outer Ring Road": "402 ORR",
        "Friedrichstraße 95": "Friedrichstr. 95",
        "12 MG Road": "12 M.G. Rd",
        "8 rue de Rivoli": "8 r. de Rivoli",
        "3 boulevard Haussmann": "3 bd Haussmann",
    }
    for street, written in cases.items():
        hits = found({"addresses": [street]}, f"Ship to {written} today")
        assert hits and hits[0].rstrip(".") == written.rstrip("."), street


def test_accents_and_names_spelled_by_a_context_address():
    """A context address 'amelie.dubois@...' removes 'Dubois Amélie' and 'AMELIE' (accents ignored)."""
    hits = found({"emails": ["amelie.dubois@cabinet-lumiere.fr"]}, "Le 4 nov., Dubois Amélie a écrit; AMELIE")
    assert hits == ["Dubois Amélie", "AMELIE"]


def test_context_lists_are_read_as_sets():
    """Order and repeats in a context list change nothing: compose gathers values in no particular order.

    'J. Smith' and 'Smith' are variants of both values; which key they get
    must not depend on which value came first.
    """
    text = "J. Smith called; Smith will call back. John Smith and Jane Smith cc'd."

    def findings(names):
        return [(f.start, f.end, f.entity, f.key) for f in ContextMatcher.from_context({"context_names": names}).find(text)]

    expected = findings(["Jane Smith", "John Smith"])
    assert findings(["John Smith", "Jane Smith"]) == expected
    assert findings(["John Smith", " Jane Smith", "John Smith", None, ""]) == expected
    assert {key for _, _, _, key in expected} == {"PERSON:jane smith", "PERSON:john smith"}


def test_email_list_of_separators_only_is_no_value():
    """A column holding only separators gives nothing to look for."""
    assert ContextMatcher.from_context({"context_emails": [" ; ", ", ,", ";"]}).is_empty
