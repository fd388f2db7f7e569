"""The answer key and keep-token key, recorded while the text is written.

Text builders never return labels separately: every planted value passes
through ``Marks`` on its way into the string (``f"Hi {m.first(p)},"``), so a
value cannot be planted without being recorded, nor recorded in a form that
differs from what the text holds. Builders set the record with ``at`` and
the column with ``col`` before writing a column, and write only text that
is kept (a column decided to be null is never built).

Meaning of the key columns:

- ``case_id``: the case the row was generated for. For an orphan that is
  the case it was cut off from, not the phantom parent id it points at.
- ``in_context``: the case's *live* PII context columns hold this value in
  some variant (case Supplied*/Contact* columns; ContactName, ContactPhone and
  the address of its live work orders; From/To/Cc of its live e-mails).
- ``record_live``: the row reaches a live case through the contract's joins
  (not deleted, not orphaned, parent case and work order not deleted).
- ``column``: ``HtmlBody`` only for mails whose ``TextBody`` is empty; where
  both are filled the HTML copy of the text is not labelled again.
"""

from __future__ import annotations

from random import Random

from generator.people import Person, Site

__all__ = ["Marks", "PII_COLUMNS", "KEEP_COLUMNS", "RECORD_COLUMNS"]

PII_COLUMNS = ("case_id", "table", "record_id", "column", "entity_type", "value",
               "in_context", "record_live")
KEEP_COLUMNS = ("case_id", "table", "record_id", "column", "token", "kind", "record_live")
#: Columns stored once per record; mark rows point at their record by index.
RECORD_COLUMNS = ("case_id", "table", "record_id", "record_live")


class Marks:
    """Collects answer-key rows (planted PII) and keep-token rows for one chunk.

    Rows are ``(record index, column, ...)``; the record's case id, table, id
    and liveness are stored once in ``records`` and joined back when the
    rows become Arrow (``writer.key_table``), not repeated per value.
    """

    __slots__ = ("r", "records", "pii_rows", "keep_rows", "case_id", "rec", "col")

    def __init__(self, r: Random) -> None:
        self.r = r
        self.records: list[tuple[str, str, str, bool]] = []
        self.pii_rows: list[tuple] = []
        self.keep_rows: list[tuple] = []
        self.case_id = ""
        self.rec = -1
        self.col = ""

    def at(self, table: str, record_id: str, live: bool) -> None:
        """Subsequent marks belong to this record (of the current case)."""
        self.rec = len(self.records)
        self.records.append((self.case_id, table, record_id, live))

    def take(self) -> tuple[list[tuple], list[tuple], list[tuple]]:
        """Hand over (records, pii rows, keep rows) collected so far and start empty."""
        out = self.records, self.pii_rows, self.keep_rows
        self.records, self.pii_rows, self.keep_rows = [], [], []
        self.rec = -1
        return out

    # -- planted PII ---------------------------------------------------------
    def pii(self, entity_type: str, value: str, in_context: bool) -> str:
        self.pii_rows.append((self.rec, self.col, entity_type, value, in_context))
        return value

    def name(self, p: Person) -> str:
        return self.pii("PERSON", p.name_variant(self.r), p.name_ctx)

    def full(self, p: Person) -> str:
        return self.pii("PERSON", p.full, p.name_ctx)

    def first(self, p: Person) -> str:
        return self.pii("PERSON", p.first, p.name_ctx)

    def last(self, p: Person) -> str:
        return self.pii("PERSON", p.last, p.name_ctx)

    def phone(self, p: Person) -> str:
        return self.pii("PHONE_NUMBER", p.phone_variant(self.r), p.phone_ctx)

    def email(self, p: Person) -> str:
        return self.pii("EMAIL_ADDRESS", p.email_variant(self.r), p.email_ctx)

    def street(self, s: Site) -> str:
        return self.pii("LOCATION", s.street_variant(self.r), s.ctx)

    def city(self, s: Site) -> str:
        return self.pii("LOCATION", s.city, s.ctx)

    def postal(self, s: Site) -> str:
        return self.pii("LOCATION", s.postal, s.ctx)

    def company(self, legal: str, short: str, in_context: bool) -> str:
        k = self.r.random()
        value = legal if k < 0.45 else short if k < 0.9 else legal.upper()
        return self.pii("ORGANIZATION", value, in_context)

    # -- tokens that must survive --------------------------------------------
    def keep(self, kind: str, token: str) -> str:
        self.keep_rows.append((self.rec, self.col, token, kind))
        return token
