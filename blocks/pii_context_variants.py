"""What a case's context values look like in text: their variants.

One function per context column turns a value into the forms it takes in
support text (``pii_context_matcher`` finds them):

* names: "John Smith", "Smith, John", "J. Smith", "Smith J.", "John S.",
  first and last name alone (parts of at least two letters that are not
  common support words, see ``NAME_PART_STOPWORDS``); titles are dropped;
* e-mail addresses (several per value are fine, "a@x.org; b@y.org"), plus
  the local part alone ("john.smith", a user name, so a PERSON) unless it is
  a role name ("support"), plus the display name of "John Smith <john@x.org>";
* phone numbers as their digits (extensions dropped; "a / b", "a; b" and
  "a or b" are several numbers);
* company names with and without their legal suffix ("Acme Corp", "Acme");
* address values and their comma-separated parts, street-type words in long
  or short form ("Main Street" / "Main St.").

Deliberate exceptions (not identifying, and removing them would wreck the
text): values made only of ``NON_NAME_WORDS`` ("HPE Support"), phone values with
fewer than five digits, and address values of one or two characters, which
are state or country codes and are matched in their given casing only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from blocks.pii_name_words import (
    COMMON_WORD_NAMES,
    NAME_PART_STOPWORDS,
    NON_NAME_WORDS,
    fold,
    names_in_addresses,
)

__all__ = [
    "COMMON_WORD_NAMES",  # re-exported from pii_name_words
    "NAME_PART_STOPWORDS",
    "NON_NAME_WORDS",
    "WORD",
    "ContextVariants",
    "PhoneValue",
    "WordSequence",
    "context_variants",
]

_TITLES = frozenset("mr mrs ms miss dr prof sir".split())
_PARTICLES = frozenset("de da di du la le van von der den del della dos das of the and".split())
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
    frozenset(fold(word) for word in group.split())
    for group in (
        "street st str strasse straße",
        "avenue ave av",
        "road rd",
        "boulevard blvd bd",
        "way wy",
        "rue r",
        "quai q",
        "allée allee all",
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

#: A word of text: a maximal run of letters and digits.
WORD = re.compile(r"[^\W_]+")
_EMAIL_IN_VALUE = re.compile(r"[^\s<>;,()\"'\[\]]+@[^\s<>;,()\"'\[\]]+")
_EXTENSION = re.compile(r"(?i)\s*(?:ext\.?|extension|x|#)\s*\d{1,6}\s*$")
_ADDRESS_LIST_SEPARATOR = re.compile(r"[;,]\s*")  # between the addresses an e-mail column lists
_PHONE_LIST_SEPARATOR = re.compile(r"[;,|]|\s/\s|\s+or\s+", re.IGNORECASE)
_MIN_PHONE_DIGITS = 5

#: A variant word: the case-folded word, or the set of its equivalents.
Word = str | frozenset[str]


@dataclass(frozen=True, slots=True)
class WordSequence:
    """A variant as a sequence of words (names, companies, addresses, local parts)."""

    words: tuple[Word, ...]
    entity: str
    key: str  # normalised source value: the same for all variants of one value
    exact_case: tuple[str, ...] | None = None  # original words, for state/country codes
    gaps: tuple[str, ...] | None = None  # exact separators (e-mail local parts)
    dot_after: bool = False  # "John S." needs the dot

    @property
    def weight(self) -> int:
        """Longer variants are tried first."""
        return sum(len(w) if isinstance(w, str) else 4 for w in self.words) + len(self.words)


@dataclass(frozen=True, slots=True)
class PhoneValue:
    """A phone number as its digits."""

    digits: str
    key: str


@dataclass
class ContextVariants:
    """All variants of one case's context values."""

    sequences: list[WordSequence] = field(default_factory=list)
    emails: dict[str, str] = field(default_factory=dict)  # lower-cased address -> key
    phones: list[PhoneValue] = field(default_factory=list)


def context_variants(context: Mapping[str, Sequence[str | None] | None]) -> ContextVariants:
    """Variants of the values in a case's context list columns (``schemas.context``).

    Each list is read as a set: compose gathers the values as they come
    (repeats, any order), and the variants are built from each distinct
    value in sorted order, so that the matcher, which tries variants of
    equal weight in the order given, finds the same thing however the
    lists were ordered. An e-mail value may list several addresses
    (``To: a@x.com; John Smith <j@y.com>``): each is one value.
    """
    found = ContextVariants()
    for column, values in context.items():
        if column == "context_emails":
            values = [part for v in values or () if v for part in _ADDRESS_LIST_SEPARATOR.split(v)]
        for value in sorted({v.strip() for v in values or () if v and v.strip()}):
            if column == "context_names":
                found.sequences += _name_variants(value, found.emails)
            elif column == "context_emails":
                found.sequences += _email_variants(value, found.emails)
            elif column == "context_phones":
                found.phones += _phone_variants(value)
            elif column == "context_companies":
                found.sequences += _company_variants(value)
            elif column == "context_addresses":
                found.sequences += _address_variants(value)
    return found


def _fold(tokens: Sequence[str]) -> tuple[str, ...]:
    return tuple(fold(t) for t in tokens)


def _stopwords_only(tokens: Sequence[str]) -> bool:
    return all(fold(t) in NON_NAME_WORDS or t.isdigit() for t in tokens)


def _name_variants(value: str, emails: dict[str, str]) -> list[WordSequence]:
    if "@" in value:
        return _email_variants(value, emails)
    if value.count(",") == 1:  # "Smith, John"
        last, first = value.split(",")
        tokens = WORD.findall(first) + WORD.findall(last)
    else:
        tokens = WORD.findall(value)
    tokens = [t for t in tokens if fold(t) not in _TITLES]
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
    found = [WordSequence(v, "PERSON", key) for v in dict.fromkeys(variants)]
    if len(words) > 1:  # John S.
        found.append(WordSequence((words[0], words[-1][0]), "PERSON", key, dot_after=True))
    return found


def _email_variants(value: str, emails: dict[str, str]) -> list[WordSequence]:
    found: list[WordSequence] = []
    for address in (a.strip(".") for a in _EMAIL_IN_VALUE.findall(value)):
        if "@" not in address:
            continue
        key = "EMAIL_ADDRESS:" + address.casefold()
        emails.setdefault(address.lower(), key)
        local = address.split("@", 1)[0]
        tokens = WORD.findall(local)
        if len(local) >= 4 and tokens and local.casefold() not in _ROLE_LOCAL_PARTS and not local.isdigit():
            gaps = tuple(g for g in re.split(r"[^\W_]+", local)[1:-1])
            if local.startswith(tokens[0]) and local.endswith(tokens[-1]):  # a user name: the person
                found.append(WordSequence(_fold(tokens), "PERSON", key, gaps=gaps))
        for name in names_in_addresses([address]):  # "amelie.dubois@..." -> "Amélie Dubois", "Dubois"...
            found += _name_variants(name, emails)
    rest = _EMAIL_IN_VALUE.sub(" ", value)
    if WORD.search(rest):  # "John Smith <john@x.com>": the display name too
        found += _name_variants(rest.strip(), emails)
    return found


def _phone_variants(value: str) -> list[PhoneValue]:
    found = []
    for number in _PHONE_LIST_SEPARATOR.split(value):  # "0301234 / 0171 55555"
        digits = re.sub(r"\D", "", _EXTENSION.sub("", number)) or re.sub(r"\D", "", number)
        if len(digits) >= _MIN_PHONE_DIGITS:
            found.append(PhoneValue(digits, "PHONE_NUMBER:" + digits))
    return found


def _company_variants(value: str) -> list[WordSequence]:
    tokens = WORD.findall(value)
    if not tokens or _stopwords_only(tokens):
        return []
    core = list(tokens)
    while len(core) > 1 and core[-1].casefold() in _LEGAL_SUFFIXES:
        core.pop()
    key = "ORGANIZATION:" + " ".join(_fold(core))
    variants = [_fold(tokens)]
    if core != tokens and any(t.casefold() not in NAME_PART_STOPWORDS for t in core) and sum(map(len, core)) >= 3:
        variants.append(_fold(core))
    if _distinctive(core[0]):
        variants.append((fold(core[0]),))
    # Short forms people write: the leading words ("Granite State" of "Granite
    # State Insurance"), first and last word ("Malabar Bank" of "Malabar
    # Cooperative Bank"), leading words plus initials of the rest ("Blue Ridge
    # CU", "Lakeview USD"), initials plus the rest ("CH Vauclair" of "Centre
    # Hospitalier de Vauclair"). A single leading word only when it is distinctive.
    for words in dict.fromkeys((_fold(core), tuple(w for w in _fold(core) if w not in _PARTICLES))):
        for k in range(2, len(words)):
            variants.append(words[:k])
            variants.append(("".join(w[0] for w in words[:k]), *words[k:]))
        for k in range(1, len(words) - 1):
            variants.append((*words[:k], "".join(w[0] for w in words[k:])))
        if len(words) >= 3:
            variants.append((words[0], words[-1]))
    return [WordSequence(v, "ORGANIZATION", key) for v in dict.fromkeys(variants)]


def _distinctive(word: str) -> bool:
    """A company's first word that can stand for it alone ("Contoso", not "Blue" or "Global")."""
    return len(word) >= 5 and not word.isdigit() and fold(word) not in NAME_PART_STOPWORDS


def _address_variants(value: str) -> list[WordSequence]:
    found: list[WordSequence] = []
    parts = [value] + [p.strip() for p in re.split(r"[,\n;]", value) if p.strip()]
    for part in dict.fromkeys(parts):
        tokens = WORD.findall(part)
        if not tokens:
            continue
        key = "LOCATION:" + " ".join(_fold(tokens))
        if sum(len(t) for t in tokens) <= 2:  # state or country code: exact casing
            found.append(WordSequence(_fold(tokens), "LOCATION", key, exact_case=tuple(tokens)))
        elif not _stopwords_only(tokens) or any(t.isdigit() for t in tokens):
            words = tuple(_street_word(t) for t in tokens)
            found.append(WordSequence(words, "LOCATION", key))
            found += [WordSequence(v, "LOCATION", key) for v in _street_abbreviations(tokens, words)]
    return found


def _street_abbreviations(tokens: Sequence[str], words: tuple[Word, ...]) -> list[tuple[Word, ...]]:
    """Street names as written in notes: "ORR" for "Outer Ring Road", "M.G. Rd" for "MG Road"."""
    variants: list[tuple[Word, ...]] = []
    letters = [i for i, t in enumerate(tokens) if t.isalpha()]
    if len(letters) >= 3 and all(tokens[i][0].isupper() for i in letters):
        acronym = "".join(fold(tokens[i][0]) for i in letters)
        variants.append(tuple(w for i, w in enumerate(words) if i not in letters) + (acronym,))
    spelled = [i for i, t in enumerate(tokens) if 2 <= len(t) <= 3 and t.isalpha() and t.isupper()]
    if spelled:
        variants.append(tuple(
            part for i, w in enumerate(words) for part in ((*fold(tokens[i]),) if i in spelled else (w,))
        ))
    return variants


def _street_word(token: str) -> Word:
    folded = fold(token)
    for group in _STREET_WORDS:
        if folded in group:
            return group
    if folded.endswith("strasse") and len(folded) > 7:  # "Friedrichstraße" is also written "Friedrichstr."
        stem = folded[:-7]
        return frozenset({stem + "strasse", stem + "str"})
    return folded
