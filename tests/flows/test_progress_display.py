"""The command line's progress rate: cases per second over the stage, not over its last update."""

from __future__ import annotations

from flows.progress_display import _rate_text


def test_rate_is_the_average_since_the_stage_started():
    assert _rate_text(988, 0.5) == "1,976 cases/s"


def test_rate_is_blank_before_anything_is_done_or_measurable():
    assert _rate_text(0, 3.0) == ""
    assert _rate_text(988, None) == ""
    assert _rate_text(988, 0.00005) == ""  # a burst at the very start is no rate
