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

import re
import unicodedata
from collections.abc import Iterable


__all__ = [
    "COMMON_WORD_NAMES",
    "FUNCTION_WORDS",
    "NAME_PART_STOPWORDS",
    "NON_NAME_WORDS",
    "NOT_A_NAME",
    "SUPPORT_WORDS",
    "fold",
    "is_not_a_name",
    "names_in_addresses",
]


def fold(word: str) -> str:
    """A word as compared: case-folded, accents dropped ("Amélie" -> "amelie", "MÜLLER" -> "muller")."""
    folded = word.casefold()
    if folded.isascii():
        return folded
    return "".join(ch for ch in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(ch))



#: Words that make no person, company or place on their own: function words,
#: titles, name particles, roles and support vocabulary. A context value made
#: only of these ("HPE Support", "Customer Service") is not treated as PII.
NON_NAME_WORDS: frozenset[str] = frozenset(
    """
    a an the and or of to in on at by for from with as is it be no not so up
    we us our you your he she they me my mr mrs ms miss dr prof sir jr sr ii iii
    de da di du la le van von der den del della dos das
    hpe hp support team service services desk center centre help admin
    administrator user customer client partner engineer field onsite tech
    technical manager operations ops sales info contact noreply reply system
    systems global group solutions international it network unknown none null
    na test
    """.split()
)

#: First or last names that are also everyday words of support texts: removed
#: as part of a full name ("Mark Power"), never on their own ("mark the power
#: supply").
COMMON_WORD_NAMES: frozenset[str] = frozenset(
    """
    case will may mark bill grant chase page price power port drive disk memory
    fan board card slot rack bay box array smart link boot switch cable storage
    server hall king long little young stone wood read reading cook baker
    hunter rose hope joy summer miles lane dean gene drew frank june april
    august monday friday sunday new old call message email mail phone mobile
    office home work order
    """.split()
)

#: Name parts never removed on their own.
NAME_PART_STOPWORDS: frozenset[str] = NON_NAME_WORDS | COMMON_WORD_NAMES

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
    contract controller controllers cpu customer customers data datacenter date defect degraded details
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
    work workorder facilities facility lead noc soc billing finance accounts payable receivable procurement
    purchasing legal security reception helpdesk servicedesk hr payroll it-support
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
    return fold(word) in NOT_A_NAME


_LOCAL_PART_SEPARATORS = re.compile(r"[._-]+")


def names_in_addresses(addresses: Iterable[str]) -> list[str]:
    """The person names that e-mail addresses spell: "zoltan.farkas@x.hu" -> "zoltan farkas".

    Only local parts of two or three alphabetic parts ("first.last",
    "j_smith", "anna-maria.lopez"), none of them a non-name word (so
    "it-helpdesk" and "sales.team" give nothing); a "+tag" is ignored. Single
    tokens ("jdoe") cannot be split and give nothing.
    """
    names: list[str] = []
    for address in addresses:
        local = address.split("@", 1)[0].split("+", 1)[0]
        parts = [p for p in _LOCAL_PART_SEPARATORS.split(local) if p]
        if not 2 <= len(parts) <= 3 or not all(p.isalpha() for p in parts) or all(len(p) == 1 for p in parts):
            continue
        if any(fold(p) in NOT_A_NAME for p in parts):
            continue
        names.append(" ".join(parts))
    return list(dict.fromkeys(names))
