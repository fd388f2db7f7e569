"""Protected tokens: the support identifiers that PII removal must not touch.

Serial numbers, part numbers, error codes, firmware versions, case, work-order
and knowledge-base numbers are the most valuable search terms in support data
(``shared/design/staging-contract.md``, "What is not PII here"), yet several of
them look like phone numbers or SSNs to a generic recognizer. A generic
recognizer result that overlaps a protected span is dropped. Values from the
case's own PII context are removed even inside a protected span.

A keep pattern protects its whole match, or only its named group ``keep`` when
it has one (so a pattern can require a preceding word such as "error" without
protecting that word). Nothing in a token holding an ``@`` is protected: a
protected-looking local part must never save an e-mail address from removal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from blocks.pii_spans import Span, merge_spans, overlaps_any

__all__ = ["DEFAULT_KEEP_PATTERNS", "KeepList", "compile_keep_patterns"]

#: Regexes of protected tokens. Case-sensitive unless a pattern says ``(?i)``.
#: Most start with a literal or a character class and check the left boundary
#: with a look-behind after it ("0(?<!\w0)x..." rather than "\b0x..."): Python's
#: ``re`` then jumps straight to the few places where the first character
#: occurs instead of trying the pattern at every position (3-10x faster).
DEFAULT_KEEP_PATTERNS: tuple[str, ...] = (
    # Serial numbers: 8-14 upper-case letters and digits with both kinds
    # (CZJ8340F2K, SNEW123456, SOLD789012, MXQ12345AB).
    r"[A-Z0-9](?<!\w[A-Z0-9])(?=[A-Z0-9]{7,13}\b)"
    r"(?:(?<=[A-Z])(?=[A-Z]*[0-9])|(?<=[0-9])(?=[0-9]*[A-Z]))[A-Z0-9]{7,13}\b",
    # Part numbers (815098-B21, P12345-001, 875490-001).
    r"\b[A-Z]?\d{5,6}-[A-Z0-9]{3}\b",
    # Hexadecimal error codes (0x80070005).
    r"0(?<!\w0)[xX][0-9A-Fa-f]{4,16}\b",
    # Identifier-style codes with underscores (iLO_400_MemoryErrors).
    r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b",
    # Numeric codes after a code word (error 218004, POST code 1719, event 42),
    # unless the number is only the first group of a longer one (a phone).
    r"(?i)\b(?:error|code|event|post|iml|alert)s?\b[\s:#=-]{0,3}(?P<keep>\d{2,8})\b(?![\s\-./]?\d)",
    # Stand-alone numbers of 4-6 digits that are not a group of a longer number
    # (nor of an IPv6 address such as 2001:db8::7334).
    r"\d(?<![\w+(:]\d)(?<!\d[\s\-./]\d)\d{3,5}\b(?![\s\-./]?\d)(?!:[0-9A-Fa-f])",
    # Firmware versions: 2-3 dotted parts, first part of 1-2 digits (2.78.10).
    r"\d(?<![\d.]\d)\d?(?:\.\d{1,3}){1,2}(?!\.?\d)",
    # Versions after a version word, up to 4 parts (v2.78.10, BIOS 1.2.3.4).
    r"[VvFfBbRrSsIi](?<!\w[VvFfBbRrSsIi])"
    r"(?i:(?<=v)(?:er(?:sion)?)?|(?<=f)(?:irmware|w)|(?<=b)ios|(?<=r)om|(?<=s)pp|(?<=i)lo\s?\d?)"
    r"[\s:.]{0,2}(?P<keep>\d+(?:\.\d+){1,3})\b",
    # Four-part versions after an OS or firmware label, also with "is at"/"to"
    # between (NimbleOS 6.1.2.200, "ArubaOS is at 8.10.0.12", "updated SPP to
    # 2024.04.00.00"), which would otherwise read as IP addresses. It starts at
    # the digit and checks the label with fixed-width look-behinds (fast).
    r"\d(?<![\w.]\d)(?:(?<=[A-Za-z]OS \d)|(?<=[A-Za-z]OS: \d)|(?<=OS is at \d)|(?<=OS at \d)|(?<=OS to \d)"
    r"|(?<=(?i:ware) \d)|(?<=(?i:ware:) \d)|(?<=(?i:sion) \d)|(?<=(?i: ver) \d)|(?<=(?i: fw) \d)"
    r"|(?<=(?i: rom) \d)|(?<=(?i:bios) \d)|(?<=(?i: spp) \d)|(?<=(?i:ease) \d)|(?<=(?i:uild) \d)"
    r"|(?<=(?i:ware is at) \d)|(?<=(?i:ware at) \d)|(?<=(?i:ated to) \d)|(?<=(?i:aded to) \d)"
    r"|(?<=(?i:date to) \d)|(?<=(?i:rade to) \d)|(?<=(?i:spp to) \d)"
    r"|(?<=(?i:spp at) \d)|(?<=(?i:spp is at) \d)|(?<=(?i:spp:) \d))\d{0,3}(?:\.\d{1,4}){3}(?![\w.]*\d)",
    # Case numbers: 10 digits starting 500 (5000123456).
    r"5(?<!\d5)00\d{7}(?!\d)",
    # Work-order numbers (WO-00012345).
    r"[Ww](?<!\w[Ww])[Oo]-?\d{5,10}\b",
    # Knowledge-base and document ids (KB000123456, a00012345en_us, c04111367).
    r"[Kk](?<!\w[Kk])[Bb]\d{4,12}\b",
    r"a(?<!\wa)\d{8}[a-z]{2}_[a-z]{2}\b",
    r"c(?<!\wc)0\d{7}\b",
    # Salesforce e-mail thread references (ref:!00Dd00bUlK.!500Kh0fwcXA:ref).
    r"ref:[!\w.]+:ref",
)


def compile_keep_patterns(patterns: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    """Compile ``patterns``; a bad one is reported by its index and regex."""
    compiled = []
    for index, pattern in enumerate(patterns):
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ValueError(
                f"keep_patterns[{index}] is not a valid regular expression "
                f"({exc}): {pattern!r}"
            ) from None
    return tuple(compiled)


class KeepList:
    """Finds the protected spans of a text."""

    def __init__(self, patterns: Sequence[str] = DEFAULT_KEEP_PATTERNS) -> None:
        self._patterns = compile_keep_patterns(patterns)

    def spans(self, text: str) -> list[Span]:
        """Protected ``(start, end)`` spans of ``text``, sorted and merged."""
        found: list[Span] = []
        for pattern in self._patterns:
            keeps_group = "keep" in pattern.groupindex
            for match in pattern.finditer(text):
                start, end = match.span("keep") if keeps_group else match.span()
                if start < end:
                    found.append((start, end))
        if not found:
            return []
        if "@" in text:
            found = _outside_emails(text, found)
        return merge_spans(found)


def _outside_emails(text: str, spans: list[Span]) -> list[Span]:
    """Drop spans overlapping a whitespace-delimited token that holds an ``@``."""
    emails: list[Span] = []
    at = text.find("@")
    while at >= 0:
        lo, hi = at, at
        while lo > 0 and not text[lo - 1].isspace():
            lo -= 1
        while hi < len(text) and not text[hi].isspace():
            hi += 1
        emails.append((lo, hi))
        at = text.find("@", hi)
    return [s for s in spans if not overlaps_any(emails, s[0], s[1])]
