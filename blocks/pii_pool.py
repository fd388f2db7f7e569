"""A process pool that runs a redactor's batch methods on several cores.

PII removal is pure CPU work in Python, so one process uses one core. A
large batch is cut into slices that worker processes handle in order; each
worker builds its own redactor from the parent's configuration (with
``workers=1``, so it never starts a pool of its own) and its own presidio
analyzer on first use.

Workers start with ``forkserver`` by default: a fresh, single-threaded
server process imports the redactor once and forks the workers from itself.
That is safe in a process that already runs threads (Prefect's task runner,
DuckDB), unlike ``fork``, and only the server pays the import time (~5 s of
CPU), once per process, not every worker of every pool as with ``spawn``.
As with ``spawn``, workers import the caller's ``__main__``: a script that
redacts large batches needs the usual ``if __name__ == "__main__":`` guard.

Only configuration and Arrow batches cross the process boundary, never a
live analyzer. A worker's error reaches the caller as a
``PiiRedactionError`` with the worker's message (which never quotes text)
and without the remote traceback.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pyarrow as pa

from blocks.errors import PiiRedactionError

__all__ = ["RedactorPool", "slice_batch"]

logger = logging.getLogger(__name__)

#: Imported by the fork server before it forks workers.
_PRELOAD = "blocks.presidio_redactor"

#: The redactor of a worker process, built by ``_start_worker``. Only ever set
#: inside pool workers; the parent process keeps its state on the block.
_worker_redactor: Any = None


def _start_worker(class_path: str, config: dict) -> None:
    global _worker_redactor
    module, name = class_path.split(":")
    cls = getattr(importlib.import_module(module), name)
    _worker_redactor = cls(**config)


def _call_worker(method: str, batch: pa.RecordBatch) -> Any:
    return getattr(_worker_redactor, method)(batch)


def slice_batch(batch: pa.RecordBatch, parts: int) -> list[pa.RecordBatch]:
    """``batch`` cut into at most ``parts`` contiguous slices of near-equal size.

    Each slice is compacted: a plain slice pickles the whole batch's buffers.
    """
    rows = batch.num_rows
    parts = max(1, min(parts, rows))
    size, extra = divmod(rows, parts)
    slices, offset = [], 0
    for index in range(parts):
        length = size + (1 if index < extra else 0)
        slices.append(pa.concat_batches([batch.slice(offset, length)]))
        offset += length
    return slices


class RedactorPool:
    """Worker processes, each holding a copy of one redactor configuration."""

    def __init__(self, class_path: str, config: dict, workers: int, start_method: str = "forkserver") -> None:
        self._class_path = class_path
        self._config = dict(config, workers=1)
        self._workers = workers
        self._start_method = start_method
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def config(self) -> dict:
        """The configuration the workers build their redactor from."""
        return self._config

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                context = multiprocessing.get_context(self._start_method)
                if self._start_method == "forkserver":
                    # The server imports presidio once; workers fork from it ready to go.
                    # (Takes effect when this process starts its fork server, i.e. the first time.)
                    context.set_forkserver_preload([_PRELOAD, self._class_path.split(":")[0]])
                self._executor = ProcessPoolExecutor(
                    max_workers=self._workers,
                    mp_context=context,
                    initializer=_start_worker,
                    initargs=(self._class_path, self._config),
                )
            return self._executor

    def map(self, method: str, batch: pa.RecordBatch, parts_per_worker: int = 2) -> list[Any]:
        """``method`` of the redactor on slices of ``batch``, results in slice order.

        Raises ``BrokenProcessPool`` when the workers cannot start or die; the
        pool is closed then, and the caller decides whether to go on in-process.
        """
        slices = slice_batch(batch, self._workers * parts_per_worker)
        try:
            return list(self._pool().map(_call_worker, [method] * len(slices), slices))
        except BrokenProcessPool:
            self.close()
            raise
        except PiiRedactionError as exc:
            raise PiiRedactionError(str(exc)) from None  # drop the remote traceback
        except Exception as exc:  # noqa: BLE001 - a worker failed outside the redactor's own checks
            raise PiiRedactionError(
                f"PII worker process failed on a slice of {batch.num_rows} cases ({type(exc).__name__})"
            ) from None

    def close(self) -> None:
        """Stop the worker processes; a later ``map`` starts new ones."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
