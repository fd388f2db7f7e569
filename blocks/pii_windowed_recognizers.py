"""presidio recognizers that only look where their entity can be.

Plain presidio runs every recognizer over the whole text: ``phonenumbers``
once per region (about half of its time), and big regexes for e-mail and IP
addresses at every character. These subclasses return the same kind of
results (same entity, score and explanation, so presidio's context enhancer
treats them as usual) but first cut the text into candidate windows:

* e-mail and IP addresses contain no whitespace, so their recognizers run on
  the whitespace-delimited tokens holding an ``@`` (e-mail), or a ``:`` or a
  digit-dot-digit (IP), which gives exactly the matches of a full scan;
* phone numbers are runs of digits and separators (see
  ``WindowedPhoneRecognizer``).

Settled spans travel with the NLP artifacts under ``SETTLED_SPANS_ATTR`` as a
zero-argument callable (computed at most once per text, by whoever needs
them first): protected tokens (``pii_keep_list``) and the case's own context
values. A phone number wholly inside one is already decided (kept, or
removed anyway) and is not looked at again.
"""

from __future__ import annotations

import os

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # before presidio: no download

import functools  # noqa: E402
import re  # noqa: E402
from bisect import bisect_right  # noqa: E402
from collections.abc import Callable, Iterable, Sequence  # noqa: E402

import phonenumbers  # noqa: E402
from presidio_analyzer import EntityRecognizer, RecognizerResult  # noqa: E402
from presidio_analyzer.predefined_recognizers import EmailRecognizer, IpRecognizer, PhoneRecognizer  # noqa: E402

from blocks.pii_spans import Span, inside_any  # noqa: E402

__all__ = [
    "SETTLED_SPANS_ATTR",
    "SettledSpans",
    "WindowedEmailRecognizer",
    "WindowedIpRecognizer",
    "WindowedPhoneRecognizer",
]

#: NlpArtifacts attribute: callable returning sorted, merged settled spans.
SETTLED_SPANS_ATTR = "pii_settled_spans"

SettledSpans = Callable[[], Sequence[Span]]


class _TokenWindows:
    """Mixin: run the recognizer once, on the whitespace-delimited tokens with an anchor.

    The tokens are joined with single spaces (the patterns cannot match across
    whitespace, so no match spans two tokens) and results are mapped back.
    """

    _ANCHORS: tuple[re.Pattern[str], ...] = ()

    def analyze(self, text, entities, nlp_artifacts=None):  # noqa: D102
        windows = _tokens_around(text, (m.start() for a in self._ANCHORS for m in a.finditer(text)))
        if not windows:
            return []
        starts, offsets, position = [], [], 0
        for lo, hi in windows:
            starts.append(position)
            offsets.append(lo - position)
            position += hi - lo + 1
        results = super().analyze(" ".join(text[lo:hi] for lo, hi in windows), entities, None)
        for result in results:
            shift = offsets[bisect_right(starts, result.start) - 1]
            result.start += shift
            result.end += shift
        return results


class WindowedEmailRecognizer(_TokenWindows, EmailRecognizer):
    """presidio's e-mail recognizer, on the tokens that hold an ``@``.

    Any domain counts, not only public suffixes: "jdoe@corp.lan" and
    "admin@host.local" are people's addresses too (presidio's check against
    the public suffix list drops them). The domain's last label must be
    letters, so "v1.2@3.4" is not an address.
    """

    _ANCHORS = (re.compile("@"),)
    _LAST_LABEL = re.compile(r"\.[^\W\d_]{2,24}$")

    def validate_result(self, pattern_text: str) -> bool:  # noqa: D102
        return self._LAST_LABEL.search(pattern_text) is not None


class WindowedIpRecognizer(_TokenWindows, IpRecognizer):
    """presidio's IP recognizer, on tokens holding a ``:`` or a digit-dot-digit."""

    _ANCHORS = (re.compile(":"), re.compile(r"\d\.\d"))


class WindowedPhoneRecognizer(PhoneRecognizer):
    """presidio's phone recognizer, run only on windows of digits and separators.

    ``phonenumbers.PhoneNumberMatcher`` is by far the most expensive part of
    plain presidio (it scans the whole text once per region). Phone numbers
    are runs of digits and separators, so the matcher only sees those runs
    (with one character either side, so its own word-boundary checks work),
    and not even all of them. Skipped:

    * runs with fewer than ``min_digits`` digits once dates are blanked out;
    * dotted quads (IPv4 addresses);
    * SSN-shaped numbers and card numbers passing the Luhn check, when the
      SSN and card recognizers run;
    * runs wholly inside a settled span (protected, or a context value).

    A run starting with ``+`` is matched for one region only (the number
    carries its country code), and is a phone number even when
    libphonenumber finds no valid number in it; other regions are tried only
    while some digits of the run are unmatched; repeated runs come from a cache.
    """

    _WINDOW = re.compile(r"\+?\(?\d[\d \t\u00a0.\-/()]*\d\)?")
    _NOT_A_PHONE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
    #: Dates (2025-10-09, 2025/10/09, 09.10.2025, 12/25/25), blanked inside a run
    #: so that "2025-10-09 10:22" does not read as a phone number.
    _DATE = re.compile(
        r"(?<![\d./-])(?:(?:19|20)\d\d[-/](?:0?[1-9]|1[0-2])[-/](?:0?[1-9]|[12]\d|3[01])"
        r"|(?:0?[1-9]|[12]\d|3[01])[./-](?:0?[1-9]|[12]\d|3[01])[./-](?:(?:19|20)\d\d|\d\d))(?![./-]?\d)"
    )
    _SSN = re.compile(r"\d{3}-\d{2}-\d{4}")
    #: "+", a country code and 8-14 more digits: a phone number even when
    #: libphonenumber's metadata rejects it (a new or fictitious range).
    _INTERNATIONAL = re.compile(r"\(?\+\d{1,3}\)?(?:[ \t\u00a0.\-/()]{0,3}\d){8,14}\)?")
    _CARD = re.compile(r"\d{4}(?:[ \-]?\d{1,4}){2,4}")

    def __init__(
        self,
        supported_regions: Sequence[str],
        *,
        skip_cards: bool = False,
        skip_ssns: bool = False,
        min_digits: int = 7,
        cache_size: int = 8192,
    ) -> None:
        super().__init__(supported_regions=tuple(supported_regions))
        self._skip_cards = skip_cards
        self._skip_ssns = skip_ssns
        self._min_digits = min_digits
        self._matches = functools.lru_cache(maxsize=cache_size)(self._match_chunk)

    def analyze(self, text, entities, nlp_artifacts=None):  # noqa: D102
        settled: SettledSpans | None = getattr(nlp_artifacts, SETTLED_SPANS_ATTR, None)
        results: list[RecognizerResult] = []
        for window in self._WINDOW.finditer(text):
            start, end = window.span()
            run = window.group()
            digits = sum(ch.isdigit() for ch in run)
            if digits < self._min_digits or self._NOT_A_PHONE.fullmatch(run):
                continue
            if self._skip_cards and 13 <= digits <= 19 and self._CARD.fullmatch(run) and _luhn(run):
                continue
            if self._skip_ssns and digits == 9 and self._SSN.fullmatch(run):
                continue
            if settled is not None and inside_any(settled(), start, end):
                continue
            lo = max(0, start - 1)
            chunk = self._DATE.sub(lambda m: " " * len(m.group()), text[lo : min(len(text), end + 1)])
            if sum(ch.isdigit() for ch in chunk) < self._min_digits:
                continue
            matches = self._matches(chunk)
            for match_start, match_end, region in matches:
                results.append(self._result(lo + match_start, lo + match_end, region))
            if not matches and self._INTERNATIONAL.fullmatch(run):
                results.append(self._result(start, end, "international"))
        return EntityRecognizer.remove_duplicates(results)

    def _match_chunk(self, chunk: str) -> tuple[tuple[int, int, str], ...]:
        """Phone spans in ``chunk``; stops at the first region that covers all its digits."""
        plus = chunk.lstrip(" (").startswith("+")
        regions = self.supported_regions[:1] if plus else self.supported_regions
        found: dict[tuple[int, int], str] = {}
        digits = {i for i, ch in enumerate(chunk) if ch.isdigit()}
        for region in regions:
            for match in phonenumbers.PhoneNumberMatcher(chunk, region, leniency=self.leniency):
                found.setdefault((match.start, match.end), region)
                digits.difference_update(range(match.start, match.end))
            if not digits:
                break
        return tuple((start, end, region) for (start, end), region in found.items())

    def _result(self, start: int, end: int, region: str) -> RecognizerResult:
        return RecognizerResult(
            entity_type=self.supported_entities[0],
            start=start,
            end=end,
            score=self.SCORE,
            analysis_explanation=self._get_analysis_explanation(region),
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )


def _tokens_around(text: str, positions: Iterable[int]) -> list[tuple[int, int]]:
    """The whitespace-delimited tokens containing ``positions``, each once, in order."""
    windows: list[tuple[int, int]] = []
    for position in sorted(positions):
        if windows and position < windows[-1][1]:
            continue
        lo = position
        while lo > 0 and not text[lo - 1].isspace():
            lo -= 1
        hi = position
        while hi < len(text) and not text[hi].isspace():
            hi += 1
        windows.append((lo, hi))
    return windows


def _luhn(run: str) -> bool:
    digits = [int(ch) for ch in run if ch.isdigit()]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0
