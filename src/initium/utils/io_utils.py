"""Where Keras's utilities print: ``enable_interactive_logging`` and its switches.

With interactive logging on (the default) messages go to ``sys.stdout``; off, they go to the
``logging`` logger ``"initium"`` at INFO level (Keras sends them to ``absl.logging``), which is what
a batch job on a server wants. ``initium.utils.Progbar``, ``get_file`` and the directory datasets
print through ``print_msg``.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["enable_interactive_logging", "disable_interactive_logging", "is_interactive_logging_enabled",
           "print_msg"]

_state = {"interactive": True}


def enable_interactive_logging() -> None:
    """Print messages and progress bars to ``sys.stdout`` (the default)."""
    _state["interactive"] = True


def disable_interactive_logging() -> None:
    """Send messages to the ``logging`` logger ``"initium"`` instead of ``sys.stdout``."""
    _state["interactive"] = False


def is_interactive_logging_enabled() -> bool:
    """Whether messages go to ``sys.stdout`` (True) or to the ``"initium"`` logger (False)."""
    return _state["interactive"]


def print_msg(message: str, line_break: bool = True) -> None:
    """Write ``message`` to stdout (flushed), or log it when interactive logging is off."""
    if not is_interactive_logging_enabled():
        logging.getLogger("initium").info(message)
        return
    text = f"{message}\n" if line_break else message
    try:
        sys.stdout.write(text)
    except UnicodeEncodeError:  # a stdout that cannot encode the bar's U+2501: write what it can
        encoding = sys.stdout.encoding or "utf-8"
        sys.stdout.write(text.encode(encoding, errors="replace").decode(encoding))
    sys.stdout.flush()
