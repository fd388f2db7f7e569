"""What a removed value is replaced with: a placeholder or a keyed pseudonym.

``placeholder`` replaces every value of an entity type with the same token
(``<PERSON>``, ``<EMAIL_ADDRESS>``...). ``pseudonym`` keeps the fact that two
mentions are the same value without revealing it: ``<PERSON_3f2a>`` where
``3f2a`` starts the HMAC-SHA256, under a secret key, of the case id and the
normalised value. So within one case every variant of a context value
("John Smith", "SMITH, John", "J. Smith") and every spelling of a detected
value maps to one token, while the same value in another case, or under
another key, gets an unrelated token (cases cannot be linked through it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Literal

__all__ = ["Operator", "Replacer", "normalise_value"]

Operator = Literal["placeholder", "pseudonym"]

_PSEUDONYM_HEX_DIGITS = 4
_WHITESPACE = re.compile(r"\s+")


def normalise_value(entity: str, text: str) -> str:
    """Identity of a detected value: digits for numbers, case-folded words otherwise."""
    if entity in {"PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE"}:
        digits = "".join(ch for ch in text if ch.isalnum()).casefold()
        return f"{entity}:{digits[-10:] if entity == 'PHONE_NUMBER' else digits}"
    return f"{entity}:{_WHITESPACE.sub(' ', text.strip()).casefold()}"


class Replacer:
    """Makes replacement tokens for one operator (and key, for pseudonyms)."""

    def __init__(self, operator: Operator, key: bytes | None = None) -> None:
        if operator == "pseudonym" and not key:
            raise ValueError("operator 'pseudonym' needs a pseudonym_key (expected a non-empty secret)")
        if operator not in ("placeholder", "pseudonym"):
            raise ValueError(f"operator must be 'placeholder' or 'pseudonym', got {operator!r}")
        self._operator = operator
        self._key = key

    def token(self, entity: str, value_key: str, case_id: str) -> str:
        """Replacement for a value of ``entity`` identified by ``value_key``."""
        if self._operator == "placeholder":
            return f"<{entity}>"
        message = f"{case_id}\x1f{value_key}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).hexdigest()
        return f"<{entity}_{digest[:_PSEUDONYM_HEX_DIGITS]}>"
