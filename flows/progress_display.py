"""The command line's progress display: done of total and rate, per stage."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["RichProgress"]


class _RateColumn(TextColumn):
    """Cases per second since the stage started.

    Not rich's own ``speed``: that is taken over the last few updates, and a
    stage that reports its work in one or two large steps (embed on a fast
    model) showed millions of cases per second.
    """

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task):  # noqa: D102 - rich API
        from rich.text import Text

        return Text(_rate_text(task.completed, task.elapsed), style="progress.data.speed")


def _rate_text(completed: float, elapsed: float | None) -> str:
    """``"1,234 cases/s"`` over the whole stage so far; empty until there is something to show."""
    if not completed or not elapsed or elapsed < 0.05:
        return ""
    return f"{completed / elapsed:,.0f} cases/s"


class RichProgress:
    """Implements ``stages.progress.Progress`` with a rich progress bar on stderr."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._task = None

    def start(self, stage: str, total: int) -> None:
        self.finish()
        self._progress = Progress(
            TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(), _RateColumn(),
            TimeElapsedColumn(), console=self._console, transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(stage, total=total)

    def advance(self, done: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, done)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
