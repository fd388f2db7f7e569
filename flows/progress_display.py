"""The command line's progress display: done of total and rate, per stage."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["RichProgress"]


class _RateColumn(TextColumn):
    def __init__(self) -> None:
        super().__init__("")

    def render(self, task):  # noqa: D102 - rich API
        from rich.text import Text

        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} cases/s" if speed else "", style="progress.data.speed")


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
