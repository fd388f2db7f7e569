"""Free text of work orders and their feed: the field engineer's world.

Work orders carry the site (street, city, postal code) and the site contact,
both also present in the work order's PII context columns; the onsite action
and the partner notes name the field engineer (CE), a third party who is in
no context column, next to the part number and the old and new serials.
"""

from __future__ import annotations

from generator.clock import DAY_US, day_compact, day_numeric
from generator.marks import Marks
from generator.plan import Child, Draft
from generator.vocabulary import PARTNERS

__all__ = ["workorder_text", "feed_text"]


def _part(d: Draft, m: Marks) -> str:
    return m.keep("part_number", d.part[0]) if d.part else ""


def workorder_text(d: Draft, w: Child, m: Marks) -> tuple[str, str, str, str | None, str | None]:
    """(Subject, Description, Problem_Description__c, Onsite_Action__c, Closing_Summary__c)."""
    r = m.r
    m.at("workorder", w.id, w.live)
    issue, s, sc = d.issue, d.site, d.site_contact
    m.col = "Subject"
    if r.random() < 0.5:
        what = f"{issue.component} replacement" if d.part else issue.action
        subject = f"Onsite: {what} - {m.keep('product', d.product.name)}"
    else:
        subject = f"{issue.action} - SN {m.keep('serial', d.serial)}"
    m.col = "Description"
    desc = [f"Dispatch CE to {m.street(s)}, {m.city(s)} {m.postal(s)} for {issue.action.lower()}."]
    if r.random() < 0.8:
        desc.append(f" Site contact: {m.name(sc)} {m.phone(sc)}.")
    desc.append(f" Access hours 08:00-17:00. Serial {m.keep('serial', d.serial)}.")
    if d.part:
        desc.append(f" Parts: {_part(d, m)} ({d.part[1]}).")
    m.col = "Problem_Description__c"
    problem = f"{d.title}: " + issue.symptom.format(where=d.where, err=m.keep("error_code", d.errs[0]))
    onsite = closing = None
    if d.closed or r.random() < 0.3:
        m.col = "Onsite_Action__c"
        ce = d.field_engineer
        label, ver = d.firmware[-1]
        if d.part:
            onsite = (f"CE {m.name(ce)} replaced {issue.component} ({_part(d, m)}), "
                      f"SN New: {m.keep('serial', d.sn_new)}, SN Old: {m.keep('serial', d.sn_old)}. "
                      f"Updated {label} to {m.keep('firmware', ver)}. Health verified in iLO.")
        else:
            onsite = (f"CE {m.name(ce)} applied {label} {m.keep('firmware', ver)} and verified "
                      "health, no part used.")
        if r.random() < 0.7:
            m.col = "Closing_Summary__c"
            if r.random() < 0.6:
                closing = f"Work completed, customer {m.first(sc)} confirmed system healthy."
            else:
                partner = m.pii("ORGANIZATION", PARTNERS[int(r.random() * len(PARTNERS))], False)
                closing = f"WO {m.keep('workorder_number', w.number)} closed; {partner} invoice pending."
    return subject, "".join(desc), problem, onsite, closing


def feed_text(d: Draft, f: Child, m: Marks) -> tuple[str | None, str]:
    """(Title, Body) of one work-order feed item."""
    r = m.r
    m.at("workorderfeed", f.id, f.live)
    if f.kind == "TrackedChange":
        m.col = "Body"
        states = ("Scheduled", "Dispatched", "Onsite", "Completed")
        i = int(r.random() * 3)
        return None, f"Status changed from {states[i]} to {states[i + 1]}"
    if f.kind == "LinkPost":
        m.col = "Title"
        title = f"AHS log {m.keep('serial', d.serial)}"
        m.col = "Body"
        return title, f"AHS log uploaded for SN {m.keep('serial', d.serial)}, see {m.keep('kb_id', d.kb)}"
    k = r.random()
    ce, sc = d.field_engineer, d.site_contact
    if k < 0.45:
        m.col = "Title"
        title = "Partner Notes" if r.random() < 0.5 else None
        m.col = "Body"
        if d.part:
            action = (f"Action: {d.issue.action}, {_part(d, m)}, SN New: {m.keep('serial', d.sn_new)}, "
                      f"SN Old: {m.keep('serial', d.sn_old)}")
        else:
            action = f"Action: {d.issue.action}, {d.firmware[-1][0]} {m.keep('firmware', d.firmware[-1][1])}"
        return title, (f"Partner Notes {day_compact(f.created)}, CE: {m.first(ce)} Issue: {d.title} "
                       f"{action}")
    if k < 0.6 and d.part:
        m.col = "Title"
        title = "Parts Shipped"
        m.col = "Body"
        return title, (f"Part {_part(d, m)} shipped, tracking 1Z999AA1{int(r.random() * 10**8):08d}, "
                       f"ETA {day_numeric(f.created + DAY_US)}.")
    m.col = "Title"
    title = "Field Update" if r.random() < 0.5 else None
    m.col = "Body"
    if k < 0.75:
        return title, f"CE arrived onsite, met {m.name(sc)}."
    if k < 0.88:
        return title, f"Customer {m.name(sc)} requested reschedule, call {m.phone(sc)}."
    partner = m.pii("ORGANIZATION", PARTNERS[int(r.random() * len(PARTNERS))], False)
    return title, f"Partner {partner} assigned CE {m.name(ce)}, {m.phone(ce)}."
