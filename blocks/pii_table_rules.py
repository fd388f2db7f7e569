"""Table-specific rules: what each staging table is known to carry, as data.

Support text has habits per table: e-mail bodies end in signature blocks
("Best regards,\\nJohn Smith\\nAcme Corp") and quote the previous mail
("On Mon, 3 Nov 2025, John Smith <john@acme.com> wrote:"); work orders carry
site addresses; work-order feed posts name the field engineer ("CE: John")
and @mention people; comments log who was called ("Spoke with X", "per X").
Names of people outside the case's context columns are found there by their
position, without an NER model.

A ``TableRule`` is configuration, not code: a regex, the staging tables whose
free-text fields it applies to (``schemas.fields`` maps each property to its
table) and, as named groups, what it removes. A group named after an entity
(``PERSON``, ``ORGANIZATION``, ``LOCATION``, ``EMAIL_ADDRESS``,
``PHONE_NUMBER``, optionally suffixed ``_2``...) is removed as that entity.
Patterns may use these macros, expanded before compiling:

* ``{NAME}``: a person's name as written ("John Smith", "Smith, John",
  "J. Smith", "JOHN SMITH", "john smith"); ``{TNAME}``: the same without the
  all-lower-case form (for triggers that are also ordinary words);
* ``{ORG}``: an organisation ("Contoso Health Systems", "Acme Corp.");
* ``{ADDRESS}``: a street address with optional city, postal code, country
  ("1200 Main St., Houston, TX 77070", "Hauptstraße 12, 10115 Berlin",
  "12 rue de la République, Paris").

Names and organisations found by shape are trimmed of non-name words at
both ends ("CE: Jessica Issue: ..." removes "Jessica"; see
``pii_name_words``); a candidate left empty is no finding. Rule findings
are removed like context values: the keep-list does not veto them (a postal
code or house number looks like a protected number).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from blocks.pii_context_variants import WORD
from blocks.pii_name_words import FUNCTION_WORDS, NOT_A_NAME, SUPPORT_WORDS
from blocks.pii_spans import Finding, Span
from schemas.fields import FIELDS

__all__ = [
    "DEFAULT_TABLE_RULES",
    "MACROS",
    "RULE_ENTITIES",
    "TEXT_TABLES",
    "TableRule",
    "TableRules",
]

#: Entities a rule group may name.
RULE_ENTITIES: tuple[str, ...] = ("PERSON", "ORGANIZATION", "LOCATION", "EMAIL_ADDRESS", "PHONE_NUMBER")

#: Staging tables with free-text fields, in field order.
TEXT_TABLES: tuple[str, ...] = tuple(dict.fromkeys(f.table for f in FIELDS if f.free_text))

_GROUP = re.compile(rf"^({'|'.join(RULE_ENTITIES)})(?:_\d+)?$")

# --- macros ---------------------------------------------------------------------------

_U = "A-ZÀ-ÖØ-Þ"
_L = "a-zß-öø-ÿ"
_TW = rf"(?:[{_U}][{_L}]+(?:[{_U}][{_L}]+)?|[{_U}]['’][{_U}][{_L}]+)(?:[-'’][{_U}]?[{_L}]+)*"
_UW = rf"[{_U}]{{2,}}(?:[-'’][{_U}]+)*"
_LW = rf"[{_L}]{{2,}}(?:[-'’][{_L}]+)*"
_INIT = rf"[{_U}]\."
_TNAME = (
    rf"(?:{_TW},[ \t]?{_TW}(?:[ \t]{_INIT})?"
    rf"|{_INIT}(?:[ \t]?{_INIT})?[ \t]?{_TW}(?:[ \t]{_TW})?"
    rf"|{_TW}(?:[ \t](?:{_INIT}[ \t])?{_TW}){{0,2}}(?:[ \t]{_INIT})?"
    rf"|{_UW},[ \t]?{_UW}"
    rf"|{_UW}(?:[ \t]{_UW}){{1,2}})(?![\w@])"
)
_NAME = rf"(?:{_TNAME}|{_LW}[ \t]{_LW}(?![\w@]))"
_ORG_WORD = rf"[{_U}][{_U}{_L}'’&.-]*[{_U}{_L}]\.?"
_ORG = (
    rf"(?:{_ORG_WORD}(?:[ \t]+(?:(?:&|and|of|de|du|des|la|le|the|für|und|et)[ \t]+)?{_ORG_WORD}){{0,5}}"
    rf"(?:,?[ \t]+(?i:plc|llc|inc|ltd|gmbh|sa|sas|ag|bv|nv|co|corp|pvt)\.?)?)(?![\w@])"
)
_STREET_TYPES = (
    "street|st|avenue|ave|road|rd|drive|dr|lane|ln|way|wy|boulevard|blvd|parkway|pkwy|court|ct|"
    "place|pl|square|sq|highway|hwy|terrace|crescent|close|circle|cir|trail|plaza|row|walk|marg|salai"
)
_US_STREET = (
    rf"\d{{1,5}}[A-Za-z]?(?:[ \t]*,)?[ \t]+(?:(?:{_TW}|{_UW}|(?:[{_U}]\.){{1,3}}|\d{{1,3}}(?:st|nd|rd|th))[ \t]+){{1,3}}"
    rf"(?i:{_STREET_TYPES})\b\.?"
)
_DE_STREET = (
    rf"(?:{_TW}(?:stra(?:ß|ss)e|str\.|weg|allee|platz|gasse|damm|ring|ufer)"
    rf"|(?:Am|An der|Im|Auf der|Zum|Zur)[ \t]+{_TW})[ \t]+\d{{1,4}}[a-z]?\b"
)
_FR_STREET = (
    rf"\d{{1,4}}(?:[ \t]?(?:bis|ter))?,?[ \t]+"
    rf"(?i:rue|r\.|avenue|av\.|boulevard|bd|quai|q\.|place|pl\.|allée|chemin|impasse|route|cours)[ \t]+"
    rf"(?:(?:de|du|des|la|le|l['’]|d['’])[ \t]*)*{_TW}(?:[ \t-]+(?:{_TW}|de|la|du)){{0,3}}"
)
_CITY = rf"(?:{_TW}|{_UW})(?:[ \t-]+(?:am|an|der|de|la|le|sur|upon|on|{_TW})){{0,3}}"
_POSTAL = r"(?:\d{5}(?:-\d{4})?|\d{6}|\d{3}[ \t]\d{3}|[A-Z]{1,2}\d[A-Z\d]?(?:[ \t]?\d[A-Z]{2})?)"
_ADDRESS = (
    rf"(?:{_US_STREET}|{_DE_STREET}|{_FR_STREET})"
    rf"(?:[ \t]*,[ \t]*(?:{_POSTAL}[ \t]+)?{_CITY}(?:[ \t]*,?[ \t]+(?:[A-Z]{{2}}[ \t]+)?{_POSTAL}\b)?"
    rf"(?:[ \t]*,[ \t]*{_CITY})?)?"
)

#: Macro -> regex, expanded in rule patterns.
MACROS: dict[str, str] = {"{NAME}": _NAME, "{TNAME}": _TNAME, "{ORG}": _ORG, "{ADDRESS}": _ADDRESS}

_STREET_TYPE_WORDS = frozenset(_STREET_TYPES.split("|"))
_LEGAL = frozenset("plc llc inc ltd gmbh sa sas ag bv nv co corp pvt".split())
_NAME_PARTICLES = frozenset("de da di du la le van von der den del della dos das am an sur upon on".split())
_NOT_A_NAME_OR_PARTICLE = NOT_A_NAME | _NAME_PARTICLES


def expand(pattern: str) -> str:
    """``pattern`` with its macros replaced by their regexes."""
    for macro, regex in MACROS.items():
        pattern = pattern.replace(macro, regex)
    return pattern


class TableRule(BaseModel):
    """One rule: where it applies, what it matches, and (as named groups) what it removes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Short identifier, e.g. 'email_signature'.")
    tables: tuple[str, ...] = Field(
        min_length=1,
        description=f"Staging tables whose free-text fields the rule reads: some of {list(TEXT_TABLES)}.",
    )
    pattern: str = Field(
        description="Regex with macros {NAME}, {TNAME}, {ORG}, {ADDRESS}; groups named PERSON, LOCATION... are removed.",
    )
    description: str = Field(default="", description="What the rule is for, with an example.")

    @field_validator("tables")
    @classmethod
    def _tables_known(cls, tables: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [t for t in tables if t not in TEXT_TABLES]
        if unknown:
            raise ValueError(f"tables: unknown {unknown}; expected some of {list(TEXT_TABLES)}")
        return tables

    @model_validator(mode="after")
    def _pattern_compiles(self) -> TableRule:
        try:
            compiled = re.compile(expand(self.pattern))
        except re.error as exc:
            raise ValueError(f"table rule {self.name!r}: pattern does not compile ({exc})") from None
        if not any(_GROUP.match(g) for g in compiled.groupindex):
            raise ValueError(
                f"table rule {self.name!r}: pattern has no group named after an entity; "
                f"expected a named group among {list(RULE_ENTITIES)} (optionally suffixed _2, _3...)"
            )
        return self

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        """The expanded, compiled pattern."""
        return re.compile(expand(self.pattern))


_ALL = TEXT_TABLES
_TRIGGERS = (
    r"\b(?:spoke|spoken|speaking|talked|talking|chatted|met|meeting|call|calls|called|calling|phoned|rang"
    r"|emailed|e-mailed|mailed|contacted|messaged|texted|pinged|reached|discussed)"
    r"(?:[ \t]+(?:back|again|briefly))?(?:[ \t]+(?:with|to|from|for))?"
    r"|\bvoice[ \t]?mail[ \t]+(?:for|to|from)|\b(?:as[ \t]+)?per|\bask(?:ed|ing)?[ \t]+for"
    r"|\bon[ \t]+behalf[ \t]+of|\b(?:confirmed|approved|requested|reported|raised|opened|signed)[ \t]+by"
    r"|\bconfirmed[ \t]+with|\b(?:escalated|assigned|handed[ \t]+over|transferred)[ \t]+to"
    r"|\bwaiting[ \t]+(?:for|on)|\bfollow(?:ed|ing)?[ -]?up[ \t]+with|\battn\.?:?|\battention:?"
)

#: The default rule table. Each rule has a test that fails without it.
DEFAULT_TABLE_RULES: tuple[TableRule, ...] = (
    TableRule(
        name="email_greeting",
        tables=("emailmessage", "case"),
        pattern=r"(?m)^[ \t]*(?i:hi|hello|hey|dear|hallo|bonjour|good[ \t]+(?:morning|afternoon|evening))"
        r"[ \t]+(?:(?:Mr|Mrs|Ms|Miss|Dr|Herr|Frau|Mme)\.?[ \t]+)?(?P<PERSON>{NAME})[ \t]*(?:[,!:]|$)",
        description="The name in a salutation line: 'Hi Priya,', 'Dear Mr. Okafor,'.",
    ),
    TableRule(
        name="email_signature",
        tables=("emailmessage", "case", "casecomment"),
        pattern=r"(?m)^[ \t]*(?i:(?:(?:best|kind|warm|warmest|many|with|all[ \t]+the[ \t]+best)[ \t]+)?"
        r"(?:regards|wishes|thanks|thank[ \t]+you|cheers|sincerely|br|rgds|mfg|cordialement|merci|grüße"
        r"|viele[ \t]+grüße|mit[ \t]+freundlichen[ \t]+grüßen))[ \t]*[,.!-]*[ \t]*\n"
        r"[ \t]*(?P<PERSON>{NAME})[ \t]*(?:\n[ \t]*(?P<ORGANIZATION>{ORG})[ \t]*)?$",
        description="Name (and company) lines under a closing: 'Best regards,\\nName\\nCompany'.",
    ),
    TableRule(
        name="quoted_reply_header",
        tables=("emailmessage",),
        pattern=r"(?i:\bon)[ \t][^\n<>]{1,80}?,[ \t]*(?P<PERSON>{NAME})[ \t]*"
        r"(?:<(?P<EMAIL_ADDRESS>[^<>\s@]+@[^<>\s]+)>|\[mailto:(?P<EMAIL_ADDRESS_2>[^\]\s]+)\])?"
        r"[ \t]*\n?[ \t]*(?i:wrote|schrieb|a[ \t]écrit)[ \t]*:",
        description="The author of a quoted mail: 'On Mon, 3 Nov 2025, X <x@y> wrote:'.",
    ),
    TableRule(
        name="quoted_header_from",
        tables=("emailmessage",),
        pattern=r"(?m)^[ \t>]*(?i:from|von|de)[ \t]*:[ \t]*(?P<PERSON>{NAME})",
        description="The sender line of a quoted Outlook header: 'From: X Sent: ... To: ...'.",
    ),
    TableRule(
        name="quoted_header_recipients",
        tables=("emailmessage",),
        pattern=r"(?m)^[ \t>]*(?i:to|cc|an|à|para)[ \t]*:[ \t]*(?P<PERSON>{NAME}(?:[ \t]*<[^<>\n]*>)?"
        r"(?:[ \t]*[;,][ \t]*{NAME}(?:[ \t]*<[^<>\n]*>)?)*)",
        description="Recipient lines of a quoted header: 'To: X; Y <y@z>', 'Cc: ...'.",
    ),
    TableRule(
        name="field_engineer",
        tables=("workorder", "workorderfeed"),
        pattern=r"(?i:\b(?:ce|fe|field[ \t]+engineer|engineer|technician|tech))[ \t]*[:\-]?[ \t]+(?P<PERSON>{NAME})",
        description="The field engineer named in work orders and their feed: 'CE: John', 'CE Ana Ruiz replaced'.",
    ),
    TableRule(
        name="feed_mention",
        tables=("workorderfeed", "casecomment"),
        pattern=r"(?<![\w.@])@(?P<PERSON>{TNAME}|[A-Za-z][\w.\-]{1,40}[A-Za-z0-9])",
        description="Chatter @mentions: '@John Smith', '@jsmith'.",
    ),
    TableRule(
        name="street_address",
        tables=("workorder", "case", "emailmessage", "casecomment", "task", "workorderfeed"),
        pattern=r"(?P<LOCATION>{ADDRESS})",
        description="Site addresses: '212 Technology Parkway, Boston 02147', 'Hauptstraße 12, 10115 Berlin'.",
    ),
    TableRule(
        name="comment_mention",
        tables=("casecomment", "task", "case", "workorder", "workorderfeed", "emailmessage"),
        pattern=rf"(?i:{_TRIGGERS})[ \t]+(?P<PERSON>{{NAME}})(?:[ \t]+(?i:from|of|at)[ \t]+(?P<ORGANIZATION>{{ORG}}))?",
        description="Who was spoken to: 'Spoke with X', 'called X', 'per X', 'ask for X from Org'.",
    ),
    TableRule(
        name="role_mention",
        tables=_ALL,
        pattern=r"(?i:\b(?:customer|client|caller|requester|contact|user|colleague|manager|admin|administrator"
        r"|end[ \t]user))(?:[ \t]+(?i:contact|name))?[ \t]*[:\-]?[ \t]+(?P<PERSON>{TNAME})",
        description="A capitalised name after a role: 'Customer Natalie Johnson reports', 'Site contact: X'.",
    ),
    TableRule(
        name="honorific",
        tables=_ALL,
        pattern=r"(?<![\w.])(?:Mr|Mrs|Ms|Miss|Mx|Dr|Herr|Frau|Mme|Mlle)\.?[ \t]+(?P<PERSON>{TNAME})",
        description="A name after a title: 'Ms. Fischer asked for a status update'.",
    ),
    TableRule(
        name="customer_company_label",
        tables=("case", "workorder"),
        pattern=r"(?m)^[ \t]*(?i:customer|company|account|organi[sz]ation|end[ \t]customer)[ \t]*:[ \t]*"
        r"(?P<ORGANIZATION>{ORG})[ \t]*$",
        description="The customer organisation in environment notes: 'Customer: Contoso Health Systems'.",
    ),
    TableRule(
        name="partner_organisation",
        tables=("workorder", "workorderfeed"),
        pattern=r"(?i:\b(?:partner|reseller|vendor|distributor|subcontractor|contractor))[ \t]+(?P<ORGANIZATION>{ORG})",
        description="The service partner in field notes: 'Partner Insight Direct assigned CE ...'.",
    ),
)


class TableRules:
    """Compiled rules, by table; finds rule findings in a case's joined text."""

    def __init__(self, rules: Sequence[TableRule] = DEFAULT_TABLE_RULES) -> None:
        by_table: dict[str, list[tuple[str, re.Pattern[str], tuple[tuple[str, str], ...]]]] = {}
        for rule in rules:
            pattern = rule.compiled
            groups = tuple((g, _GROUP.match(g).group(1)) for g in pattern.groupindex if _GROUP.match(g))
            for table in rule.tables:
                by_table.setdefault(table, []).append((rule.name, pattern, groups))
        self._by_table = by_table

    def find(self, text: str, bounds: Sequence[Span], tables: Sequence[str]) -> list[Finding]:
        """Findings of the rules of each segment's table, within that segment."""
        found: list[Finding] = []
        for (start, end), table in zip(bounds, tables):
            for name, pattern, groups in self._by_table.get(table, ()):
                for match in pattern.finditer(text, start, end):
                    for group, entity in groups:
                        lo, hi = match.span(group)
                        if lo >= hi:
                            continue
                        span = _trim(text, lo, hi, entity)
                        if span is not None:
                            value = text[span[0] : span[1]]
                            found.append(Finding(span[0], span[1], entity, _key(entity, value), rule=name))
        return found


def _key(entity: str, value: str) -> str:
    if entity == "PHONE_NUMBER":
        return f"{entity}:{''.join(ch for ch in value if ch.isdigit())[-10:]}"
    return f"{entity}:{' '.join(w.casefold() for w in WORD.findall(value))}"


def _trim(text: str, start: int, end: int, entity: str) -> Span | None:
    """The span with non-name words cut from both ends, or None when nothing is left."""
    if entity in ("EMAIL_ADDRESS", "PHONE_NUMBER"):
        return start, end
    words = [(m.start(), m.end(), m.group()) for m in WORD.finditer(text, start, end)]
    if entity == "LOCATION":
        if any(w.casefold() in SUPPORT_WORDS and w.casefold() not in _STREET_TYPE_WORDS for _, _, w in words):
            return None
        return start, end
    if entity == "PERSON" and words and all(w.islower() for _, _, w in words):
        if any(w in NOT_A_NAME for _, _, w in words):
            return None
    keep = _kept(words, entity)
    if not keep:
        return None
    first, last = keep[0], keep[-1]
    lo, hi = words[first][0], words[last][1]
    if hi < end and text[hi] == "." and (len(words[last][2]) == 1 or words[last][2].casefold() in _LEGAL):
        hi += 1  # an initial or "Corp.": take the dot along
    if entity == "PERSON" and all(len(words[i][2]) == 1 for i in range(first, last + 1)):
        return None
    return lo, hi


def _kept(words: list[tuple[int, int, str]], entity: str) -> list[int]:
    """Indexes of the words between the first and last name-like word."""

    if entity == "ORGANIZATION":  # "Contoso Health Systems": inner support words belong to the name
        if all(w.casefold() in NOT_A_NAME or w.casefold() in _LEGAL for _, _, w in words):
            return []
        inner = [i for i, (_, _, w) in enumerate(words) if w.casefold() not in FUNCTION_WORDS]
    else:
        inner = [i for i, (_, _, w) in enumerate(words) if w.casefold() not in _NOT_A_NAME_OR_PARTICLE]
    if not inner:
        return []
    return list(range(inner[0], inner[-1] + 1))
