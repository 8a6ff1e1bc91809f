"""``keras.utils.Progbar``: the progress bar for custom loops, in Keras's format and arithmetic.

``update(current, values)`` takes Keras's list of ``(name, value)`` pairs. A metric named in
``stateful_metrics`` is shown as given; any other is averaged over the steps seen, each value
weighted by the number of steps it covers (Keras's running mean). With ``stateless_metrics`` the
rule is inverted: only the metrics named there are averaged.

What is written, and where (through ``initium.utils.io_utils.print_msg``, so
``disable_interactive_logging`` routes it to the ``"initium"`` logger):

- on a terminal (``sys.stdout.isatty()``, or a Jupyter kernel's stdout), Keras's bytes exactly:
  ``"\\b" * previous width + "\\r"``, the count in bold, the bar's done part in green and the rest
  in grey, the ETA (or elapsed time when done) in bold, the time per unit, then `` - name: value``;
- anywhere else (a file, a pipe, a CI log) the same text without ANSI escape codes and without
  ``\\b``: each redraw starts with ``\\r`` (so the stream, shown or split on ``\\r``, ends with the
  latest state, as Keras's does) and the final one ends with a newline. Keras writes its colour
  codes and backspaces into pipes too, because it treats every POSIX system as a terminal;
- with interactive logging off, one plain line is logged when the bar is finalized.
- ``verbose=2`` writes one line at the end: ``3/3 - 0s - 5ms/step - loss: 0.1234``. As in Keras,
  that line prints a value with ``%.4f`` only when it is above 1e-3 (negatives use ``%.4e``).

The trainer's own bar (``initium.training.progress.Progbar``) shares the timing rules but reads
its values lazily, and in a pipe writes only its final line; this one follows
``keras.utils.Progbar``'s eager averaging, and its every redraw can be read back from a pipe.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from initium.training import progress as _progress
from initium.utils import io_utils

__all__ = ["Progbar"]


def _average_text(total: Any, count: int, any_sign: bool) -> str:
    """Keras's display of an accumulated metric: ``%.4f`` above 1e-3 (in absolute value if
    ``any_sign``), else ``%.4e``."""
    if not isinstance(total, float):
        total = np.mean(total)
    avg = total / max(1, count)
    big = abs(avg) > 1e-3 if any_sign else avg > 1e-3
    return f" {avg:.4f}" if big else f" {avg:.4e}"


class Progbar(_progress.Progbar):
    """Displays a progress bar (``keras.utils.Progbar``).

    Args:
        target: total number of steps expected, ``None`` if unknown.
        width: width of the bar in characters.
        verbose: 0 (silent), 1 (a bar), 2 (one line at the end).
        interval: minimum number of seconds between two redraws.
        stateful_metrics: names of metrics shown as given (not averaged over time).
        stateless_metrics: names of the only metrics to average (the others are shown as given).
            Pass at most one of the two.
        unit_name: the unit of the time per step (``"step"`` gives ``7ms/step``).

    >>> bar = Progbar(3, verbose=2)
    >>> for step in range(1, 4):
    ...     bar.update(step, [("loss", 1.0 / step)])
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1, interval: float = 0.05,
                 stateful_metrics: Iterable[str] | None = None, stateless_metrics: Iterable[str] | None = None,
                 unit_name: str = "step") -> None:
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Only one of `stateful_metrics` or `stateless_metrics` can be provided. "
                             "`stateful_metrics` lists the metrics shown as given (the others are averaged); "
                             "`stateless_metrics` lists the only metrics to average.")
        super().__init__(target, width=width, verbose=verbose, interval=interval, unit_name=unit_name)
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics is not None else (
            None if stateless_metrics is not None else set())
        self.stateless_metrics = set(stateless_metrics) if stateless_metrics is not None else None
        self._sums: dict[str, list[Any]] = {}  # name -> [weighted sum, weight]

    def update(self, current: int, values: Iterable[tuple[str, Any]] | Mapping[str, Any] | None = None,
               finalize: bool | None = None) -> None:
        """Record step ``current`` and the ``(name, value)`` pairs of the last step; draw when due.

        Args:
            current: index of the current step (the number of steps done).
            values: ``(name, value_for_last_step)`` pairs (or a mapping). A stateful metric is shown
                as given; the others are averaged over time.
            finalize: whether this is the last update; ``None`` means ``current >= target``.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._accumulate(current, values, finalize)
        self._seen_so_far = current
        now = time.time()
        time_per_unit = self._estimate_step_duration(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._show_bar(current, now, time_per_unit, finalize)
        elif self.verbose == 2 and finalize and self.target is not None and self.target > 0:
            numdigits = int(math.log10(self.target)) + 1
            line = (f"%{numdigits}d/%d" % (current, self.target) + f" - {now - self._start:.0f}s - "
                    + _progress.format_time_per_unit(time_per_unit, self.unit_name))
            line += "".join(f" - {k}:" + _average_text(*self._sums[k], any_sign=False) for k in self._values_order)
            io_utils.print_msg(line + "\n", line_break=False)
        self._last_update = now

    # ------------------------------------------------------------------ internals
    def _accumulate(self, current: int, values: Any, finalize: bool) -> None:
        items = values.items() if isinstance(values, Mapping) else (values or [])
        for name, value in items:
            if name not in self._values_order:
                self._values_order.append(name)
            if self.stateful_metrics is not None:
                averaged = name not in self.stateful_metrics
            else:
                averaged = name in self.stateless_metrics
            if not averaged or finalize:
                # A stateful value is "the average of one value"; at finalize Keras also resets an
                # averaged metric to the value given (the epoch's final, already-averaged number).
                self._sums[name] = [value, 1]
                continue
            steps = max(current - self._seen_so_far, 1)
            if name in self._sums:
                self._sums[name][0] += value * steps
                self._sums[name][1] += steps
            else:
                self._sums[name] = [value * steps, steps]

    def _show_bar(self, current: int, now: float, time_per_unit: float, finalize: bool) -> None:
        if not io_utils.is_interactive_logging_enabled():
            if finalize:  # a logger gets the final line only
                io_utils.print_msg(self._line(current, now, time_per_unit, finalize, color=False)[0])
            return
        terminal = _progress._is_dynamic(self.stream)
        text, width = self._line(current, now, time_per_unit, finalize, color=terminal)
        erase = "\b" * self._prev_total_width if terminal else ""
        text = erase + "\r" + text + " " * max(0, self._prev_total_width - width) + ("\n" if finalize else "")
        io_utils.print_msg(text, line_break=False)
        self._prev_total_width = width

    def _line(self, current: int, now: float, time_per_unit: float, finalize: bool, color: bool) -> tuple[str, int]:
        """The bar's text (with Keras's escape codes if ``color``) and its visible width."""
        def bold(text: str) -> str:
            return f"\x1b[1m{text}\x1b[0m" if color else text

        if self.target is not None and self.target > 0:
            numdigits = int(math.log10(self.target)) + 1
            count = f"%{numdigits}d/%d" % (current, self.target)
            done = min(self.width, max(0, int(self.width * (float(current) / self.target))))
            bar = bold(count) + " "
            if color:
                bar += (f"\x1b[32m{'━' * done}\x1b[0m" if done > 0 else "") + f"\x1b[37m{'━' * (self.width - done)}\x1b[0m"
            else:
                bar += "━" * self.width
            bar_width = len(count) + 1 + self.width
        else:
            bar = "%7d/Unknown" % current
            bar_width = len(bar)
        if self.target is not None and self.target > 0 and not finalize:
            when = _progress._format_eta(time_per_unit * (self.target - current))
        else:
            when = f"{now - self._start:.0f}s"
        info = " " + _progress.format_time_per_unit(time_per_unit, self.unit_name)
        info += "".join(f" - {k}:" + _average_text(*self._sums[k], any_sign=True) for k in self._values_order)
        return bar + " " + bold(when) + info, bar_width + 1 + len(when) + len(info)
