"""Draft one case: who is involved, what broke, which child rows exist.

Structure comes before text. The draft decides every row (ids, dates,
deleted and orphan flags, e-mail senders and recipients) first, then marks
which people and values end up in the case's *live* PII context columns
(case row, live work orders, live e-mails). Only then is text written, so
each planted value's ``in_context`` flag is known when it is planted.

Rates (per case unless noted) are tuned so that, after ~2% deleted and ~0.5%
orphaned child rows, the share of cases with at least one live row is about
task 45%, workorder 35%, casecomment 75%, emailmessage 60%, workorderfeed 30%.
"""

from __future__ import annotations

from random import Random

from generator.catalog import ISSUES_BY_FAMILY, OS_BY_FAMILY, PRODUCTS, Issue, Product
from generator.clock import WINDOW_US
from generator.ids import SalesforceIds, case_number, workorder_number
from generator.people import PeopleFactory, Person
from generator.vocabulary import (
    COMPANIES,
    FEED_TYPES,
    ORIGINS,
    PRIORITIES,
    STATUS_CLOSED,
    STATUS_OPEN,
    SUPPLIED_ORIGINS,
    SUPPORT_MAILBOXES,
    TASK_TYPES,
)

__all__ = ["Child", "Draft", "plan_case", "RATES"]

RATES = {
    "case_deleted": 0.015,
    "child_deleted": 0.02,
    "child_orphan": 0.005,
    "task": 0.47,
    "workorder": 0.365,
    "feed_per_workorder": 0.86,
    "casecomment": 0.78,
    "emailmessage": 0.625,
    "closed": 0.6,
}
_CHILD_DELETED = RATES["child_deleted"]
_CHILD_ORPHAN = RATES["child_orphan"]
_ALNUM = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
#: All 3-character serial tails, so one draw picks three characters.
_ALNUM3 = tuple(a + b + c for a in _ALNUM for b in _ALNUM for c in _ALNUM)
_N3 = len(_ALNUM3)
_HOUR_US = 3_600_000_000


class Child:
    """One planned child row; ``live`` means it reaches a live case."""

    __slots__ = ("id", "parent", "slot", "deleted", "orphan", "live", "ctx_live",
                 "created", "modified", "kind", "sender", "to", "cc", "number", "wo")

    def __init__(self, id: str, parent: str, slot: int, deleted: bool, orphan: bool,
                 live: bool, created: int, modified: int, kind: str) -> None:
        self.id = id
        self.parent = parent
        self.slot = slot
        self.deleted = deleted
        self.orphan = orphan
        self.ctx_live = not (deleted or orphan)
        self.live = live and self.ctx_live
        self.created = created
        self.modified = modified
        self.kind = kind
        self.sender: Person | None = None
        self.to: tuple = ()
        self.cc: tuple[Person, ...] = ()
        self.number = ""
        self.wo: Child | None = None


class Draft:
    """Everything about one case except its text."""

    __slots__ = (
        "index", "id", "number", "deleted", "product", "issue", "title", "serial", "errs",
        "where", "part", "firmware", "kb", "os", "sn_new", "sn_old", "country",
        "company", "company_ctx", "contact", "requester", "engineer", "colleague",
        "site_contact", "field_engineer", "site", "closed", "status", "priority",
        "origin", "created", "closed_at", "modified", "tasks", "workorders",
        "feeds", "comments", "emails", "ctx", "parent_id", "account_id", "owner_id",
    )


def _serial(r: Random, prefix: str) -> str:
    if prefix.endswith("-"):
        return f"{prefix}{100000 + int(r.random() * 900000)}"
    n = int(r.random() * 10_000 * _N3)
    return f"{prefix}{n // _N3:04d}{_ALNUM3[n % _N3]}"


def _part_serial(r: Random, new: bool) -> str:
    x = r.random()
    if x < 0.2:
        return f"{'SNEW' if new else 'SOLD'}{int(x * 5_000_000):06d}"
    n = int(r.random() * _N3 * _N3 * 6)
    head = ("PW", "KR", "MY", "CN", "7C", "SG")[n % 6]
    return f"{head}{_ALNUM3[n // 6 % _N3]}{int(x * 10_000) % 10}{_ALNUM3[n // 6 // _N3]}"


def _distinct_people(pf: PeopleFactory, code: str, domain: str, n: int,
                     used: set[str]) -> list[Person]:
    """People whose names and phone numbers differ from everyone else on the case.

    Distinct values keep the answer key honest: a colleague who shares the
    contact's first name would make "Hi John," ambiguous, and one who shares
    a phone number would be "in context" by accident.
    """
    out = []
    for _ in range(n):
        p = pf.person(code, domain, avoid=used)
        used.update((p.first, p.last, p.phone_key))
        out.append(p)
    return out


def _children(r: Random, ids: SalesforceIds, d: Draft, table: str, n: int,
              slot0: int, ref: int, kinds: tuple[str, ...] = ("",)) -> list[Child]:
    out = []
    rnd = r.random
    start, span, index = d.created, ref - d.created, d.index
    for slot in range(slot0, slot0 + n):
        deleted = rnd() < _CHILD_DELETED
        orphan = rnd() < _CHILD_ORPHAN
        created = start + int(rnd() * span)
        out.append(Child(
            ids.child(table, index, slot),
            ids.phantom("case", index, slot) if orphan else d.id,
            slot, deleted, orphan, not d.deleted, created,
            created + int(rnd() * (ref - created)),
            kinds[int(rnd() * len(kinds))],
        ))
    return out


def _count(r: Random, p: float, most: int) -> int:
    """0 with probability 1-p, else 1..most skewed towards 1."""
    if r.random() >= p:
        return 0
    return 1 + int(r.random() * r.random() * most)


def plan_case(index: int, ids: SalesforceIds, r: Random, ref: int) -> Draft:
    """Draft case ``index``; consumes ``r`` in a fixed order (determinism)."""
    pf = PeopleFactory(r)
    d = Draft()
    d.index = index
    d.id = ids.make("case", index)
    d.number = case_number(index)
    d.deleted = r.random() < RATES["case_deleted"]
    d.parent_id = ids.make("case", int(r.random() * max(index, 1))) if index and r.random() < 0.06 else None
    d.account_id = ids.shared("account", int(r.random() * 50_000)) if r.random() < 0.9 else None
    d.owner_id = ids.shared("user", int(r.random() * 2_000))

    product: Product = PRODUCTS[int(r.random() * len(PRODUCTS))]
    issues = ISSUES_BY_FAMILY[product.family]
    issue: Issue = issues[int(r.random() * len(issues))]
    d.product, d.issue = product, issue
    d.title = issue.titles[int(r.random() * len(issue.titles))]
    d.serial = _serial(r, product.serial_prefixes[int(r.random() * len(product.serial_prefixes))])
    errs, k = issue.errors, int(r.random() * len(issue.errors))
    d.errs = (errs[k:] + errs[:k])[: 1 + int(r.random() * min(3, len(errs)))]
    d.where = issue.where[int(r.random() * len(issue.where))]
    d.part = issue.parts[int(r.random() * len(issue.parts))] if issue.parts else None
    fws = product.firmware
    d.firmware = tuple((label, vers[int(r.random() * len(vers))]) for label, vers in fws
                       if r.random() < 0.7) or ((fws[0][0], fws[0][1][0]),)
    d.kb = issue.kb[int(r.random() * len(issue.kb))]
    oses = OS_BY_FAMILY.get(product.family, OS_BY_FAMILY["server"])
    d.os = oses[int(r.random() * len(oses))]
    d.sn_new, d.sn_old = _part_serial(r, True), _part_serial(r, False)

    code = pf.country()
    d.country = code
    companies = COMPANIES[code]
    d.company = companies[int(r.random() * len(companies))]
    domain = d.company[2]
    used: set[str] = set()
    d.contact, d.colleague = _distinct_people(pf, code, domain, 2, used)
    d.field_engineer = pf.field_engineer(code, used)
    d.engineer = pf.engineer(used)
    for p in (d.field_engineer, d.engineer):
        used.update((p.first, p.last, p.phone_key))
    d.origin = ORIGINS[int(r.random() * len(ORIGINS))]
    if d.origin in SUPPLIED_ORIGINS:
        d.requester = d.contact if r.random() < 0.7 else _distinct_people(pf, code, domain, 1, used)[0]
    else:
        d.requester = None
    d.site_contact = d.contact if r.random() < 0.5 else _distinct_people(pf, code, domain, 1, used)[0]
    d.site = pf.site(code)

    d.closed = r.random() < RATES["closed"]
    statuses = STATUS_CLOSED if d.closed else STATUS_OPEN
    d.status = statuses[int(r.random() * len(statuses))]
    d.priority = PRIORITIES[int(r.random() * len(PRIORITIES))]
    d.created = ref - _HOUR_US - int(r.random() * (WINDOW_US - _HOUR_US))
    d.closed_at = d.created + int(r.random() * (ref - d.created)) if d.closed else None
    start = d.closed_at or d.created
    d.modified = start + int(r.random() * (ref - start))

    d.tasks = _children(r, ids, d, "task", _count(r, RATES["task"], 3), 0, ref, TASK_TYPES)
    d.workorders = _children(r, ids, d, "workorder", _count(r, RATES["workorder"], 3), 0, ref)
    d.feeds = []
    for wo in d.workorders:
        wo.number = workorder_number(d.index, wo.slot)
        n = _count(r, RATES["feed_per_workorder"], 3)
        feeds = _children(r, ids, d, "workorderfeed", n, len(d.feeds), ref, FEED_TYPES)
        for f in feeds:
            f.wo = wo
            f.parent = ids.phantom("workorder", d.index, f.slot) if f.orphan else wo.id
            f.ctx_live = f.ctx_live and wo.ctx_live
            f.live = f.live and wo.live
            if f.created < wo.created:
                f.created, f.modified = wo.created, max(f.modified, wo.created)
        d.feeds.extend(feeds)
    d.comments = _children(r, ids, d, "casecomment", _count(r, RATES["casecomment"], 4), 0, ref)
    d.emails = _children(r, ids, d, "emailmessage", _count(r, RATES["emailmessage"], 5), 0, ref)
    _plan_emails(r, d)
    _mark_context(r, d)
    return d


def _plan_emails(r: Random, d: Draft) -> None:
    """Senders and recipients, alternating customer and engineer."""
    incoming = r.random() < 0.5
    for e in sorted(d.emails, key=lambda c: c.created):
        e.kind = "in" if incoming else "out"
        if incoming:
            k = r.random()
            e.sender = d.colleague if k < 0.1 else (d.requester or d.contact) if k < 0.3 else d.contact
            e.to = (SUPPORT_MAILBOXES[int(r.random() * 4)],) if r.random() < 0.5 else (d.engineer,)
            e.cc = (d.colleague,) if e.sender is not d.colleague and r.random() < 0.2 else ()
        else:
            e.sender = d.engineer
            e.to = (d.contact,)
            k = r.random()
            others = [p for p in (d.colleague, d.requester) if p is not None and p is not d.contact]
            e.cc = tuple(others) if k < 0.15 else tuple(others[:1]) if k < 0.35 else ()
        incoming = not incoming


def _mark_context(r: Random, d: Draft) -> None:
    """Decide the context column values and flag what they make 'in context'."""
    contact, req = d.contact, d.requester
    ctx: dict[str, str | None] = {}
    ctx["ContactName"] = contact.stored_name(r) if r.random() < 0.95 else None
    ctx["ContactEmail"] = contact.email if r.random() < 0.93 else None
    ctx["ContactPhone"] = contact.phone if r.random() < 0.85 else None
    contact.name_ctx |= ctx["ContactName"] is not None
    contact.email_ctx |= ctx["ContactEmail"] is not None
    contact.phone_ctx |= ctx["ContactPhone"] is not None
    if req is not None:
        ctx["SuppliedName"] = req.stored_name(r) if r.random() < 0.95 else None
        ctx["SuppliedEmail"] = req.email if r.random() < 0.98 else None
        ctx["SuppliedPhone"] = req.phone if r.random() < 0.6 else None
        ctx["SuppliedCompany"] = d.company[0] if r.random() < 0.85 else None
        req.name_ctx |= ctx["SuppliedName"] is not None
        req.email_ctx |= ctx["SuppliedEmail"] is not None
        req.phone_ctx |= ctx["SuppliedPhone"] is not None
    else:
        ctx["SuppliedName"] = ctx["SuppliedEmail"] = ctx["SuppliedPhone"] = None
        ctx["SuppliedCompany"] = None
    d.company_ctx = ctx["SuppliedCompany"] is not None
    # Work orders of a case share the site and its contact.
    site_name = d.site_contact.stored_name(r) if r.random() < 0.92 else None
    site_phone = d.site_contact.phone if r.random() < 0.88 else None
    ctx["wo.ContactName"], ctx["wo.ContactPhone"] = site_name, site_phone
    if any(w.ctx_live for w in d.workorders):
        d.site.ctx = True
        d.site_contact.name_ctx |= site_name is not None
        d.site_contact.phone_ctx |= site_phone is not None
    for e in d.emails:
        if e.ctx_live:
            e.sender.name_ctx = e.sender.email_ctx = True
            for p in e.to + e.cc:
                if isinstance(p, Person):
                    p.email_ctx = True
    d.ctx = ctx

