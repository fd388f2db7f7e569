"""Deciding what to replace: merging context hits, detections and the keep-list.

Rules, in order:

1. A generic detection that overlaps a protected span (``pii_keep_list``) is
   dropped: support identifiers survive even where a recognizer mistakes them
   for a phone number.
2. Context hits and table-rule hits (``pii_table_rules``) are never dropped: a
   value of the case's own people goes even when it looks like a protected
   token, and so does a house number or postal code inside a site address.
3. Overlapping findings merge into one covering both, so no fragment of either
   survives ("john.smith" from a context name inside "john.smith@other.org"
   becomes one e-mail address). The merged finding takes the entity and value
   of its longest part (a context hit on ties).

Also the span arithmetic (merge, overlap, containment) that the keep-list and
the recognizers share.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

__all__ = ["Finding", "Span", "cut", "inside_any", "merge_spans", "overlaps_any", "resolve", "rewrite"]

#: ``(start, end)`` offsets, end exclusive.
Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Finding:
    """A span to replace, its entity and the normalised value it stands for."""

    start: int
    end: int
    entity: str
    key: str
    from_context: bool = False
    rule: str = ""  # the table rule that found it, if any


def resolve(
    context_hits: Iterable[Finding],
    detections: Iterable[Finding],
    protected: Sequence[Span],
) -> list[Finding]:
    """Sorted, non-overlapping findings to replace (rules in the module docstring).

    ``context_hits`` are kept whatever the keep-list says (context and rule
    hits); ``detections`` overlapping a ``protected`` span are dropped.
    """
    kept = [d for d in detections if not overlaps_any(protected, d.start, d.end)]
    candidates = sorted([*context_hits, *kept], key=lambda f: (f.start, -f.end))
    merged: list[Finding] = []
    for finding in candidates:
        if merged and finding.start < merged[-1].end:
            merged[-1] = _union(merged[-1], finding)
        else:
            merged.append(finding)
    return merged


def _union(a: Finding, b: Finding) -> Finding:
    rank_a = (a.end - a.start, a.from_context)
    rank_b = (b.end - b.start, b.from_context)
    label = a if rank_a >= rank_b else b
    return Finding(
        start=min(a.start, b.start),
        end=max(a.end, b.end),
        entity=label.entity,
        key=label.key,
        from_context=a.from_context or b.from_context,
        rule=label.rule,
    )


def rewrite(
    text: str,
    bounds: Sequence[Span],
    findings: Sequence[Finding],
    token: Callable[[Finding], str],
) -> tuple[list[str], int]:
    """Rewrite each ``text[start:end]`` of ``bounds`` with its findings replaced.

    ``bounds`` are sorted, non-overlapping pieces of ``text`` (the fields that
    were joined into it). A finding crossing a boundary is cut at it and
    replaced in each piece. Returns the pieces and the number of replacements.
    """
    pieces: list[str] = []
    replaced = 0
    index = 0
    for start, end in bounds:
        while index < len(findings) and findings[index].end <= start:
            index += 1
        out: list[str] = []
        cursor = start
        scan = index
        while scan < len(findings) and findings[scan].start < end:
            finding = findings[scan]
            cut_start, cut_end = max(finding.start, start), min(finding.end, end)
            if cut_start < cut_end:
                out.append(text[cursor:cut_start])
                out.append(token(finding))
                cursor = cut_end
                replaced += 1
            scan += 1
        out.append(text[cursor:end])
        pieces.append("".join(out))
    return pieces, replaced


def cut(bounds: Sequence[Span], findings: Sequence[Finding]) -> Iterator[tuple[int, int, int, Finding]]:
    """Each finding's pieces per field: ``(field index, start, end, finding)``.

    Offsets are relative to the field's start in ``bounds`` (sorted,
    non-overlapping); a finding crossing a boundary gives one piece per field.
    """
    index = 0
    for field, (start, end) in enumerate(bounds):
        while index < len(findings) and findings[index].end <= start:
            index += 1
        scan = index
        while scan < len(findings) and findings[scan].start < end:
            finding = findings[scan]
            lo, hi = max(finding.start, start), min(finding.end, end)
            if lo < hi:
                yield field, lo - start, hi - start, finding
            scan += 1


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Sorted spans with overlapping or touching ones merged."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def overlaps_any(spans: Sequence[Span], start: int, end: int) -> bool:
    """Whether ``[start, end)`` shares a character with any of the merged ``spans``."""
    index = bisect_left(spans, (start, start))
    if index > 0 and spans[index - 1][1] > start:
        return True
    return index < len(spans) and spans[index][0] < end


def inside_any(spans: Sequence[Span], start: int, end: int) -> bool:
    """Whether ``[start, end)`` lies wholly inside one of the merged ``spans``."""
    index = bisect_right(spans, (start, float("inf"))) - 1
    return index >= 0 and spans[index][0] <= start and end <= spans[index][1]
