"""Resolving findings: keep-list drops, context wins, overlaps merge, fields are cut."""

from __future__ import annotations

from blocks.pii_spans import Finding, inside_any, merge_spans, overlaps_any, resolve, rewrite


def test_detection_overlapping_a_protected_span_is_dropped():
    """A generic detection touching a protected token is dropped."""
    detection = Finding(0, 10, "PHONE_NUMBER", "p")
    assert resolve([], [detection], [(5, 15)]) == []


def test_context_hit_is_kept_inside_a_protected_span():
    """Context values win over the keep-list."""
    hit = Finding(0, 10, "PHONE_NUMBER", "p", from_context=True)
    assert resolve([hit], [], [(0, 10)]) == [hit]


def test_overlapping_findings_merge_into_their_union():
    """Overlaps merge into one span labelled by the longest part."""
    name = Finding(0, 10, "PERSON", "n", from_context=True)
    email = Finding(0, 24, "EMAIL_ADDRESS", "e")
    [merged] = resolve([name], [email], [])
    assert (merged.start, merged.end, merged.entity, merged.key, merged.from_context) == (
        0, 24, "EMAIL_ADDRESS", "e", True,
    )


def test_rewrite_cuts_findings_at_field_bounds_and_counts():
    """A finding spanning two joined fields is replaced in each of them."""
    text = "Call John\n\nSmith today"
    findings = [Finding(5, 16, "PERSON", "k")]
    pieces, count = rewrite(text, [(0, 9), (11, 22)], findings, lambda f: "<P>")
    assert pieces == ["Call <P>", "<P> today"] and count == 2


def test_span_arithmetic():
    """Merging joins touching spans; overlap shares a character; inside is full containment."""
    spans = merge_spans([(20, 25), (5, 8), (8, 10)])
    assert spans == [(5, 10), (20, 25)]
    assert overlaps_any(spans, 9, 12) and overlaps_any(spans, 0, 6) and overlaps_any(spans, 21, 22)
    assert not overlaps_any(spans, 10, 20) and not overlaps_any(spans, 0, 5)
    assert inside_any(spans, 5, 10) and inside_any(spans, 21, 23)
    assert not inside_any(spans, 4, 6) and not inside_any(spans, 9, 21)
