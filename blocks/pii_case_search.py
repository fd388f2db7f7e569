"""Searching one case for PII: context values, table rules, presidio and the keep-list together.

``CaseSearch.findings`` is steps 1-4 of ``presidio_redactor``: the case's own
context values and the table rules are sure findings (never vetoed); presidio
runs next, skipping numbers already settled; its detections that touch a
protected support token are dropped; a third-party e-mail address that spells
a name ("zoltan.farkas@...") makes that name go wherever it occurs in the
case, like a context value. ``MatcherCache`` keeps the context matchers of
recent cases (cases often share their people).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from blocks.pii_case_text import CaseText
from blocks.pii_context_matcher import ContextMatcher
from blocks.pii_keep_list import KeepList
from blocks.pii_name_words import names_in_addresses
from blocks.pii_operators import normalise_value
from blocks.pii_spans import Finding, merge_spans, resolve
from blocks.pii_table_rules import TableRules

if TYPE_CHECKING:
    from blocks.pii_recognizers import PiiAnalyzer

__all__ = ["NAME_FROM_EMAIL", "CaseSearch", "MatcherCache"]

#: The ``rule`` of a name found through a third-party e-mail address.
NAME_FROM_EMAIL = "name_from_email"


@dataclass(frozen=True)
class CaseSearch:
    """What one redactor configuration searches a case with; built once, reused."""

    analyzer: PiiAnalyzer
    keep: KeepList
    rules: TableRules

    def findings(self, case: CaseText, matcher: ContextMatcher) -> list[Finding]:
        """Sorted, non-overlapping findings of one case."""
        text = case.text
        sure = matcher.find(text) + self.rules.find(text, case.bounds, case.tables)
        protected = functools.cache(lambda: self.keep.spans(text))
        settled = functools.cache(lambda: merge_spans([*protected(), *((h.start, h.end) for h in sure)]))
        detections = [
            Finding(r.start, r.end, r.entity_type, normalise_value(r.entity_type, text[r.start : r.end]))
            for r in self.analyzer.analyze(text, settled)
        ]
        names = names_in_addresses(  # third-party addresses only: the case's own are context already
            text[d.start : d.end]
            for d in detections
            if d.entity == "EMAIL_ADDRESS" and not any(h.start < d.end and d.start < h.end for h in sure)
        )
        if names:
            named = ContextMatcher.from_context({"context_names": names}).find(text)
            sure += [replace(f, from_context=False, rule=NAME_FROM_EMAIL) for f in named]
        return resolve(sure, detections, protected() if detections else [])


class MatcherCache:
    """The context matchers of the most recent distinct contexts (thread-safe)."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._cache: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, context: Mapping[str, Sequence[str | None] | None]) -> ContextMatcher:
        key = tuple((name, tuple(values or ())) for name, values in sorted(context.items()))
        with self._lock:
            matcher = self._cache.get(key)
            if matcher is not None:
                self._cache.move_to_end(key)
                return matcher
        matcher = ContextMatcher.from_context(context)
        with self._lock:
            self._cache[key] = matcher
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return matcher
