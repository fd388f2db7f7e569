"""Salesforce-style record ids, case numbers and work-order numbers.

Ids are derived from (table, case index, child slot), never from a running
counter, so a case generates the same ids whatever the chunk size and
whichever worker builds it. The number is scrambled by a bijection modulo
62**9 (multiplication by a unit), so ids look random yet never collide, and
"phantom" numbers (for orphan parents) live in a separate half of the space
that real records never reach.

The 18-character form carries Salesforce's case-safe suffix: for each
5-character block of the 15-character id, a bitmask of upper-case letters
indexes ``ABCDEFGHIJKLMNOPQRSTUVWXYZ012345``.
"""

from __future__ import annotations

__all__ = [
    "SalesforceIds",
    "ID_PREFIXES",
    "SLOTS_PER_CASE",
    "case_number",
    "workorder_number",
    "ORG_ID",
]

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_SPACE = 62**9
_TRIPLE = 62**3
_TRIPLE2 = _TRIPLE * _TRIPLE
#: Child rows of one table per case are numbered case_index * SLOTS + slot.
SLOTS_PER_CASE = 64
_PHANTOM_BASE = _SPACE // 2

ID_PREFIXES: dict[str, str] = {
    "case": "500",
    "task": "00T",
    "workorder": "0WO",
    "casecomment": "00a",
    "emailmessage": "02s",
    "workorderfeed": "0D5",
    "account": "001",
    "user": "005",
}
#: Organisation id used in e-mail thread references.
ORG_ID = "00Dd00bUlK"

# (multiplier, offset) per prefix: units modulo 62**9 (odd, not divisible by 31).
_SCRAMBLE: dict[str, tuple[int, int]] = {
    "500": (6_700_417_003, 118_004_512_377),
    "00T": (2_147_483_659, 977_012_334_001),
    "0WO": (4_294_967_311, 45_112_908_777),
    "00a": (1_000_000_007, 5_540_012_093),
    "02s": (998_244_353, 301_744_560_029),
    "0D5": (3_037_000_493, 712_003_004_119),
    "001": (7_919_000_011, 81_117_300),
    "005": (6_364_136_223, 2_024_000_013),
}


def _triples() -> tuple[list[str], list[int]]:
    """All 3-character base-62 strings and their upper-case bitmasks."""
    digits = _ALPHABET
    upper = [1 if c.isupper() else 0 for c in digits]
    text, mask = [], []
    for a in range(62):
        for b in range(62):
            ab, mab = digits[a] + digits[b], upper[a] | upper[b] << 1
            for c in range(62):
                text.append(ab + digits[c])
                mask.append(mab | upper[c] << 2)
    return text, mask


class SalesforceIds:
    """Builds 18-character ids; one instance per process (its tables take ~0.1 s)."""

    def __init__(self, pod: str = "Kh") -> None:
        self._text, self._mask = _triples()
        self._shared: dict[tuple[str, int], str] = {}
        #: table -> (first 6 characters, first suffix character, multiplier, offset)
        self._table: dict[str, tuple[str, str, int, int]] = {}
        for table, prefix in ID_PREFIXES.items():
            head = prefix + pod
            bits = sum(1 << i for i, ch in enumerate(head) if ch.isupper())
            self._table[table] = (head + "0", _SUFFIX[bits], *_SCRAMBLE[prefix])

    def make(self, table: str, number: int) -> str:
        """The id of record ``number`` (0 <= number < 62**9 / 2) of ``table``."""
        head, s1, mult, off = self._table[table]
        hi, rest = divmod((number * mult + off) % _SPACE, _TRIPLE2)
        mid, lo = divmod(rest, _TRIPLE)
        text, mask = self._text, self._mask
        m1 = mask[mid]
        s2 = _SUFFIX[(mask[hi] << 1) | ((m1 & 1) << 4)]
        s3 = _SUFFIX[(m1 >> 1) | (mask[lo] << 2)]
        return f"{head}{text[hi]}{text[mid]}{text[lo]}{s1}{s2}{s3}"

    def shared(self, table: str, number: int) -> str:
        """Id of a record many cases point at (account, user): built once, then cached."""
        key = (table, number)
        found = self._shared.get(key)
        if found is None:
            found = self._shared[key] = self.make(table, number)
        return found

    def child(self, table: str, case_index: int, slot: int) -> str:
        """Id of the ``slot``-th row of ``table`` generated for case ``case_index``."""
        return self.make(table, case_index * SLOTS_PER_CASE + slot)

    def phantom(self, table: str, case_index: int, slot: int) -> str:
        """An id of ``table`` that no generated record has (an orphan's parent)."""
        return self.make(table, _PHANTOM_BASE + case_index * SLOTS_PER_CASE + slot)


def case_number(case_index: int) -> str:
    """10-digit case number, unique per case index (``5000100000`` upwards)."""
    return str(5_000_100_000 + case_index)


def workorder_number(case_index: int, slot: int) -> str:
    """``WO-`` plus at least 8 digits, unique per (case index, slot)."""
    return f"WO-{10_000 + case_index * 8 + slot:08d}"
