"""Free text of the case row: the customer's report and the engineer's record.

The description is written in the customer's voice (contact details, a
colleague to call, sometimes a card number for an out-of-warranty repair);
issue, cause and environment read like an engineer's structured notes; the
resolution fields exist mostly on closed cases, with ``Resolution__c`` as
rich text (``<p>``, ``<ul><li>``, ``<br>``, ``&amp;``, ``&nbsp;``).
"""

from __future__ import annotations

from generator.clock import day_numeric
from generator.marks import Marks
from generator.people import card_number, iban, us_ssn
from generator.plan import Draft

__all__ = ["CASE_TEXT_COLUMNS", "case_text"]

#: Order of the values ``case_text`` returns.
CASE_TEXT_COLUMNS = (
    "Subject", "Description", "Issue_Plain_Text__c", "Cause_Plain_Text__c",
    "GSD_Environment_Plain_Text__c", "Error_Codes__c", "Resolution__c",
    "Resolution_Plain_Text__c", "Root_Cause__c", "Case_Resolution_Summary__c",
    "Close_Comments__c", "Resolution_Code__c",
)

_IMPACT = (
    " This host runs production workloads, impact is high.",
    " Users report slowness since yesterday.",
    " No outage yet but redundancy is lost.",
    " The cluster is running on the remaining nodes.",
    " We have a maintenance window this weekend.",
)
_GREETING = ("Hello,\n\n", "Hi team,\n\n", "Dear HPE Support,\n\n", "", "", "")


def _fix(d: Draft, m: Marks) -> str:
    template = d.issue.fix
    pn = m.keep("part_number", d.part[0]) if d.part and "{pn}" in template else ""
    return template.format(where=d.where, pn=pn)


def _subject(d: Draft, m: Marks) -> str:
    m.col = "Subject"
    k = m.r.random()
    if k < 0.45:
        return f"[{d.priority}] {m.keep('product', d.product.name)} - {d.title}"
    if k < 0.7:
        return f"{m.keep('product', d.product.name)} - {d.title} - SN {m.keep('serial', d.serial)}"
    if k < 0.85:
        return f"{d.title} on {m.keep('product', d.product.name)}"
    if k < 0.95:
        return f"{m.keep('error_code', d.errs[0])}: {d.title} ({m.keep('product', d.product.name)})"
    org = m.company(d.company[0], d.company[1], d.company_ctx)
    return f"{d.title} - {org} - {m.keep('product', d.product.name)}"


def _description(d: Draft, m: Marks) -> str:
    m.col = "Description"
    r = m.r
    p = d.requester or d.contact
    sym = d.issue.symptom.format(where=d.where, err=m.keep("error_code", d.errs[0]))
    out = [_GREETING[int(r.random() * 6)],
           f"Our {m.keep('product', d.product.name)} (serial {m.keep('serial', d.serial)}) "
           f"has a problem: {sym}."]
    if r.random() < 0.5:
        label, ver = d.firmware[0]
        out.append(f" We run {d.os} with {label} {m.keep('firmware', ver)}.")
    if r.random() < 0.4:
        out.append(_IMPACT[int(r.random() * 5)])
    if len(d.errs) > 1 and r.random() < 0.5:
        out.append(f" The IML also shows {m.keep('error_code', d.errs[1])}.")
    if r.random() < 0.2:
        out.append(f" The server is at {m.street(d.site)}, {m.city(d.site)}.")
    k = r.random()
    if k < 0.3:
        out.append(f" Please call me on {m.phone(p)} or email {m.email(p)}.")
    elif k < 0.5:
        out.append(f" You can reach me at {m.phone(p)}.")
    elif k < 0.6:
        out.append(f" Best contact: {m.email(p)}.")
    if r.random() < 0.12:
        c = d.colleague
        out.append(f" If I am not available, contact my colleague {m.name(c)} ({m.phone(c)}).")
    if r.random() < 0.012:
        card = m.pii("CREDIT_CARD", card_number(r), False)
        out.append(f" Please charge the out-of-warranty repair to card {card}, "
                   f"expiry 0{1 + int(r.random() * 9)}/2{7 + int(r.random() * 3)}.")
    if r.random() < 0.006:
        out.append(f" For the refund of the duplicate invoice use IBAN {m.pii('IBAN_CODE', iban(r), False)}.")
    if r.random() < 0.003:
        out.append(f" The portal asked for my SSN {m.pii('US_SSN', us_ssn(r), False)} to verify the contract.")
    if r.random() < 0.6:
        out.append(f"\n\nThanks,\n{m.name(p)}")
        if r.random() < 0.7:
            out.append(f"\n{m.company(d.company[0], d.company[1], d.company_ctx)}")
    return "".join(out)


def _issue(d: Draft, m: Marks) -> str:
    m.col = "Issue_Plain_Text__c"
    r = m.r
    who = f"Customer {m.name(d.requester or d.contact)}" if r.random() < 0.5 else "Customer"
    sym = d.issue.symptom.format(where=d.where, err=m.keep("error_code", d.errs[0]))
    codes = ", ".join([m.keep("error_code", e) for e in d.errs])
    return (f"{who} reports {d.title.lower()} on {m.keep('product', d.product.name)} "
            f"SN {m.keep('serial', d.serial)}. {sym}. Error codes: {codes}.")


def _cause(d: Draft, m: Marks) -> str:
    m.col = "Cause_Plain_Text__c"
    text = d.issue.cause.format(where=d.where)
    if m.r.random() < 0.5:
        return f"{text} (confirmed from AHS log). See {m.keep('kb_id', d.kb)}."
    return f"{text}."


def _environment(d: Draft, m: Marks) -> str:
    m.col = "GSD_Environment_Plain_Text__c"
    r = m.r
    fw = "; ".join([f"{label} {m.keep('firmware', ver)}" for label, ver in d.firmware])
    lines = [f"Product: {m.keep('product', d.product.name)} ({m.keep('part_number', d.product.number)})",
             f"Serial Number: {m.keep('serial', d.serial)}",
             f"OS/Environment: {d.os}",
             f"Firmware: {fw}"]
    if r.random() < 0.4:
        s = d.site
        lines.append(f"Site: {m.street(s)}, {m.city(s)} {m.postal(s)}, "
                     f"{m.pii('LOCATION', s.country, s.ctx)}")
    if r.random() < 0.5:
        lines.append(f"Customer: {m.company(d.company[0], d.company[1], d.company_ctx)}")
    if r.random() < 0.4:
        lines.append(f"Contact: {m.name(d.contact)} {m.phone(d.contact)}")
    return "\n".join(lines)


def _resolution_html(d: Draft, m: Marks) -> str:
    m.col = "Resolution__c"
    r = m.r
    if r.random() < 0.15:
        return f"<p>Engineer visited site and replaced faulty {d.issue.component} module.</p>"
    items = [f"<li>Action: {d.issue.action} &amp; verified health in iLO</li>"]
    if d.part:
        items.append(f"<li>Part used: {m.keep('part_number', d.part[0])} ({d.part[1]})</li>")
    label, ver = d.firmware[-1]
    items.append(f"<li>Firmware: {label} at {m.keep('firmware', ver)}</li>")
    html = f"<p>{_fix(d, m)}.</p><ul>{''.join(items)}</ul>"
    if r.random() < 0.5:
        return (f"{html}<p>Confirmed with {m.name(d.contact)} on&nbsp;{day_numeric(d.closed_at or d.modified)}."
                f"<br>Reference: {m.keep('kb_id', d.kb)}</p>")
    return f"{html}<p>Reference:&nbsp;{m.keep('kb_id', d.kb)}</p>"


def _resolution_plain(d: Draft, m: Marks) -> str:
    m.col = "Resolution_Plain_Text__c"
    out = [f"{_fix(d, m)}. Action: {d.issue.action}."]
    if d.part:
        out.append(f" Part used: {m.keep('part_number', d.part[0])}.")
    if m.r.random() < 0.3:
        out.append(f" Old part SN {m.keep('serial', d.sn_old)} returned.")
    if m.r.random() < 0.25:
        out.append(f" Customer {m.name(d.contact)} verified.")
    return "".join(out)


def _summary(d: Draft, m: Marks) -> str:
    m.col = "Case_Resolution_Summary__c"
    text = (f"{d.title} on {m.keep('product', d.product.name)} SN {m.keep('serial', d.serial)}. "
            f"Cause: {d.issue.cause.format(where=d.where)}. Resolution: {_fix(d, m)}. "
            f"Case {m.keep('case_number', d.number)} closed")
    if m.r.random() < 0.4:
        return f"{text} after {m.name(d.contact)} confirmed."
    return f"{text}."


def _close_comments(d: Draft, m: Marks) -> str:
    m.col = "Close_Comments__c"
    k = m.r.random()
    if k < 0.35:
        return "Customer confirmed resolution, OK to close."
    if k < 0.6:
        return f"Closed per {m.name(d.contact)} approval via email."
    if k < 0.8:
        return "No response from customer after 3 attempts; closing per policy."
    return f"Customer {m.first(d.contact)} confirmed system healthy; {m.keep('kb_id', d.kb)} shared."


def case_text(d: Draft, m: Marks) -> tuple[str | None, ...]:
    """The case's text columns in ``CASE_TEXT_COLUMNS`` order (None = not filled)."""
    r = m.r
    m.at("case", d.id, not d.deleted)
    closed = d.closed
    subject = _subject(d, m)
    description = _description(d, m) if r.random() < 0.97 else None
    issue = _issue(d, m) if r.random() < 0.85 else None
    cause = _cause(d, m) if r.random() < (0.75 if closed else 0.3) else None
    env = _environment(d, m) if r.random() < 0.7 else None
    if r.random() < 0.75:
        m.col = "Error_Codes__c"
        errors = "; ".join([m.keep("error_code", e) for e in d.errs])
    else:
        errors = None
    resolution = _resolution_html(d, m) if closed and r.random() < 0.9 else None
    plain = _resolution_plain(d, m) if closed and r.random() < 0.85 else None
    root = d.issue.root_cause if closed and r.random() < 0.8 else None
    summary = _summary(d, m) if closed and r.random() < 0.75 else None
    close = _close_comments(d, m) if closed and r.random() < 0.7 else None
    code = None
    if closed:
        code = "No Fault Found" if r.random() < 0.05 else d.issue.resolution_code
    return (subject, description, issue, cause, env, errors, resolution, plain, root,
            summary, close, code)
