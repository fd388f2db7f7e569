"""Context-aware removal: finding a case's own people in its text.

The compose stage hands the PII stage, per case, the names, e-mail addresses,
phone numbers, companies and address parts of the people on that case
(``schemas.context``). Every one of those values must disappear from the
case's text, in any casing, whatever the generic recognizers think.
``pii_context_variants`` lists the forms a value takes; this module finds
them, without compiling a regex per case:

* words: the text is split once into words (maximal runs of letters and
  digits); a dict from a variant's first word to the variants starting with
  it gives one lookup per word, and a variant matches when its next words
  follow with at most five separator characters between them ("John-Smith",
  "john_smith", "SMITH,  John");
* e-mail addresses: substring search in the lower-cased text, so an address
  goes even inside a longer token;
* phone numbers: by their digits inside runs of digits and separators, with
  or without country code, trunk ``0`` or "(0)"; the last seven digits must
  be there.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from blocks.pii_context_variants import WORD, ContextVariants, WordSequence, context_variants
from blocks.pii_name_words import fold
from blocks.pii_spans import Finding

__all__ = ["ContextMatcher"]

_DIGIT_RUN = re.compile(r"[+(]*\d[\d \t\u00a0.\-_/()]*")
_MAX_GAP = 5  # separator characters allowed between the words of a value
_MIN_RUN_DIGITS = 5
_PHONE_CORE_DIGITS = 7


class ContextMatcher:
    """Finds all variants of one case's context values in a text."""

    def __init__(self, variants: ContextVariants) -> None:
        index: dict[str, list[WordSequence]] = defaultdict(list)
        for sequence in dict.fromkeys(variants.sequences):
            first = sequence.words[0]
            for word in (first,) if isinstance(first, str) else first:
                index[word].append(sequence)
        for candidates in index.values():
            candidates.sort(key=lambda s: -s.weight)
        self._index = dict(index)
        self._emails = dict(variants.emails)
        self._phones = tuple(dict.fromkeys(variants.phones))

    @classmethod
    def from_context(cls, context: Mapping[str, Sequence[str | None] | None]) -> ContextMatcher:
        """Build the matcher for one case from its context list columns."""
        return cls(context_variants(context))

    @property
    def is_empty(self) -> bool:
        """True when the case gave no usable context value."""
        return not (self._index or self._emails or self._phones)

    def find(self, text: str) -> list[Finding]:
        """Occurrences of any variant, sorted; different kinds may overlap.

        Each finding's ``key`` is the normalised source value, the same for
        all variants of one value (so pseudonyms agree).
        """
        found: list[Finding] = []
        if self._index:
            found += self._find_sequences(text)
        if self._emails and "@" in text:
            found += self._find_emails(text)
        if self._phones:
            found += self._find_phones(text)
        found.sort(key=lambda f: (f.start, -f.end))
        return found

    def _find_sequences(self, text: str) -> list[Finding]:
        words = [(m.start(), m.end(), m.group()) for m in WORD.finditer(text)]
        lowered = text.casefold()
        if len(lowered) == len(text) and lowered.isascii():  # the usual case: slice words out of one casefold
            folded = [lowered[s:e] for s, e, _ in words]
        else:
            folded = [fold(w[2]) for w in words]
        found: list[Finding] = []
        skip_until = 0
        for i, word in enumerate(folded):
            candidates = self._index.get(word)
            if not candidates or words[i][0] < skip_until:
                continue
            for sequence in candidates:
                end = _match_at(sequence, text, words, folded, i)
                if end is not None:
                    found.append(Finding(words[i][0], end, sequence.entity, sequence.key, True))
                    skip_until = end
                    break
        return found

    def _find_emails(self, text: str) -> list[Finding]:
        lowered = text.lower()
        if len(lowered) != len(text):  # a few non-ASCII letters change length
            lowered = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
        found = []
        for address, key in self._emails.items():
            start = lowered.find(address)
            while start >= 0:
                found.append(Finding(start, start + len(address), "EMAIL_ADDRESS", key, True))
                start = lowered.find(address, start + len(address))
        return found

    def _find_phones(self, text: str) -> list[Finding]:
        found = []
        for run in _DIGIT_RUN.finditer(text):
            positions = [run.start() + i for i, ch in enumerate(run.group()) if ch.isdigit()]
            if len(positions) < _MIN_RUN_DIGITS:
                continue
            digits = "".join(text[p] for p in positions)
            for phone in self._phones:
                for first, last in _phone_spans(phone.digits, digits):
                    start = positions[first]
                    while start > run.start() and text[start - 1] in "+(":
                        start -= 1
                    found.append(Finding(start, positions[last] + 1, "PHONE_NUMBER", phone.key, True))
        return found


def _match_at(sequence: WordSequence, text: str, words, folded, i: int) -> int | None:
    """End offset of ``sequence`` matched at word ``i``, or None."""
    count = len(sequence.words)
    if i + count > len(words):
        return None
    for j, expected in enumerate(sequence.words):
        k = i + j
        if j:
            gap = text[words[k - 1][1] : words[k][0]]
            if sequence.gaps is not None:
                if gap != sequence.gaps[j - 1]:
                    return None
            elif len(gap) > _MAX_GAP:
                return None
        if isinstance(expected, str):
            if folded[k] != expected:
                return None
        elif folded[k] not in expected:
            return None
        if sequence.exact_case is not None and words[k][2] != sequence.exact_case[j]:
            return None
    end = words[i + count - 1][1]
    has_dot = text[end : end + 1] == "."
    if sequence.dot_after and not has_dot:
        return None
    if has_dot and (len(folded[i + count - 1]) == 1 or not isinstance(sequence.words[-1], str)):
        end += 1  # an initial or a street-type abbreviation: take its dot along
    return end


def _phone_spans(value: str, digits: str) -> Iterable[tuple[int, int]]:
    """Digit-index spans in ``digits`` holding phone number ``value``.

    Short values must be the whole run. Longer ones: the last seven digits,
    extended to the left while the digits agree with the rest of the value
    (one trunk ``0``, as in "+49 (0)30" or "030", may be skipped), then over
    a leading ``0`` or ``00`` if present.
    """
    if len(value) < _PHONE_CORE_DIGITS:
        if digits == value:
            yield 0, len(digits) - 1
        return
    core, prefix = value[-_PHONE_CORE_DIGITS:], value[:-_PHONE_CORE_DIGITS]
    at = digits.find(core)
    while at >= 0:
        first, want, skipped = at, len(prefix) - 1, False
        while first > 0 and want >= 0:
            if digits[first - 1] == prefix[want]:
                first, want = first - 1, want - 1
            elif digits[first - 1] == "0" and not skipped:
                first, skipped = first - 1, True
            else:
                break
        if first > 0 and digits[first - 1] == "0":
            first -= 1
            if first > 0 and digits[first - 1] == "0":
                first -= 1
        yield first, at + _PHONE_CORE_DIGITS - 1
        at = digits.find(core, at + _PHONE_CORE_DIGITS)
