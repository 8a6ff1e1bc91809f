"""Keras's progress bar, without the per-step device synchronization.

``Progbar`` draws Keras's line::

    4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 7ms/step - accuracy: 0.4375 - loss: 1.2054

Differences from ``keras.utils.Progbar``, all deliberate:

- **Lazy values.** ``update(current, values)`` only keeps a reference to ``values`` (usually a
  :class:`initium.callbacks.LazyLogs`); the mapping is read when a line is actually drawn: at most
  once every ``interval`` seconds on a terminal, and once at ``finalize``. The training loop can
  therefore call ``update`` every step without forcing the device to synchronize.
- **Values are shown as given** (Keras's ``ProgbarLogger`` passes ``stateless_metrics=set()``, which
  gives the same result): the trainer's logs are already running averages.
- **Terminals and pipes.** On a terminal (``stream.isatty()``, or a Jupyter kernel's stdout) the line
  is redrawn in place with ``\\r`` (colours as Keras's, unless ``NO_COLOR`` is set). Anywhere else
  (a file, a pipe, a CI log) nothing is written until ``finalize``, and then ONE plain line: no ANSI
  escape codes, no ``\\r``, no ``\\b`` (Keras writes all three into pipes).
- ``verbose=2`` prints one line at ``finalize``: ``4/4 - 0s - 7ms/step - loss: 0.1234``. Keras's
  verbose=2 path formats a value with ``%.4f`` only when ``v > 1e-3`` (so negatives become
  ``-5.0000e-01``); here both modes use ``|v| > 1e-3``.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, Iterable, TextIO

import numpy as np

__all__ = ["Progbar", "format_value", "format_time_per_unit"]


def format_value(value: Any) -> str:
    """Keras's metric format: ``%.4f`` when ``|v| > 1e-3``, else ``%.4e``; arrays show their mean."""
    if isinstance(value, str):
        return value
    if not isinstance(value, float):
        value = np.mean(value)
    value = float(value)
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def format_time_per_unit(seconds: float, unit_name: str = "step") -> str:
    """``7ms/step``, ``2s/step`` or ``350us/step``, as Keras formats the time per unit."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1000.0:.0f}ms/{unit_name}"
    return f"{seconds * 1000000.0:.0f}us/{unit_name}"


def _format_eta(eta: float) -> str:
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


def _is_dynamic(stream: Any) -> bool:
    """Whether ``stream`` can redraw a line in place: a terminal, or a Jupyter kernel's output."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False
    return "ipykernel" in sys.modules and type(stream).__module__.startswith("ipykernel")


class Progbar:
    """Displays a progress bar (Keras's ``keras.utils.Progbar`` format).

    Args:
        target: total number of steps expected; ``None`` if unknown (then ``N/Unknown`` is shown).
        width: width of the bar in characters.
        verbose: 0 (silent), 1 (a bar), 2 (one line at ``finalize``).
        interval: minimum number of seconds between two redraws on a terminal. ``values`` is read
            at most that often (plus once at ``finalize``).
        stream: where to write; ``None`` means ``sys.stdout`` (looked up at each write).
        unit_name: the unit of the time per step (``"step"`` gives ``7ms/step``).
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1, interval: float = 0.25,
                 stream: TextIO | None = None, unit_name: str = "step") -> None:
        if target is not None and (isinstance(target, bool) or not isinstance(target, (int, np.integer))
                                   or target < 0):
            raise ValueError(f"Progbar: `target` must be a non-negative integer or None. Received: target={target!r}")
        if verbose not in (0, 1, 2):
            raise ValueError(f"Progbar: `verbose` must be 0, 1 or 2. Received: verbose={verbose!r}")
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"Progbar: `width` must be a positive integer. Received: width={width!r}")
        self.target = None if target is None else int(target)
        self.width = width
        self.verbose = verbose
        self.interval = float(interval)
        self.unit_name = unit_name
        self._stream = stream
        self._values: dict[str, Any] = {}
        self._values_order: list[str] = []
        self._pending: Any = None  # the latest `values` given, not read yet
        self._seen_so_far = 0
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step: float | None = None
        self._prev_total_width = 0

    # ------------------------------------------------------------------ public API
    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    def update(self, current: int, values: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
               finalize: bool | None = None) -> None:
        """Record progress ``current`` and (lazily) the ``values`` to show; draw when due.

        Args:
            current: index of the current step (1-based: the number of steps done).
            values: a mapping ``name -> value`` (read only when a line is drawn), or Keras's list of
                ``(name, value)`` pairs. Shown in the order given; names seen earlier keep their place.
            finalize: whether this is the last update. ``None`` means ``current >= target``.
        """
        if finalize is None:
            finalize = False if self.target is None else current >= self.target
        if values is not None:
            self._pending = values
        self._seen_so_far = current
        now = time.time()
        time_per_unit = self._estimate_step_duration(current, now)
        if self.verbose == 1:
            dynamic = _is_dynamic(self.stream)
            if not finalize and (not dynamic or now - self._last_update < self.interval):
                return
            self._absorb_values()
            self._draw_bar(current, now, time_per_unit, finalize, dynamic)
        elif self.verbose == 2 and finalize and self.target is not None and self.target > 0:
            self._absorb_values()
            numdigits = int(math.log10(self.target)) + 1
            line = f"%{numdigits}d/%d - {now - self._start:.0f}s - {format_time_per_unit(time_per_unit, self.unit_name)}" % (
                current, self.target)
            self._write(line + self._values_text() + "\n")
        self._last_update = now

    def add(self, n: int, values: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        """``update(seen_so_far + n, values)``."""
        self.update(self._seen_so_far + n, values)

    # ------------------------------------------------------------------ internals
    def _absorb_values(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        items = pending.items() if isinstance(pending, Mapping) else pending
        for k, v in items:
            if k not in self._values:
                self._values_order.append(k)
            self._values[k] = v

    def _values_text(self) -> str:
        return "".join(f" - {k}: {format_value(self._values[k])}" for k in self._values_order)

    def _draw_bar(self, current: int, now: float, time_per_unit: float, finalize: bool, dynamic: bool) -> None:
        color = dynamic and "NO_COLOR" not in os.environ

        def style(text: str, code: str) -> str:
            return f"\x1b[{code}m{text}\x1b[0m" if color else text

        if self.target is not None and self.target > 0:
            numdigits = int(math.log10(self.target)) + 1
            count = f"%{numdigits}d/%d" % (current, self.target)
            done = min(self.width, max(0, int(self.width * (float(current) / self.target))))
            bar_plain = f"{count} " + "━" * self.width
            bar = style(count, "1") + " " + (style("━" * done, "32") if done > 0 else "") + style(
                "━" * (self.width - done), "37")
        else:
            bar = bar_plain = "%7d/Unknown" % current
        if self.target is not None and self.target > 0 and not finalize:
            when = _format_eta(time_per_unit * (self.target - current))
        else:
            when = f"{now - self._start:.0f}s"
        info_plain = f" {when} {format_time_per_unit(time_per_unit, self.unit_name)}" + self._values_text()
        info = f" {style(when, '1')} {format_time_per_unit(time_per_unit, self.unit_name)}" + self._values_text()
        total_width = len(bar_plain) + len(info_plain)
        if dynamic:
            pad = " " * max(0, self._prev_total_width - total_width)
            self._write("\r" + bar + info + pad + ("\n" if finalize else ""))
        else:
            self._write(bar + info + "\n")
        self._prev_total_width = total_width

    def _write(self, text: str) -> None:
        stream = self.stream
        stream.write(text)
        try:
            stream.flush()
        except (AttributeError, ValueError):
            pass

    def _estimate_step_duration(self, current: int, now: float) -> float:
        """Keras's estimate: the first step (compilation, warm-up) is left out once there are more."""
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            time_per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            time_per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return time_per_unit
