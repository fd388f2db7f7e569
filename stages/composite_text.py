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

__all__ = ["composite_text_sql", "populated_sql", "field_measures_sql", "item_measures_sql", "item_measure_columns",
           "measured_length_sql", "measured_populated_sql", "MEASURE_COLUMNS", "html_to_text_macro"]

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


def _kept(item: str) -> str:
    """An item or value shows in the text when it is not blank after trimming."""
    return f"length(trim({item})) > 0"


def _scalar_measures(spec: FieldSpec, column: str) -> list[str]:
    """``_n_<property>`` (1 if it renders or is populated) and, if embedded, ``_l_<property>``."""
    label_len = len(f"{spec.label}: ")
    if not spec.embedded:
        return [f"{_populated(spec, column)} AS _n_{spec.property}"]
    return [
        f"coalesce(({_kept(column)})::INTEGER, 0) AS _n_{spec.property}",
        f"CASE WHEN {_kept(column)} THEN length(trim({column})) + {label_len} ELSE 0 END AS _l_{spec.property}",
    ]


def _item_measures(spec: FieldSpec, item: str) -> list[str]:
    """Aggregates over a case's child rows: ``_n_<property>`` (lines it renders), ``_l_<property>`` (their length)."""
    label_len = len(f"{spec.label}: ")
    out = [f"count(*) FILTER (WHERE {_kept(item)}) AS _n_{spec.property}"]
    if spec.embedded:
        out.append(
            f"coalesce(sum(CASE WHEN {_kept(item)} THEN length(trim({item})) + {label_len} ELSE 0 END), 0) "
            f"AS _l_{spec.property}"
        )
    return out


def field_measures_sql(prefix: str = "") -> str:
    """Per-field measures of the case's own (scalar) fields, shared by the length and the counters.

    Building the composite text only to take its length was a third of the
    compose stage; the measures give the same number by arithmetic. The
    measures of the child-table (list) fields come from ``item_measures_sql``.
    """
    scalars = (spec for spec in FIELDS if not spec.is_list)
    return ", ".join(m for spec in scalars for m in _scalar_measures(spec, f"{prefix}{spec.property}"))


def item_measures_sql(table: str) -> list[str]:
    """Aggregates giving the measures of ``table``'s list fields, one row per child row.

    In the ``GROUP BY`` case of the rows, with each row's value of a field in
    a column named after the field's property. Plain aggregates spare the
    lambdas over every list of every case that measured the lists before
    (a tenth of compose's CPU time at 100k cases), and they give the same
    numbers: every item renders as ``label + trimmed value``.
    """
    return [m for spec in FIELDS if spec.is_list and spec.table == table for m in _item_measures(spec, spec.property)]


def item_measure_columns(table: str) -> tuple[str, ...]:
    """The columns ``item_measures_sql(table)`` yields (0 for a case without such rows)."""
    return tuple(name for spec in FIELDS if spec.is_list and spec.table == table
                 for name in (f"_n_{spec.property}", f"_l_{spec.property}") if name.startswith("_n_") or spec.embedded)


#: the helper columns of ``field_measures_sql`` and ``item_measures_sql`` (to exclude from the output)
MEASURE_COLUMNS: tuple[str, ...] = tuple(
    name for spec in FIELDS for name in (f"_n_{spec.property}", f"_l_{spec.property}")
    if name.startswith("_n_") or spec.embedded
)


def measured_length_sql() -> str:
    """``length(composite_text_sql())`` from the measures.

    Every rendered item is ``label + trimmed value`` and items are joined by
    one newline, so the length is the sum of the items plus (items - 1).
    """
    items = " + ".join(f"_n_{s.property}" for s in EMBEDDED_FIELDS)
    chars = " + ".join(f"_l_{s.property}" for s in EMBEDDED_FIELDS)
    return f"greatest(({chars}) + ({items}) - 1, 0)::BIGINT"


def measured_populated_sql(which: str) -> str:
    """``populated_sql(which)`` from the measures."""
    chosen = [
        f for f in FIELDS
        if which == "total" or (which == "issue" and f.issue) or (which == "resolution" and f.resolution)
    ]
    return "(" + " + ".join(f"(_n_{f.property} > 0)::INTEGER" for f in chosen) + ")"


def html_to_text_macro() -> str:
    """``CREATE MACRO html_to_text(s)``: rich text to plain text, in SQL.

    Block-level closing tags and ``<br>`` become line breaks, list items get a
    dash, other tags are dropped and the common entities decoded (``&amp;``
    last, so ``&amp;lt;`` stays ``&lt;``).
    """
    # line breaks and block ends in one pass (one regex pass less over every text): moving the block ends
    # before the <li> pass changes nothing unless an <li> tag's attribute holds a closing tag
    s = "s"
    s = f"regexp_replace({s}, '(?i)<br\\s*/?>|</(p|div|li|ul|ol|h[1-6]|tr|table)>', {_NL}, 'g')"
    s = f"regexp_replace({s}, '(?i)<li[^>]*>', '- ', 'g')"
    s = f"regexp_replace({s}, '<[^>]*>', '', 'g')"
    for entity, char in (("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "''"), ("&amp;", "&")):
        s = f"replace({s}, '{entity}', '{char}')"
    s = f"regexp_replace({s}, '[ \\t]*\\n[ \\t\\n]*', {_NL}, 'g')"
    return f"CREATE OR REPLACE TEMP MACRO html_to_text(s) AS trim({s}, chr(32) || chr(10) || chr(9) || chr(13))"
