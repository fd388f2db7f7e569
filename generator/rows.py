"""Turn drafted cases into staging rows, a chunk of cases at a time.

Rows are tuples in the column order of ``COLUMNS`` (the contract columns of
``schemas.staging.TABLES`` followed by extra columns a real org export has
and consumers must ignore). Each case reseeds one ``random.Random`` from
(seed, case index), so a case's rows do not depend on chunk size or on
which process builds it.

Besides rows, a chunk counts what the report needs: rows, deleted rows and
orphans per table, and for each child table how many live cases have at
least one live row (join coverage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random

from generator.activity_text import comment_text, task_text
from generator.case_text import case_text
from generator.email_text import email_text
from generator.field_text import feed_text, workorder_text
from generator.ids import SalesforceIds
from generator.marks import Marks
from generator.plan import Draft, plan_case
from schemas.staging import TABLES

__all__ = ["COLUMNS", "EXTRA_COLUMNS", "Chunk", "Counts", "build_chunk", "case_seed"]

#: Columns outside the contract, present as in a real export (timestamp or string).
EXTRA_COLUMNS: dict[str, tuple[str, ...]] = {
    "case": ("OwnerId", "SystemModstamp"),
    "task": ("OwnerId", "SystemModstamp"),
    "workorder": ("OwnerId", "SystemModstamp"),
    "casecomment": ("CreatedById", "SystemModstamp"),
    "emailmessage": ("CreatedById", "SystemModstamp"),
    "workorderfeed": ("CreatedById", "SystemModstamp"),
}
COLUMNS: dict[str, tuple[str, ...]] = {
    t: TABLES[t].column_names + EXTRA_COLUMNS[t] for t in TABLES
}
_CHILD_TABLES = ("task", "workorder", "casecomment", "emailmessage", "workorderfeed")


def case_seed(seed: int, index: int) -> int:
    """The seed of case ``index``: distinct for every (seed, index < 2**40)."""
    return ((seed & 0xFFFF_FFFF_FFFF) << 40) | index


@dataclass
class Counts:
    """What the report needs from a range of cases; ``add`` merges ranges."""

    deleted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    orphans: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_CHILD_TABLES, 0))
    #: live cases with at least one live row, per child table.
    covered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_CHILD_TABLES, 0))
    live_cases: int = 0

    def add(self, other: Counts) -> None:
        for mine, theirs in ((self.deleted, other.deleted), (self.orphans, other.orphans),
                             (self.covered, other.covered)):
            for k, v in theirs.items():
                mine[k] += v
        self.live_cases += other.live_cases


@dataclass
class Chunk:
    """Rows (tuples in ``COLUMNS`` order) and counts of a contiguous range of cases."""

    rows: dict[str, list[tuple]] = field(default_factory=lambda: {t: [] for t in TABLES})
    #: (case_id, table, record_id, record_live) per record, for the two keys.
    records: list[tuple] = field(default_factory=list)
    #: (record index, column, entity_type, value, in_context) per planted value.
    answer_key: list[tuple] = field(default_factory=list)
    #: (record index, column, token, kind) per must-keep token.
    keep_tokens: list[tuple] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)


def _case_row(d: Draft, m: Marks) -> tuple:
    p, i, ctx = d.product, d.issue, d.ctx
    (subject, description, issue, cause, env, errors, resolution, plain, root, summary,
     close, code) = case_text(d, m)
    return (
        d.id, d.number, d.parent_id, d.account_id, d.status, d.priority, d.origin,
        p.name, i.category, p.line, p.number, p.series, p.hierarchy, p.type, i.issue_type,
        subject, description, issue, cause, env, errors, resolution, plain, code, root,
        summary, close, d.closed_at, d.closed, d.created, d.modified, d.deleted,
        ctx["SuppliedName"], ctx["SuppliedEmail"], ctx["SuppliedPhone"], ctx["SuppliedCompany"],
        ctx["ContactName"], ctx["ContactEmail"], ctx["ContactPhone"],
        d.owner_id, d.modified,
    )


def _add_case(d: Draft, m: Marks, ids: SalesforceIds, out: Chunk) -> None:
    r = m.r
    rows = out.rows
    rows["case"].append(_case_row(d, m))
    for t in d.tasks:
        subject, desc = task_text(d, t, m)
        rows["task"].append((t.id, t.parent, t.kind, subject, desc, t.created, t.modified,
                             t.deleted, d.owner_id, t.modified))
    s, ctx = d.site, d.ctx
    for w in d.workorders:
        subject, desc, problem, onsite, closing = workorder_text(d, w, m)
        rows["workorder"].append((
            w.id, w.parent, w.number, subject, desc, problem, onsite, closing,
            w.created, w.modified, w.deleted, s.street, s.city, s.state, s.postal,
            s.country, ctx["wo.ContactName"], ctx["wo.ContactPhone"],
            ids.shared("user", 5_000 + int(r.random() * 500)), w.modified,
        ))
    for c in d.comments:
        body = comment_text(d, c, m)
        rows["casecomment"].append((c.id, c.parent, body, r.random() < 0.4, c.created, c.modified,
                                    c.deleted, d.owner_id, c.modified))
    for e in d.emails:
        subject, text, html = email_text(d, e, m)
        to = "; ".join([p if isinstance(p, str) else p.email for p in e.to])
        cc = "; ".join([p.email for p in e.cc]) or None
        sent = max(d.created, e.created - int(r.random() * 300_000_000))
        rows["emailmessage"].append((
            e.id, e.parent, subject, text, html, e.kind == "in", sent, e.created, e.modified,
            e.deleted, e.sender.stored_name(r), e.sender.email, to, cc, d.owner_id, e.modified,
        ))
    for f in d.feeds:
        title, body = feed_text(d, f, m)
        rows["workorderfeed"].append((f.id, f.parent, f.kind, title, body, f.created, f.modified,
                                      f.deleted, d.owner_id, f.modified))
    _count(d, out.counts)


def _count(d: Draft, counts: Counts) -> None:
    """Deleted and orphaned rows per table, live cases, and covered cases per child table."""
    counts.deleted["case"] += d.deleted
    counts.live_cases += not d.deleted
    for table, children in (("task", d.tasks), ("workorder", d.workorders),
                            ("casecomment", d.comments), ("emailmessage", d.emails),
                            ("workorderfeed", d.feeds)):
        covered = False
        for c in children:
            if c.deleted:
                counts.deleted[table] += 1
            if c.orphan:
                counts.orphans[table] += 1
            covered = covered or c.live  # live already implies a live case
        counts.covered[table] += covered


def build_chunk(start: int, stop: int, seed: int, ref_us: int,
                ids: SalesforceIds | None = None) -> Chunk:
    """Rows of cases ``start`` .. ``stop - 1`` (a pure function of its arguments)."""
    ids = ids or SalesforceIds()
    r = Random()
    m = Marks(r)
    out = Chunk()
    for index in range(start, stop):
        r.seed(case_seed(seed, index))
        d = plan_case(index, ids, r, ref_us)
        m.case_id = d.id
        _add_case(d, m, ids, out)
    out.records, out.answer_key, out.keep_tokens = m.take()
    return out
