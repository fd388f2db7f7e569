"""Words that end a name or an organisation found by a table rule.

Table rules (``pii_table_rules``) find names by their shape after a trigger
("Spoke with John Smith", "CE: Jessica Issue: ..."): capitalised words. The
shape alone also takes the words that follow a name ("Issue", "Monday") or
stand where a name could ("Spoke with Support"). A candidate is trimmed of
such words at both ends; a lower-case candidate is dropped when any of its
words is one. These lists are that filter: function words, support and
hardware vocabulary, days and months. Ordinary first names that are also
words ("Mark", "Frank") are deliberately absent: after a trigger they are
names.
"""

from __future__ import annotations

from blocks.pii_context_variants import NON_NAME_WORDS

__all__ = ["FUNCTION_WORDS", "NOT_A_NAME", "SUPPORT_WORDS", "is_not_a_name"]

#: English function words, greetings and closings.
FUNCTION_WORDS: frozenset[str] = frozenset(
    """
    a about above after again against all also am among an and any are as at be because been before
    being below between both but by can could did do does doing done down during each either else
    every few for from further had has have having he her here hers herself him himself his how i if
    in into is it its itself just let me more most much must my myself neither no nor not now of off
    on once only or other our ours ourselves out over own per please same she should since so some
    such than that the their theirs them themselves then there these they this those though through
    thus till to too under until up upon us very via was we were what when where whether which while
    who whom whose why will with within without would yet you your yours yourself yourselves
    again already always another anyone anything back even ever here hi hello hey dear thanks thank
    regards best kind warm many cheers sincerely yes ok okay via re fw fwd cc bcc attn attention
    """.split()
)

#: Support and hardware vocabulary (also what a street name is not made of).
SUPPORT_WORDS: frozenset[str] = frozenset(
    """
    account action actions activity agent ahs alert alerts analyst approval approve approved
    array arrived asset assigned assist backup bay bays bios blade board boot build cable cage call
    callback called caller calls card case cases cause change changed check checked chassis client
    closed closing cluster code codes comment comments company confirmed console contact contacted
    contract controller controllers cpu customer customers data datacenter date defect degraded
    department desk device devices diagnostics dimm dimms disk disks dispatch dispatched drive drives
    driver email emails enclosure engineer engineering engineers entitlement environment error errors
    escalation event events failed failure fan fans feed field fieldservice firmware fix fixed
    flash follow frame gen hard hardware health healthy host hosts hotline ilo iml incident info
    install installed inventory invoice issue issues kb knowledge lab level license link log logs
    maintenance manager memory message model module monitoring network node nodes note notes nvme
    office onsite operations optical order outage owner pack panel part parts partner patch pending
    planned platform policy portal post power problem procedure product queue rack raid reboot
    replace replaced replacement report reports request requested reseller resolution resolved
    response rma sas sata schedule scheduled serial server servers service services session ship
    shipped site slot smart software spare ssd staff status storage subject summary supply support
    switch system systems tape task team tech technical technician test ticket title tool tracking
    transfer update updated upgrade upload uploaded user users vendor visit voicemail warranty window
    work workorder
    """.split()
)

_CALENDAR_WORDS = frozenset(
    """
    monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat
    sun january february march april june july august september october november december jan feb
    mar apr jun jul aug sep sept oct nov dec today tomorrow yesterday morning afternoon evening night
    week weekend month year
    """.split()
)

#: Case-folded words that are never (part of) a name found by shape alone.
NOT_A_NAME: frozenset[str] = NON_NAME_WORDS | FUNCTION_WORDS | SUPPORT_WORDS | _CALENDAR_WORDS


def is_not_a_name(word: str) -> bool:
    """Whether ``word`` (any casing) is in ``NOT_A_NAME``."""
    return word.casefold() in NOT_A_NAME
