"""Free text of tasks and case comments: the engineer's working notes.

Tasks follow their type (a Plan of Action lists steps and the part needed, a
Call names who was called on which number); comments are short log lines
("Spoke with <name>, ...") where the customer's name, phone and e-mail turn up
in the forms engineers type them, and now and then a card number a customer
read out on the phone.
"""

from __future__ import annotations

from generator.clock import DAY_US, day_numeric
from generator.marks import Marks
from generator.people import card_number, iban, us_ssn
from generator.plan import Child, Draft

__all__ = ["task_text", "comment_text"]

_OUTCOMES = (
    "customer agrees with the action plan",
    "will upload the AHS log today",
    "confirmed the server is healthy after the replacement",
    "requested the onsite visit for tomorrow morning",
    "asked to keep the case open until the weekend change window",
    "reports the error has not returned since the firmware update",
)
_CALL_RESULTS = (
    "left voicemail", "no answer, will retry in 2 hours",
    "customer confirmed the maintenance window", "walked through the iLO log download",
)


def _plan_of_action(d: Draft, m: Marks) -> tuple[str, str]:
    r = m.r
    m.col = "Subject"
    if r.random() < 0.6:
        subject = f"Plan of Action - {d.title}"
    else:
        subject = f"POA: {d.issue.action} (Case {m.keep('case_number', d.number)})"
    m.col = "Description"
    steps = ["1. Collect AHS log and IML from iLO"]
    if d.part:
        steps.append(f"2. Part needed: Yes - Part Number {m.keep('part_number', d.part[0])} ({d.part[1]})")
    else:
        steps.append("2. Part needed: No")
    if r.random() < 0.5:
        s = d.site_contact
        steps.append(f"3. Dispatch CE to site, contact {m.name(s)} {m.phone(s)}")
    else:
        steps.append("3. Remote action only, no dispatch")
    label, ver = d.firmware[-1]
    steps.append(f"4. Verify {label} {m.keep('firmware', ver)} per {m.keep('kb_id', d.kb)}")
    return subject, "\n".join(steps)


def _trouble_shooting(d: Draft, m: Marks) -> tuple[str, str]:
    m.col = "Subject"
    subject = f"Troubleshooting: {m.keep('error_code', d.errs[0])}"
    m.col = "Description"
    desc = (f"Reviewed AHS/IML for SN {m.keep('serial', d.serial)}. Found "
            f"{m.keep('error_code', d.errs[-1])} on {d.where}. Asked customer to reseat "
            f"the {d.issue.component} and rerun diagnostics. Refer {m.keep('kb_id', d.kb)}.")
    if m.r.random() < 0.2:
        desc += f" Customer contact {m.name(d.contact)} ran the test."
    return subject, desc


def _call(d: Draft, m: Marks) -> tuple[str, str]:
    r = m.r
    p = d.contact if r.random() < 0.8 else (d.requester or d.colleague)
    m.col = "Subject"
    subject = f"Call with {m.name(p)}" if r.random() < 0.5 else "Outbound call"
    m.col = "Description"
    result = _CALL_RESULTS[int(r.random() * len(_CALL_RESULTS))]
    return subject, f"Called {m.first(p)} on {m.phone(p)}; {result}."


def _email(d: Draft, m: Marks) -> tuple[str, str]:
    m.col = "Subject"
    subject = f"Email: Update on case {m.keep('case_number', d.number)}"
    m.col = "Description"
    return subject, f"Sent action plan and {m.keep('kb_id', d.kb)} to {m.email(d.contact)}."


def _follow_up(d: Draft, m: Marks) -> tuple[str, str]:
    m.col = "Subject"
    subject = f"Follow up - {m.keep('case_number', d.number)}"
    m.col = "Description"
    return subject, (f"Follow up with {m.first(d.contact)} regarding {d.title.lower()}; "
                     "waiting for the maintenance window.")


_TASKS = {
    "Plan of Action": _plan_of_action,
    "Trouble Shooting": _trouble_shooting,
    "Call": _call,
    "Email": _email,
    "Follow Up": _follow_up,
}


def task_text(d: Draft, t: Child, m: Marks) -> tuple[str, str]:
    """(Subject, Description) of one task."""
    m.at("task", t.id, t.live)
    return _TASKS[t.kind](d, m)


def comment_text(d: Draft, c: Child, m: Marks) -> str:
    """CommentBody of one case comment."""
    m.at("casecomment", c.id, c.live)
    m.col = "CommentBody"
    r = m.r
    p = d.contact if r.random() < 0.75 else (d.requester or d.contact)
    k = r.random()
    if k < 0.25:
        return f"Spoke with {m.name(p)}, {_OUTCOMES[int(r.random() * len(_OUTCOMES))]}."
    if k < 0.35:
        return f"Left voicemail for {m.first(p)} at {m.phone(p)}."
    if k < 0.5:
        return (f"Customer uploaded AHS log; shows {m.keep('error_code', d.errs[0])} on {d.where}. "
                f"SN {m.keep('serial', d.serial)}.")
    if k < 0.6:
        return (f"Internal: escalated to L2, {m.keep('kb_id', d.kb)} applies to "
                f"{m.keep('product', d.product.name)}.")
    if k < 0.68:
        return (f"Per email from {m.email(p)}: customer approves downtime on "
                f"{day_numeric(c.created + DAY_US)} 22:00.")
    if k < 0.75:
        return f"Customer requested callback on {m.phone(p)} (ask for {m.name(d.colleague)})."
    if k < 0.82:
        what = m.keep("part_number", d.part[0]) if d.part else m.keep("firmware", d.firmware[0][1])
        return f"{'Part' if d.part else 'Firmware'} {what} arranged for SN {m.keep('serial', d.serial)}; " \
               f"ETA {day_numeric(c.created + 2 * DAY_US)}."
    if k < 0.86:
        return f"{('Mr.', 'Ms.')[int(r.random() * 2)]} {m.last(p)} asked for a status update."
    if k < 0.875:
        return (f"Customer read out card {m.pii('CREDIT_CARD', card_number(r), False)} for the "
                "out-of-warranty quote; advised not to share card data in cases.")
    if k < 0.88:
        return f"Refund requested to IBAN {m.pii('IBAN_CODE', iban(r), False)}, forwarded to billing."
    if k < 0.882:
        return f"Customer gave SSN {m.pii('US_SSN', us_ssn(r), False)} for entitlement check; not needed."
    if k < 0.93:
        return (f"Spoke with {m.first(p)} from {m.company(d.company[0], d.company[1], d.company_ctx)}; "
                f"case {m.keep('case_number', d.number)} stays open.")
    return f"Case {m.keep('case_number', d.number)} reviewed; waiting on customer."
