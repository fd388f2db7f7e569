"""Errors raised by blocks, marked transient or terminal.

Retry and fallback policy reads the error's type, never its message::

    PipelineBlockError
    ├── TransientServiceError        retry later / fall back / queue
    │   ├── EmbedderUnavailable      (also a ConnectionError)
    │   └── StoreUnavailable         (also a ConnectionError)
    └── TerminalServiceError         stop and tell a person
        ├── EmbedderRejected         (bad credentials, bad request, bad answer)
        ├── StoreSchemaMismatch      (existing collection differs; nothing changed)
        ├── StoreDamaged             (a store's own files are missing or unreadable)
        ├── StagingUnreadable        (a staging location that cannot be read)
        └── PiiRedactionError        (a batch could not be redacted; names ids, never text)
"""

from __future__ import annotations

__all__ = [
    "PipelineBlockError",
    "TransientServiceError",
    "TerminalServiceError",
    "EmbedderUnavailable",
    "EmbedderRejected",
    "StoreUnavailable",
    "StoreSchemaMismatch",
    "StoreDamaged",
    "StagingUnreadable",
    "PiiRedactionError",
]


class PipelineBlockError(Exception):
    """Base of every error a block raises on purpose."""

    transient: bool = False


class TransientServiceError(PipelineBlockError):
    """The service may answer later: retry, fall back or queue."""

    transient = True


class TerminalServiceError(PipelineBlockError):
    """Retrying will not help: a person must act."""


class EmbedderUnavailable(TransientServiceError, ConnectionError):
    """The embedding service did not answer usefully (outage, 5xx, timeout)."""


class EmbedderRejected(TerminalServiceError, ValueError):
    """The embedding service refused the request or answered nonsense."""


class StoreUnavailable(TransientServiceError, ConnectionError):
    """The vector store is unreachable, timing out or answering 5xx."""


class StoreSchemaMismatch(TerminalServiceError, ValueError):
    """An existing collection is configured differently from what we need."""


class StoreDamaged(TerminalServiceError):
    """Files the store itself wrote are missing or unreadable (e.g. an embedded store's vector segment)."""


class StagingUnreadable(TerminalServiceError, OSError):
    """A staging location is missing or cannot be read."""


class PiiRedactionError(TerminalServiceError, ValueError):
    """A batch could not be redacted. Names case ids and columns, never text."""
