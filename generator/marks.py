"""The answer key and keep-token key, recorded while the text is written.

Text builders never return labels separately: every planted value passes
through ``Marks`` on its way into the string (``f"Hi {m.first(p)},"``), so a
value cannot be planted without being recorded, nor recorded in a form that
differs from what the text holds. Builders set the record with ``at`` and
the column with ``col`` before writing a column, and write only text that
is kept (a column decided to be null is never built).
"""

from __future__ import annotations

from random import Random

from generator.people import Person, Site

__all__ = ["Marks", "PII_COLUMNS", "KEEP_COLUMNS"]

PII_COLUMNS = ("case_id", "table", "record_id", "column", "entity_type", "value",
               "in_context", "record_live")
KEEP_COLUMNS = ("case_id", "table", "record_id", "column", "token", "kind", "record_live")


class Marks:
    """Collects answer-key rows (planted PII) and keep-token rows for one chunk."""

    __slots__ = ("r", "pii_rows", "keep_rows", "case_id", "table", "record_id", "col", "live")

    def __init__(self, r: Random) -> None:
        self.r = r
        self.pii_rows: list[tuple] = []
        self.keep_rows: list[tuple] = []
        self.case_id = ""
        self.table = ""
        self.record_id = ""
        self.col = ""
        self.live = True

    def at(self, table: str, record_id: str, live: bool) -> None:
        """Subsequent marks belong to this record (of the current case)."""
        self.table = table
        self.record_id = record_id
        self.live = live

    def take(self) -> tuple[list[tuple], list[tuple]]:
        """Hand over the rows collected so far and start empty."""
        rows = self.pii_rows, self.keep_rows
        self.pii_rows, self.keep_rows = [], []
        return rows

    # -- planted PII ---------------------------------------------------------
    def pii(self, entity_type: str, value: str, in_context: bool) -> str:
        self.pii_rows.append((self.case_id, self.table, self.record_id, self.col,
                              entity_type, value, in_context, self.live))
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
        self.keep_rows.append((self.case_id, self.table, self.record_id, self.col,
                               token, kind, self.live))
        return token
