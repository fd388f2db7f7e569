"""E-mail messages: greetings, signatures and quoted replies around the facts.

Mail is where names and numbers pile up: "Hi <first name>," greetings,
"Best regards,\\n<Name>\\n<phone>" signatures, "On Mon, 3 Nov 2025, <Name>
<email> wrote:" reply headers. About one message in eight has an empty (or
null) ``TextBody`` and only an ``HtmlBody``, which the pipeline must read
instead; those are labelled on ``HtmlBody``. Where ``TextBody`` is filled,
``HtmlBody`` is its HTML rendering and is not labelled (the pipeline never
reads it then).
"""

from __future__ import annotations

from generator.clock import DAY_US, day_text
from generator.ids import ORG_ID
from generator.marks import Marks
from generator.people import Person, card_number
from generator.plan import Child, Draft

__all__ = ["email_text", "to_html"]


def to_html(text: str) -> str:
    """A mail client's HTML rendering of a plain-text body."""
    body = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    body = body.replace("\n\n", "</p><p>").replace("\n", "<br>")
    return f"<html><body><p>{body}</p></body></html>"


def _subject(d: Draft, e: Child, m: Marks) -> str:
    m.col = "Subject"
    r = m.r
    k = r.random()
    if k < 0.55:
        ref = f"{d.id[:5]}{d.id[5:15].lstrip('0')}"
        lead = "RE: " if e.kind == "in" or r.random() < 0.5 else ""
        return f"{lead}HPE Support Case {m.keep('case_number', d.number)} [ ref:!{ORG_ID}.!{ref}:ref ]"
    if k < 0.75:
        return f"RE: {d.title} - {m.keep('serial', d.serial)}"
    live_wo = [w for w in d.workorders if not w.orphan]
    if k < 0.85 and live_wo:
        return (f"Work Order {m.keep('workorder_number', live_wo[0].number)} scheduled - "
                f"Case {m.keep('case_number', d.number)}")
    return f"HPE Support Case {m.keep('case_number', d.number)} - {d.title}"


def _incoming_body(d: Draft, e: Child, m: Marks) -> str:
    r = m.r
    sender: Person = e.sender
    eng = d.engineer
    to_engineer = any(p is eng for p in e.to)
    out = [f"Hi {m.first(eng)},\n\n" if to_engineer else "Hello,\n\n"]
    k = r.random()
    if k < 0.3:
        out.append(f"The error {m.keep('error_code', d.errs[0])} came back this morning on "
                   f"{m.keep('serial', d.serial)}.")
    elif k < 0.5:
        s, sc = d.site, d.site_contact
        out.append(f"Please send the engineer to {m.street(s)}, {m.city(s)} {m.postal(s)}. "
                   f"Ask for {m.name(sc)} at reception, {m.phone(sc)}.")
    elif k < 0.62 and sender is not d.colleague:
        c = d.colleague
        out.append(f"I am out of office tomorrow; please contact {m.name(c)} at {m.email(c)} "
                   f"or {m.phone(c)}.")
    elif k < 0.8:
        out.append(f"Confirmed, the server is healthy after the replacement. You can close case "
                   f"{m.keep('case_number', d.number)}.")
    else:
        label, ver = d.firmware[0]
        out.append(f"AHS log attached. {label} is at {m.keep('firmware', ver)}.")
    if r.random() < 0.01:
        out.append(f" Card for the out-of-warranty part: {m.pii('CREDIT_CARD', card_number(r), False)}.")
    k = r.random()
    if k < 0.25:
        out.append(f"\n\nBest regards,\n{m.name(sender)}\n{m.phone(sender)}")
    elif k < 0.5:
        out.append(f"\n\nBest regards,\n{m.name(sender)}\n"
                   f"{m.company(d.company[0], d.company[1], d.company_ctx)}\n{m.phone(sender)}")
    elif k < 0.8:
        out.append(f"\n\nThanks,\n{m.first(sender)}")
    else:
        out.append(f"\n\nRegards,\n{m.name(sender)}\nMobile: {m.phone(sender)}")
    if r.random() < 0.5:
        when = day_text(e.created - DAY_US)
        if r.random() < 0.7:
            out.append(f"\n\nOn {when}, {m.name(eng)} <{m.email(eng)}> wrote:\n"
                       "> Please upload the AHS log from iLO.")
        else:
            out.append(f"\n\n-----Original Message-----\nFrom: {m.name(eng)} <{m.email(eng)}>\n"
                       f"Sent: {when}\nSubject: HPE Support Case {m.keep('case_number', d.number)}\n\n"
                       "Please confirm the maintenance window.")
    return "".join(out)


def _outgoing_body(d: Draft, e: Child, m: Marks) -> str:
    r = m.r
    to: Person = e.to[0]
    eng = d.engineer
    out = [f"Hi {m.first(to)},\n\n" if r.random() < 0.7 else f"Dear {m.name(to)},\n\n"]
    k = r.random()
    if k < 0.25:
        out.append(f"Thank you for the AHS log. It shows {m.keep('error_code', d.errs[0])} on {d.where}.")
    elif k < 0.45 and d.part and d.workorders:
        out.append(f"We will dispatch {m.keep('part_number', d.part[0])} ({d.part[1]}) and a field "
                   f"engineer under work order {m.keep('workorder_number', d.workorders[0].number)}.")
    elif k < 0.6:
        label, ver = d.firmware[-1]
        out.append(f"Please update {label} to {m.keep('firmware', ver)} as described in "
                   f"{m.keep('kb_id', d.kb)}.")
    elif k < 0.72:
        s = d.site
        out.append(f"Could you confirm the site address {m.street(s)}, {m.city(s)} and a phone "
                   "number for the engineer?")
    elif k < 0.85:
        sc = d.site_contact
        out.append(f"The CE will call {m.name(sc)} on {m.phone(sc)} before arrival.")
    else:
        out.append(f"As discussed with {m.name(d.colleague)}, we will schedule the replacement for "
                   f"{day_text(e.created + DAY_US)}.")
    out.append(f"\n\nBest regards,\n{m.full(eng)}\nHPE Services | Technical Solutions Engineer\n"
               f"{m.phone(eng)}")
    if r.random() < 0.5:
        when = day_text(e.created - DAY_US)
        out.append(f"\n\nOn {when}, {m.name(to)} <{m.email(to)}> wrote:\n"
                   f"> The error came back this morning on {m.keep('product', d.product.name)}.")
    return "".join(out)


def email_text(d: Draft, e: Child, m: Marks) -> tuple[str, str | None, str]:
    """(Subject, TextBody, HtmlBody); TextBody is '' or None for HTML-only mail."""
    m.at("emailmessage", e.id, e.live)
    subject = _subject(d, e, m)
    html_only = m.r.random() < 0.12
    m.col = "HtmlBody" if html_only else "TextBody"
    text = _incoming_body(d, e, m) if e.kind == "in" else _outgoing_body(d, e, m)
    html = to_html(text)
    if html_only:
        return subject, (None if m.r.random() < 0.5 else ""), html
    return subject, text, html
