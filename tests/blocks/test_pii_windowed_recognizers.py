"""Windowed recognizers find what presidio's own recognizers find, looking at less text."""

from __future__ import annotations

import os

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from presidio_analyzer.predefined_recognizers import EmailRecognizer, IpRecognizer, PhoneRecognizer  # noqa: E402

from blocks.pii_windowed_recognizers import (  # noqa: E402
    WindowedEmailRecognizer,
    WindowedIpRecognizer,
    WindowedPhoneRecognizer,
)

TEXT = (
    "Mail (bob.jones@contoso.org) or x@y; cc: ANN@EXAMPLE.DE.\n"
    "Hosts 10.20.30.40, fe80::1ff:fe23:4567:890a and ::1; at 10:22:33 see 2.78.10.\n"
    "Call +44 20 7946 0958, (212) 555-0199 or 030 1234567; fax 555-0134; order 815098-B21."
)


def spans(recognizer, text: str = TEXT) -> set[tuple[int, int, str]]:
    return {(r.start, r.end, r.entity_type) for r in recognizer.analyze(text, recognizer.supported_entities, None)}


def test_email_and_ip_windows_give_exactly_the_full_scan_results():
    """Cutting the text into tokens loses no e-mail or IP address, and invents none."""
    assert spans(WindowedEmailRecognizer()) == spans(EmailRecognizer())
    assert spans(WindowedIpRecognizer()) == spans(IpRecognizer())
    assert len(spans(WindowedEmailRecognizer())) == 2 and len(spans(WindowedIpRecognizer())) >= 3


def test_phone_windows_find_the_numbers_of_the_full_scan():
    """Searching only digit runs finds the same phone numbers as presidio's recognizer."""
    regions = ("US", "GB", "DE")
    assert spans(WindowedPhoneRecognizer(regions)) == spans(PhoneRecognizer(supported_regions=regions))
    assert len(spans(WindowedPhoneRecognizer(regions))) == 3
