"""PII context: which staging columns feed which list of per-case values.

The compose stage gathers, per case, the values of the "PII context" columns
of the case and its child rows into these list columns. The PII stage removes
those exact values (and their variants) from the case's free text, then drops
the columns: nothing after the PII stage carries them.
"""

from __future__ import annotations

__all__ = ["CONTEXT_SOURCES", "CONTEXT_COLUMNS"]

#: context list column -> (table, column) pairs feeding it.
CONTEXT_SOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    "context_names": (
        ("case", "SuppliedName"),
        ("case", "ContactName"),
        ("workorder", "ContactName"),
        ("emailmessage", "FromName"),
    ),
    "context_emails": (
        ("case", "SuppliedEmail"),
        ("case", "ContactEmail"),
        ("emailmessage", "FromAddress"),
        ("emailmessage", "ToAddress"),
        ("emailmessage", "CcAddress"),
    ),
    "context_phones": (
        ("case", "SuppliedPhone"),
        ("case", "ContactPhone"),
        ("workorder", "ContactPhone"),
    ),
    "context_companies": (("case", "SuppliedCompany"),),
    "context_addresses": (
        ("workorder", "Street"),
        ("workorder", "City"),
        ("workorder", "State"),
        ("workorder", "PostalCode"),
        ("workorder", "Country"),
    ),
}

CONTEXT_COLUMNS: tuple[str, ...] = tuple(CONTEXT_SOURCES)
