"""Context-aware removal: the case's own people, found in all their variants.

The compose stage hands the PII stage, per case, the names, e-mail addresses,
phone numbers, companies and address parts of the people on that case
(``schemas.context``). Every one of those values must disappear from the
case's text, in any casing, whatever the generic recognizers think. Variants:

* names: "John Smith", "Smith, John", "J. Smith", "Smith J.", "John S.",
  first and last name alone (parts of at least two letters that are not
  common support words, see ``NAME_PART_STOPWORDS``), any short run of
  separators between the parts ("John-Smith", "john_smith", "JOHN  SMITH");
* e-mail addresses anywhere, even inside a longer token, plus the local part
  alone ("john.smith") when it is not a role name such as "support";
* phone numbers by their digits: any separators, with or without country
  code, trunk ``0`` or "(0)"; at least the last seven digits must be there;
* company names with and without their legal suffix ("Acme Corp", "Acme");
* address values and their comma-separated parts, street-type words in long
  or short form ("Main Street" / "Main St.").

Deliberate exceptions (not identifying, and removing them would wreck the
text): values made only of stop words ("HPE Support"), phone values with
fewer than five digits, and address values of one or two characters, which
are state or country codes and are matched in their given casing only.

How: no regex is compiled per case. The text is split once into words
(maximal runs of letters and digits); a dict from a variant's first word to
the variants starting with it finds name, company and address variants with
one dict lookup per word. E-mail addresses are found by substring search in
the lower-cased text, phone numbers by their digits inside runs of digits
and separators.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from blocks.pii_spans import Finding

__all__ = ["CONTEXT_ENTITIES", "NAME_PART_STOPWORDS", "ContextMatcher"]

#: Placeholder entity for the values of each context column.
CONTEXT_ENTITIES: dict[str, str] = {
    "context_names": "PERSON",
    "context_emails": "EMAIL_ADDRESS",
    "context_phones": "PHONE_NUMBER",
    "context_companies": "ORGANIZATION",
    "context_addresses": "LOCATION",
}

#: Words never removed on their own, even when part of a name or company:
#: function words, name particles and titles, and words of support texts
#: that are also names ("Mark", "Will", "Power", "Case").
NAME_PART_STOPWORDS: frozenset[str] = frozenset(
    """
    a an the and or of to in on at by for from with as is it be no not so up
    we us our you your he she they me my mr mrs ms miss dr prof sir jr sr ii iii
    de da di du la le van von der den del della dos das
    hpe hp support team service services desk center centre help admin
    administrator user customer client partner engineer field onsite tech
    technical manager operations ops sales info contact noreply reply system
    systems global group solutions international it network case will may
    mark bill grant chase page price power port drive disk memory fan board
    card slot rack bay box array smart link boot switch cable storage server
    hall king long little young stone wood read reading cook baker hunter
    rose hope joy summer miles lane dean gene drew frank june april august
    monday friday sunday new old call message email mail phone mobile office
    home work order unknown none null na test
    """.split()
)

_TITLES = frozenset("mr mrs ms miss dr prof sir".split())
_ROLE_LOCAL_PARTS = NAME_PART_STOPWORDS | frozenset(
    "postmaster mailer-daemon no-reply donotreply do-not-reply notifications "
    "notification alerts helpdesk servicedesk hostmaster webmaster".split()
)
_LEGAL_SUFFIXES = frozenset(
    """
    inc incorporated llc ltd limited corp corporation co company gmbh ag sa sas
    sarl bv nv plc pty srl spa kg oy ab as kk lp llp ulc se
    """.split()
)
_STREET_WORDS: tuple[frozenset[str], ...] = tuple(
    frozenset(group.split())
    for group in (
        "street st str strasse straße",
        "avenue ave av",
        "road rd",
        "boulevard blvd",
        "drive dr",
        "lane ln",
        "court ct",
        "place pl",
        "square sq",
        "highway hwy",
        "parkway pkwy",
        "suite ste",
        "building bldg",
        "floor fl",
    )
)

_WORD = re.compile(r"[^\W_]+")
_EMAIL_IN_VALUE = re.compile(r"[^\s<>;,()\"'\[\]]+@[^\s<>;,()\"'\[\]]+")
_EXTENSION = re.compile(r"(?i)\s*(?:ext\.?|extension|x|#)\s*\d{1,6}\s*$")
_DIGIT_RUN = re.compile(r"[+(]*\d[\d \t\u00a0.\-/()]*")
_MAX_GAP = 5  # separator characters allowed between the words of a value
_MIN_PHONE_DIGITS = 5
_PHONE_CORE_DIGITS = 7

#: A variant word: the case-folded word, or the set of its equivalents.
_Word = str | frozenset[str]


@dataclass(frozen=True, slots=True)
class _Sequence:
    """A variant as a sequence of words (names, companies, addresses, local parts)."""

    words: tuple[_Word, ...]
    entity: str
    key: str
    exact_case: tuple[str, ...] | None = None  # original words, for state/country codes
    gaps: tuple[str, ...] | None = None  # exact separators (e-mail local parts)
    dot_after: bool = False  # "John S." needs the dot

    @property
    def weight(self) -> int:
        return sum(len(w) if isinstance(w, str) else 4 for w in self.words) + len(self.words)


@dataclass(frozen=True, slots=True)
class _Phone:
    digits: str
    key: str


class ContextMatcher:
    """Finds all variants of one case's context values in a text."""

    def __init__(
        self,
        sequences: Iterable[_Sequence] = (),
        emails: Mapping[str, str] | None = None,
        phones: Iterable[_Phone] = (),
    ) -> None:
        index: dict[str, list[_Sequence]] = defaultdict(list)
        for sequence in dict.fromkeys(sequences):
            first = sequence.words[0]
            for word in (first,) if isinstance(first, str) else first:
                index[word].append(sequence)
        for candidates in index.values():
            candidates.sort(key=lambda s: -s.weight)
        self._index = dict(index)
        self._emails = dict(emails or {})  # lower-cased address -> key
        self._phones = tuple(dict.fromkeys(phones))

    @classmethod
    def from_context(cls, context: Mapping[str, Sequence[str | None] | None]) -> ContextMatcher:
        """Build the matcher for one case from its context list columns."""
        sequences: list[_Sequence] = []
        emails: dict[str, str] = {}
        phones: list[_Phone] = []
        for column, values in context.items():
            for value in dict.fromkeys(v.strip() for v in values or () if v and v.strip()):
                if column == "context_names":
                    sequences += _name_variants(value, emails)
                elif column == "context_emails":
                    sequences += _email_variants(value, emails)
                elif column == "context_phones":
                    phones += _phone_variants(value)
                elif column == "context_companies":
                    sequences += _company_variants(value)
                elif column == "context_addresses":
                    sequences += _address_variants(value)
        return cls(sequences, emails, phones)

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
        words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
        folded = [w[2].casefold() for w in words]
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
            if len(positions) < _MIN_PHONE_DIGITS:
                continue
            digits = "".join(text[p] for p in positions)
            for phone in self._phones:
                for first, last in _phone_spans(phone.digits, digits):
                    start = positions[first]
                    while start > run.start() and text[start - 1] in "+(":
                        start -= 1
                    found.append(Finding(start, positions[last] + 1, "PHONE_NUMBER", phone.key, True))
        return found


def _match_at(sequence: _Sequence, text: str, words, folded, i: int) -> int | None:
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
    if has_dot and len(folded[i + count - 1]) == 1:  # an initial: take its dot along
        end += 1
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


# --- variant builders, one per kind of context value ------------------------------


def _fold(tokens: Sequence[str]) -> tuple[str, ...]:
    return tuple(t.casefold() for t in tokens)


def _stopwords_only(tokens: Sequence[str]) -> bool:
    return all(t.casefold() in NAME_PART_STOPWORDS or t.isdigit() for t in tokens)


def _name_variants(value: str, emails: dict[str, str]) -> list[_Sequence]:
    if "@" in value:
        return _email_variants(value, emails)
    if value.count(",") == 1:  # "Smith, John"
        last, first = value.split(",")
        tokens = _WORD.findall(first) + _WORD.findall(last)
    else:
        tokens = _WORD.findall(value)
    tokens = [t for t in tokens if t.casefold() not in _TITLES]
    if not tokens or _stopwords_only(tokens) or sum(len(t) for t in tokens) < 2:
        return []
    words = _fold(tokens)
    key = "PERSON:" + " ".join(words)
    variants = [words]
    if len(words) > 1:
        first, last = words[0], words[-1]
        variants += [
            (last, *words[:-1]),  # Smith, John A.
            (first, last),  # John Smith (middle names left out)
            (last, first),  # Smith, John
            (first[0], last),  # J. Smith
            (last, first[0]),  # Smith, J.
        ]
    variants += [
        (part,) for part in words if len(part) >= 2 and not part.isdigit() and part not in NAME_PART_STOPWORDS
    ]
    found = [_Sequence(v, "PERSON", key) for v in dict.fromkeys(variants)]
    if len(words) > 1:  # John S.
        found.append(_Sequence((words[0], words[-1][0]), "PERSON", key, dot_after=True))
    return found


def _email_variants(value: str, emails: dict[str, str]) -> list[_Sequence]:
    found: list[_Sequence] = []
    for address in (a.strip(".") for a in _EMAIL_IN_VALUE.findall(value)):
        if "@" not in address:
            continue
        key = "EMAIL_ADDRESS:" + address.casefold()
        emails.setdefault(address.lower(), key)
        local = address.split("@", 1)[0]
        tokens = _WORD.findall(local)
        if len(local) >= 4 and tokens and local.casefold() not in _ROLE_LOCAL_PARTS and not local.isdigit():
            gaps = tuple(g for g in re.split(r"[^\W_]+", local)[1:-1])
            if local.startswith(tokens[0]) and local.endswith(tokens[-1]):
                found.append(_Sequence(_fold(tokens), "EMAIL_ADDRESS", key, gaps=gaps))
    rest = _EMAIL_IN_VALUE.sub(" ", value)
    if _WORD.search(rest):  # "John Smith <john@x.com>": the display name too
        found += _name_variants(rest.strip(), emails)
    return found


def _phone_variants(value: str) -> list[_Phone]:
    digits = re.sub(r"\D", "", _EXTENSION.sub("", value)) or re.sub(r"\D", "", value)
    if len(digits) < _MIN_PHONE_DIGITS:
        return []
    return [_Phone(digits, "PHONE_NUMBER:" + digits)]


def _company_variants(value: str) -> list[_Sequence]:
    tokens = _WORD.findall(value)
    if not tokens or _stopwords_only(tokens):
        return []
    core = list(tokens)
    while len(core) > 1 and core[-1].casefold() in _LEGAL_SUFFIXES:
        core.pop()
    key = "ORGANIZATION:" + " ".join(_fold(core))
    found = [_Sequence(_fold(tokens), "ORGANIZATION", key)]
    if core != tokens and not _stopwords_only(core) and sum(len(t) for t in core) >= 3:
        found.append(_Sequence(_fold(core), "ORGANIZATION", key))
    return found


def _address_variants(value: str) -> list[_Sequence]:
    found: list[_Sequence] = []
    parts = [value] + [p.strip() for p in re.split(r"[,\n;]", value) if p.strip()]
    for part in dict.fromkeys(parts):
        tokens = _WORD.findall(part)
        if not tokens:
            continue
        key = "LOCATION:" + " ".join(_fold(tokens))
        if sum(len(t) for t in tokens) <= 2:  # state or country code: exact casing
            found.append(_Sequence(_fold(tokens), "LOCATION", key, exact_case=tuple(tokens)))
        elif not _stopwords_only(tokens) or any(t.isdigit() for t in tokens):
            found.append(_Sequence(tuple(_street_word(t) for t in tokens), "LOCATION", key))
    return found


def _street_word(token: str) -> _Word:
    folded = token.casefold()
    for group in _STREET_WORDS:
        if folded in group:
            return group
    return folded
