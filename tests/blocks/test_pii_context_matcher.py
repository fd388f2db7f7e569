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
