"""The keep-list: which support identifiers are protected from generic recognizers."""

from __future__ import annotations

import pytest

from blocks.pii_keep_list import KeepList


@pytest.fixture(scope="module")
def keep() -> KeepList:
    return KeepList()


def protected(keep: KeepList, text: str) -> list[str]:
    return [text[start:end] for start, end in keep.spans(text)]


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("SN CZJ8340F2K replaced", "CZJ8340F2K"),
        ("SN New: SNEW123456,", "SNEW123456"),
        ("part 815098-B21 ordered", "815098-B21"),
        ("part P12345-001", "P12345-001"),
        ("error 0x80070005.", "0x80070005"),
        ("IML: iLO_400_MemoryErrors", "iLO_400_MemoryErrors"),
        ("POST error 218004 seen", "218004"),
        ("event 30012345", "30012345"),
        ("code 1719", "1719"),
        ("update to 2.78.10.", "2.78.10"),
        ("BIOS 1.2.3.4 installed", "1.2.3.4"),
        ("case 5000123456 closed", "5000123456"),
        ("see WO-00012345", "WO-00012345"),
        ("KB000123456 applies", "KB000123456"),
        ("[ ref:!00Dd00bUlK.!500Kh0fwcXA:ref ]", "ref:!00Dd00bUlK.!500Kh0fwcXA:ref"),
    ],
)
def test_default_patterns_protect_support_identifiers(keep, text, token):
    """Each kind of support identifier named in the staging contract is protected."""
    assert token in protected(keep, text)


@pytest.mark.parametrize(
    "text",
    ["call 415-555-0134", "+49 30 1234567", "tel 4155550134", "555 0134 or 555-0134", "host 10.20.30.40",
     "ssn 536-22-8726", "card 4111 1111 1111 1111"],
)
def test_phone_numbers_and_addresses_are_not_protected(keep, text):
    """Phone numbers, IPs, SSNs and cards are never protected, not even one digit group."""
    assert protected(keep, text) == []


def test_keep_group_protects_only_itself(keep):
    """A pattern with a 'keep' group protects the number, not the word before it."""
    assert protected(keep, "error: 218004") == ["218004"]


def test_nothing_inside_an_email_token_is_protected(keep):
    """A protected-looking local part cannot shield an e-mail address."""
    assert protected(keep, "mail SNEW123456@acme.com or iLO_400@acme.com") == []


def test_bad_pattern_is_named_by_index():
    """A keep pattern that does not compile is reported with its index."""
    with pytest.raises(ValueError, match=r"keep_patterns\[1\]"):
        KeepList(["ok", "[unclosed"])


@pytest.mark.parametrize(
    ("text", "token"),
    [("NimbleOS 6.1.2.200 installed", "6.1.2.200"), ("ArubaOS is at 8.10.0.12.", "8.10.0.12"),
     ("updated SPP to 2024.04.00.00", "2024.04.00.00"), ("Firmware: SPP at 2025.01.00.00", "2025.01.00.00")],
)
def test_four_part_versions_after_a_label_are_protected(keep, text, token):
    """A dotted quad after an OS or firmware label is a version, not an IP address."""
    assert token in protected(keep, text)


def test_ipv6_groups_are_not_protected(keep):
    """The digit groups of an IPv6 address are no stand-alone numbers: the address stays detectable."""
    assert protected(keep, "iLO on 2001:db8:85a3::8a2e:370:7334 and host 10.20.30.40") == []
