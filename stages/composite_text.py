"""The composite text of a case, as DuckDB SQL built from the field table.

One definition serves two stages: compose measures the text (length,
truncation) on the source fields, and redact renders the final, embedded
text from the redacted fields. Both use the same expression, so the two can
never drift apart.

Format: one ``Label: value`` line per populated embedded field, in field
order; a child-table field gives one line per child row.
"""

from __future__ import annotations

from schemas.fields import EMBEDDED_FIELDS, FIELDS, FieldSpec

__all__ = ["composite_text_sql", "populated_sql", "html_to_text_macro"]

_NL = "chr(10)"


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _line(spec: FieldSpec, column: str) -> str:
    label = _sql_string(f"{spec.label}: ")
    if spec.is_list:
        kept = f"list_filter({column}, lambda x: nullif(trim(x), '') IS NOT NULL)"
        return (
            f"CASE WHEN len({kept}) > 0 THEN {label} || "
            f"array_to_string(list_transform({kept}, lambda x: trim(x)), {_NL} || {label}) END"
        )
    return f"CASE WHEN nullif(trim({column}), '') IS NOT NULL THEN {label} || trim({column}) END"


def composite_text_sql(prefix: str = "") -> str:
    """SQL expression of the full (untruncated) composite text.

    ``prefix`` qualifies the property columns (e.g. ``"r."``).
    """
    lines = [_line(spec, f"{prefix}{spec.property}") for spec in EMBEDDED_FIELDS]
    return f"concat_ws({_NL}, {', '.join(lines)})"


def _populated(spec: FieldSpec, column: str) -> str:
    if spec.is_list:
        return f"(coalesce(len(list_filter({column}, lambda x: nullif(trim(x), '') IS NOT NULL)), 0) > 0)::INTEGER"
    if spec.kind == "date":
        return f"({column} IS NOT NULL)::INTEGER"
    return f"(nullif(trim(CAST({column} AS VARCHAR)), '') IS NOT NULL)::INTEGER"


def populated_sql(which: str, prefix: str = "") -> str:
    """SQL counting populated fields: ``which`` is ``total``, ``issue`` or ``resolution``."""
    chosen = [
        f for f in FIELDS
        if which == "total" or (which == "issue" and f.issue) or (which == "resolution" and f.resolution)
    ]
    return "(" + " + ".join(_populated(f, f"{prefix}{f.property}") for f in chosen) + ")"


def html_to_text_macro() -> str:
    """``CREATE MACRO html_to_text(s)``: rich text to plain text, in SQL.

    Block-level closing tags and ``<br>`` become line breaks, list items get a
    dash, other tags are dropped and the common entities decoded (``&amp;``
    last, so ``&amp;lt;`` stays ``&lt;``).
    """
    s = "s"
    s = f"regexp_replace({s}, '(?i)<br\\s*/?>', {_NL}, 'g')"
    s = f"regexp_replace({s}, '(?i)<li[^>]*>', '- ', 'g')"
    s = f"regexp_replace({s}, '(?i)</(p|div|li|ul|ol|h[1-6]|tr|table)>', {_NL}, 'g')"
    s = f"regexp_replace({s}, '<[^>]*>', '', 'g')"
    for entity, char in (("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "''"), ("&amp;", "&")):
        s = f"replace({s}, '{entity}', '{char}')"
    s = f"regexp_replace({s}, '[ \\t]*\\n[ \\t\\n]*', {_NL}, 'g')"
    return f"CREATE OR REPLACE TEMP MACRO html_to_text(s) AS trim({s}, chr(32) || chr(10) || chr(9) || chr(13))"
