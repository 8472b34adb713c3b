"""Progress of long runs on stderr, drawn by tqdm: one bar per call that trains.

In a terminal the bar is redrawn in place; in a log that is not a terminal (CI, ``make test >
log``) it is redrawn at most every :data:`LOG_INTERVAL` seconds on the same line, so a log
holds a handful of updates, not one line per chunk. Used as a context manager, the bar ends its
line when the work stops, so an error is printed on a line of its own.
"""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

__all__ = ["LOG_INTERVAL", "ProgressBar", "progress_bar"]

#: Seconds between redraws where stderr is not a terminal.
LOG_INTERVAL = 30.0


class ProgressBar:
    """Call ``bar(done, total, from_store=None)`` after each chunk.

    ``done`` counts every run finished, those read from the store (``from_store``) too; the
    rate and the time left count only the runs trained here, from the moment the bar was made.
    The bar is drawn from the first call and closed when ``done`` reaches ``total`` or the
    ``with`` block ends.
    """

    def __init__(self, desc: str = "training") -> None:
        self.desc = desc
        self._bar: tqdm | None = None
        self._start = time.time()  # tqdm's clock

    def __call__(self, done: int, total: int, from_store: int | None = None) -> None:
        if self._bar is None:
            interactive = sys.stderr.isatty()
            self._bar = tqdm(
                desc=self.desc,
                total=total,
                initial=from_store or 0,
                unit="run",
                file=sys.stderr,
                mininterval=0.5 if interactive else LOG_INTERVAL,
                maxinterval=10.0 if interactive else LOG_INTERVAL,
                dynamic_ncols=interactive,
                ascii=not interactive,
            )
            self._bar.start_t = self._bar.last_print_t = self._start
        if from_store:
            self._bar.set_postfix_str(f"{from_store} from the store", refresh=False)
        self._bar.update(done - self._bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        """End the bar's line (once)."""
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(desc: str = "training") -> ProgressBar:
    """A :class:`ProgressBar` on stderr, its clock started now."""
    return ProgressBar(desc)
