"""Deterministic object ids: a case always maps to the same store object.

uuid5 of the Salesforce case ``Id`` under a fixed namespace, so a rerun
overwrites the object it wrote before instead of adding a second one.
"""

from __future__ import annotations

import uuid

__all__ = ["OBJECT_ID_NAMESPACE", "object_uuid"]

OBJECT_ID_NAMESPACE = uuid.UUID("6f1f5a52-7a43-5b8e-9d0e-2c1f3c6a9b10")


def object_uuid(case_id: str) -> str:
    """The store object id of a case, as a canonical uuid string."""
    return str(uuid.uuid5(OBJECT_ID_NAMESPACE, case_id))
