"""Table-specific rules: what each staging table is known to carry, as data.

Support text has habits per table: e-mail bodies end in signature blocks
("Best regards,\\nJohn Smith\\nAcme Corp") and quote the previous mail
("On Mon, 3 Nov 2025, John Smith <john@acme.com> wrote:"); work orders carry
site addresses ("Dispatch CE to 212 Technology Parkway, Boston", "Site: ...");
work-order feed posts name the field engineer ("CE: John") and @mention
people; comments log who was called ("Spoke with X", "per X"). Names of
people outside the case's context columns are found there by their
position, without an NER model.

A ``TableRule`` is configuration, not code: a regex, the staging tables whose
free-text fields it applies to (``schemas.fields`` maps each property to its
table) and, as named groups, what it removes. A group named after an entity
(``PERSON``, ``ORGANIZATION``, ``LOCATION``, ``EMAIL_ADDRESS``,
``PHONE_NUMBER``, optionally suffixed ``_2``...) is removed as that entity.
Patterns may use these macros (``pii_rule_patterns``), expanded before
compiling:

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
from blocks.pii_name_words import FUNCTION_WORDS, NOT_A_NAME, SUPPORT_WORDS, fold
from blocks.pii_rule_patterns import (
    CITY_TAIL,
    CLOSINGS,
    COMPANY_LABELS,
    DISPATCH,
    ENGINEERS,
    GREETINGS,
    HONORIFICS,
    LEGAL_SUFFIXES,
    NOT_A_NAME_OR_PARTICLE,
    PARTNERS,
    ROLES,
    SITE_LABELS,
    STREET_TYPE_WORDS,
    TRIGGERS,
    TW,
    UW,
    expand,
)
from blocks.pii_spans import Finding, Span
from schemas.fields import FIELDS

__all__ = [
    "DEFAULT_TABLE_RULES",
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

#: The default rule table. Each rule has a test that fails without it.
DEFAULT_TABLE_RULES: tuple[TableRule, ...] = (
    TableRule(
        name="email_greeting",
        tables=("emailmessage", "case"),
        pattern=rf"(?m)^[ \t]*{GREETINGS}[ \t]+(?:{HONORIFICS}[ \t]+)?(?P<PERSON>{{NAME}})[ \t]*(?:[,!:]|$)",
        description="The name in a salutation line: 'Hi Priya,', 'Dear Mr. Okafor,'.",
    ),
    TableRule(
        name="email_signature",
        tables=("emailmessage", "case", "casecomment"),
        pattern=rf"(?m)^[ \t]*{CLOSINGS}[ \t]*[,.!-]*[ \t]*\n"
        r"[ \t]*(?P<PERSON>{NAME})[ \t]*(?:\n[ \t]*(?P<ORGANIZATION>{ORG})[ \t]*)?$",
        description="Name (and company) lines under a closing: 'Best regards,\\nName\\nCompany'.",
    ),
    TableRule(
        name="quoted_reply_header",
        tables=("emailmessage",),
        pattern=r"(?=[Oo])(?i:\bon)[ \t][^\n<>]{1,80}?,[ \t]*(?P<PERSON>{NAME})[ \t]*"
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
        pattern=rf"{ENGINEERS}[ \t]*[:\-]?[ \t]+(?P<PERSON>{{NAME}})",
        description="The field engineer named in work orders and their feed: 'CE: John', 'CE Ana Ruiz replaced'.",
    ),
    TableRule(
        name="feed_mention",
        tables=("workorderfeed", "casecomment"),
        pattern=r"@(?<![\w.@]@)(?P<PERSON>{TNAME}|[A-Za-z][\w.\-]{1,40}[A-Za-z0-9])",
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
        pattern=rf"{TRIGGERS}[ \t]*:?[ \t]+(?P<PERSON>{{NAME}})(?:[ \t]+(?i:from|of|at)[ \t]+(?P<ORGANIZATION>{{ORG}}))?",
        description="Who was spoken to: 'Spoke with X', 'called X', 'per X', 'ask for X from Org'.",
    ),
    TableRule(
        name="role_mention",
        tables=_ALL,
        pattern=rf"{ROLES}(?:[ \t]+(?i:contact|name))?[ \t]+(?P<PERSON>{{TNAME}})",
        description="A capitalised name after a role: 'Customer Natalie Johnson reports', 'colleague Ana Ruiz'.",
    ),
    TableRule(
        name="honorific",
        tables=_ALL,
        pattern=rf"{HONORIFICS}[ \t]+(?P<PERSON>{{TNAME}})",
        description="A name after a title: 'Ms. Fischer asked for a status update'.",
    ),
    TableRule(
        name="dispatch_address",
        tables=("workorder", "emailmessage", "case", "task", "casecomment"),
        pattern=rf"{DISPATCH}[ \t]+(?P<LOCATION>\d{{1,5}}[A-Za-z]?,?[ \t]+(?:{TW}|{UW})(?:[ \t]+(?:{TW}|{UW})){{0,3}}"
        rf"(?:[ \t]*,[ \t]*{CITY_TAIL})?)",
        description="A numbered address where something is sent or located: 'send the engineer to 149 Kingsway, Leeds'.",
    ),
    TableRule(
        name="site_label",
        tables=("case", "workorder", "emailmessage"),
        pattern=rf"(?m)^[ \t]*{SITE_LABELS}[ \t]*:[ \t]*(?P<LOCATION>[^\n:]{{3,120}}?)[ \t]*$",
        description="The line after a site or address label: 'Site: 149 Kingsway, Manchester M1 7YZ'.",
    ),
    TableRule(
        name="customer_company_label",
        tables=("case", "workorder"),
        pattern=rf"(?m)^[ \t]*{COMPANY_LABELS}[ \t]*:[ \t]*(?P<ORGANIZATION>{{ORG}})[ \t]*$",
        description="The customer organisation in environment notes: 'Customer: Contoso Health Systems'.",
    ),
    TableRule(
        name="partner_organisation",
        tables=("workorder", "workorderfeed"),
        pattern=rf"{PARTNERS}[ \t]+(?P<ORGANIZATION>{{ORG}})",
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
        if any(w.casefold() in SUPPORT_WORDS and w.casefold() not in STREET_TYPE_WORDS for _, _, w in words):
            return None
        return start, end
    if entity == "PERSON" and words and all(w.islower() for _, _, w in words):
        if any(fold(w) in NOT_A_NAME for _, _, w in words):
            return None
    keep = _kept(words, entity)
    if not keep:
        return None
    first, last = keep[0], keep[-1]
    lo, hi = words[first][0], words[last][1]
    if hi < end and text[hi] == "." and (len(words[last][2]) == 1 or words[last][2].casefold() in LEGAL_SUFFIXES):
        hi += 1  # an initial or "Corp.": take the dot along
    if entity == "PERSON" and all(len(words[i][2]) == 1 for i in range(first, last + 1)):
        return None
    return lo, hi


def _kept(words: list[tuple[int, int, str]], entity: str) -> list[int]:
    """Indexes of the words between the first and last name-like word."""
    if entity == "ORGANIZATION":  # "Contoso Health Systems": inner support words belong to the name
        if all(w.casefold() in NOT_A_NAME or w.casefold() in LEGAL_SUFFIXES for _, _, w in words):
            return []
        inner = [
            i for i, (_, _, w) in enumerate(words)
            if w.casefold() not in FUNCTION_WORDS or (i and w.casefold() in LEGAL_SUFFIXES)
        ]
    else:
        inner = [i for i, (_, _, w) in enumerate(words) if w.casefold() not in NOT_A_NAME_OR_PARTICLE]
    if not inner:
        return []
    return list(range(inner[0], inner[-1] + 1))
