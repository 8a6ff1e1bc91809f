"""The init lab: see and measure what initialization does.

- ``report(model, x=None)``: every weight's initializer, fans, expected vs observed std, flags;
  with data, per-layer activation statistics, dead units and the initial loss vs its ideal.
- ``ActivationMonitor``: a ``fit`` callback recording the same statistics during training.
- ``lsuv(model, x)``, ``bias_from_priors(y)``: data-dependent initialization.
- ``use_preset(model, "keras" | "torch" | "flax")`` / ``preset(...)``: other frameworks' defaults.
- ``bias_study(...)``: the protocol of docs/bias_study_protocol.md (``initium bias-study``).

Submodules load on first use, so ``import initium.lab`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

# `report` is both a submodule and its main function: bind the function now, so that importing
# the submodule later (``from initium.lab.report import cli_report``) cannot shadow it.
from initium.lab.report import Report, report  # noqa: E402  (numpy and torch only; rich is lazy)
from initium.lab.lsuv import lsuv  # noqa: E402  (same reason: `lsuv` is a submodule too)
from initium.lab.bias_study import bias_study  # noqa: E402  (and `bias_study`)

_WHERE = {
    "ActivationMonitor": "initium.lab.monitor",
    "bias_from_priors": "initium.lab.priors",
    "use_preset": "initium.lab.presets", "preset": "initium.lab.presets", "PRESETS": "initium.lab.presets",
}

__all__ = sorted([*_WHERE, "Report", "report", "lsuv", "bias_study"])


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'initium.lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
