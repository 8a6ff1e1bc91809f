"""Learning-rate schedules (``keras.optimizers.schedules``): ``lr = schedule(step)``.

A schedule is called with the optimizer's step counter (a 0-d int64 device tensor, the number of
updates done so far) and returns the learning rate as a 0-d float32 tensor on the same device. It
uses only torch ops on that tensor, so evaluating it every step never synchronizes with the device
(Keras's ``CosineDecay`` branches with ``ops.cond``; here both branches are computed and one is
selected with ``torch.where``), and a CUDA graph that captures the optimizer step re-evaluates the
schedule at every replay. The arithmetic follows Keras 3.15.1 step by step in float32, so the
values agree with Keras's to float32 rounding.

The classes, defaults, names and configs are Keras's: ``ExponentialDecay``,
``PiecewiseConstantDecay``, ``PolynomialDecay``, ``InverseTimeDecay``, ``CosineDecay`` (with linear
warmup) and ``CosineDecayRestarts``. A custom schedule subclasses ``LearningRateSchedule`` and
implements ``__call__(step)`` and ``get_config()``; register it with
``@initium.saving.register_keras_serializable()`` to load it from a config.

Deliberate deviations: arguments are validated (Keras accepts e.g. a negative learning rate or
unsorted ``boundaries``), and ``PiecewiseConstantDecay`` requires sorted boundaries.
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
from typing import Any, Sequence

import numpy as np
import torch

from initium import registry

__all__ = [
    "LearningRateSchedule",
    "ExponentialDecay",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "InverseTimeDecay",
    "CosineDecay",
    "CosineDecayRestarts",
    "serialize",
    "deserialize",
    "ALL_OBJECTS",
]

_KERAS_MODULE = "keras.optimizers.schedules"
_BUILTIN_MODULES = {None, _KERAS_MODULE, "initium.optimizers.schedules", "tensorflow.keras.optimizers.schedules",
                    "keras.src.optimizers.schedules.learning_rate_schedule"}
_F32 = torch.float32


def _step_tensor(step: Any) -> torch.Tensor:
    """The step as a tensor (a Python number goes to the CPU); its float32 value is what is used."""
    if isinstance(step, torch.Tensor):
        return step
    if isinstance(step, bool) or not isinstance(step, numbers.Real):
        raise TypeError(f"A learning-rate schedule is called with a step number or tensor. Received: step={step!r}")
    return torch.tensor(step)


def _f32(step: Any) -> torch.Tensor:
    """The step as a new float32 tensor (always a copy, so in-place ops on it are safe)."""
    return _step_tensor(step).to(_F32, copy=True)


def _np32(x: Any) -> np.float32:
    return np.float32(x)


def _real(value: Any, name: str, owner: str, low: float | None = None, *, strict: bool = False,
          high: float | None = None) -> Any:
    """Check a finite real number (in range); return it unchanged so the config keeps its type."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if strict else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        rng = ""
        if low is not None:
            rng = f" {'>' if strict else '>='} {low}"
        if high is not None:
            rng += f"{' and' if rng else ''} <= {high}"
        raise ValueError(f"Argument `{name}` of {owner} must be a finite number{rng}. Received: {name}={value!r}")
    return value


def _decay_steps(value: Any, name: str, owner: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"Argument `{name}` of {owner} must be a finite number > 0. Received: {name}={value!r}")
    if value <= 0:  # Keras's message
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")
    return value


class LearningRateSchedule:
    """Base class: ``schedule(step) -> learning rate`` (a 0-d float32 tensor on the step's device).

    Subclasses implement ``__call__(step)`` with torch ops only (no ``.item()``, no Python ``if`` on
    tensor values) and ``get_config()``; ``from_config`` is ``cls(**config)``.
    """

    def __call__(self, step: Any) -> torch.Tensor:
        raise NotImplementedError(
            f"Learning rate schedule '{self.__class__.__name__}' must override `__call__(self, step)`."
        )

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(
            f"Learning rate schedule '{self.__class__.__name__}' must override `get_config()` in order to be "
            "serializable."
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "LearningRateSchedule":
        return cls(**config)

    def __repr__(self) -> str:
        try:
            cfg = self.get_config()
        except Exception:  # a broken user get_config must not break repr
            cfg = {}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in cfg.items())})"


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    With ``staircase=True`` the exponent is ``floor(step / decay_steps)``: the rate drops every
    ``decay_steps`` steps.

    >>> ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(torch.tensor(20))
    tensor(0.0250)
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False,
                 name: str = "ExponentialDecay") -> None:
        owner = type(self).__name__
        self.initial_learning_rate = _real(initial_learning_rate, "initial_learning_rate", owner, 0.0)
        self.decay_steps = _decay_steps(decay_steps, "decay_steps", owner)
        self.decay_rate = _real(decay_rate, "decay_rate", owner, 0.0)
        self.staircase = staircase
        self.name = name

    def __call__(self, step: Any) -> torch.Tensor:
        # Python scalars enter float32 ops rounded to float32, exactly as Keras's casts.
        p = _f32(step) / self.decay_steps
        if self.staircase:
            p = torch.floor(p)
        return torch.pow(self.decay_rate, p).mul_(self.initial_learning_rate)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, and ``values[-1]`` after the last boundary.

    As in Keras, the boundaries are cast to the step's dtype (int64 for the optimizer's counter, so
    a boundary of 10.5 acts as 10). ``len(values)`` must be ``len(boundaries) + 1``.

    >>> s = PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.25])
    >>> [float(s(torch.tensor(k))) for k in (10, 11, 21)]
    [1.0, 0.5, 0.25]
    """

    def __init__(self, boundaries: Sequence[Any], values: Sequence[Any], name: str = "PiecewiseConstant") -> None:
        owner = type(self).__name__
        if not isinstance(boundaries, (list, tuple)) or not isinstance(values, (list, tuple)):
            raise ValueError(
                f"{owner} expects lists for `boundaries` and `values`. Received: boundaries={boundaries!r}, "
                f"values={values!r}"
            )
        if len(boundaries) != len(values) - 1:  # Keras's message
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. Received: "
                f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of length {len(values)}."
            )
        if not boundaries:
            raise ValueError(f"{owner} needs at least one boundary (and two values). Received: boundaries=[]")
        for b in boundaries:
            _real(b, "boundaries", owner)
        for v in values:
            _real(v, "values", owner, 0.0)
        if any(b1 > b2 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(f"The `boundaries` of {owner} must be sorted in increasing order. Received: "
                             f"boundaries={boundaries}")
        self.boundaries = boundaries
        self.values = values
        self.name = name
        self._cache: dict[Any, tuple[torch.Tensor, torch.Tensor]] = {}

    def __call__(self, step: Any) -> torch.Tensor:
        s = _step_tensor(step)
        key = (s.device, s.dtype)
        cached = self._cache.get(key)
        if cached is None:
            b = torch.tensor([float(x) for x in self.boundaries], dtype=torch.float64).to(s.dtype).to(s.device)
            v = torch.tensor([float(x) for x in self.values], dtype=_F32, device=s.device)
            cached = self._cache[key] = (b, v)
        b, v = cached
        # bucketize(right=False): index i with b[i-1] < step <= b[i], exactly Keras's ranges.
        return torch.take(v, torch.bucketize(s, b))

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cache"] = {}
        return state


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end``, with ``step`` capped at
    ``decay_steps``; with ``cycle=True`` the horizon grows to the next multiple of ``decay_steps``
    instead of capping."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False, name: str = "PolynomialDecay") -> None:
        owner = type(self).__name__
        self.initial_learning_rate = _real(initial_learning_rate, "initial_learning_rate", owner, 0.0)
        self.decay_steps = _decay_steps(decay_steps, "decay_steps", owner)
        self.end_learning_rate = _real(end_learning_rate, "end_learning_rate", owner, 0.0)
        self.power = _real(power, "power", owner)
        self.cycle = cycle
        self.name = name

    def __call__(self, step: Any) -> torch.Tensor:
        s = _f32(step)
        if self.cycle:
            multiplier = torch.where(s == 0, 1.0, torch.ceil(s / self.decay_steps))
            p = s / (multiplier * self.decay_steps)
        else:
            p = s.clamp(max=self.decay_steps) / self.decay_steps
        span = float(_np32(self.initial_learning_rate) - _np32(self.end_learning_rate))
        return torch.pow(1 - p, self.power).mul_(span).add_(self.end_learning_rate)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (``floor`` of the ratio
    with ``staircase=True``)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False,
                 name: str = "InverseTimeDecay") -> None:
        owner = type(self).__name__
        self.initial_learning_rate = _real(initial_learning_rate, "initial_learning_rate", owner, 0.0)
        self.decay_steps = _decay_steps(decay_steps, "decay_steps", owner)
        self.decay_rate = _real(decay_rate, "decay_rate", owner, 0.0)
        self.staircase = staircase
        self.name = name

    def __call__(self, step: Any) -> torch.Tensor:
        p = _f32(step) / self.decay_steps
        if self.staircase:
            p = torch.floor(p)
        denom = p.mul_(self.decay_rate).add_(1.0)
        return torch.full_like(denom, self.initial_learning_rate).div_(denom)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` over ``decay_steps`` steps, with optional linear
    warmup first.

    Without warmup (``warmup_target=None``)::

        s = min(step, decay_steps)
        lr = initial * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)

    With ``warmup_target``: for ``step < warmup_steps`` the rate rises linearly from
    ``initial_learning_rate`` to ``warmup_target``; afterwards it decays from ``warmup_target`` as
    above, with ``step - warmup_steps`` in place of ``step``.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0, name: str = "CosineDecay",
                 warmup_target: float | None = None, warmup_steps: int = 0) -> None:
        owner = type(self).__name__
        self.initial_learning_rate = _real(initial_learning_rate, "initial_learning_rate", owner, 0.0)
        self.decay_steps = _decay_steps(decay_steps, "decay_steps", owner)
        self.alpha = _real(alpha, "alpha", owner)
        self.name = name
        if warmup_target is not None:
            _real(warmup_target, "warmup_target", owner, 0.0)
        self.warmup_steps = _real(warmup_steps, "warmup_steps", owner, 0.0)
        self.warmup_target = warmup_target

    def _decay(self, s: torch.Tensor, from_lr: float) -> torch.Tensor:
        completed = s / self.decay_steps
        cosine = torch.cos(completed.mul_(math.pi)).add_(1.0).mul_(0.5)
        return cosine.mul_(1 - self.alpha).add_(self.alpha).mul_(from_lr)

    def __call__(self, step: Any) -> torch.Tensor:
        s = _f32(step)
        if self.warmup_target is None:
            return self._decay(s.clamp(max=self.decay_steps), self.initial_learning_rate)
        warm = self.warmup_steps
        s = s.clamp(max=float(_np32(self.decay_steps) + _np32(warm)))
        delta = float(_np32(self.warmup_target) - _np32(self.initial_learning_rate))
        warming = (s / warm).mul_(delta).add_(self.initial_learning_rate)
        decaying = self._decay(s - warm, self.warmup_target)
        return torch.where(s < warm, warming, decaying)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): the first period lasts ``first_decay_steps``, each
    next one ``t_mul`` times longer, and each restart starts from ``m_mul`` times the previous peak;
    ``alpha`` is the floor as a fraction of the initial rate."""

    def __init__(self, initial_learning_rate: float, first_decay_steps: int, t_mul: float = 2.0, m_mul: float = 1.0,
                 alpha: float = 0.0, name: str = "SGDRDecay") -> None:
        owner = type(self).__name__
        self.initial_learning_rate = _real(initial_learning_rate, "initial_learning_rate", owner, 0.0)
        self.first_decay_steps = _decay_steps(first_decay_steps, "first_decay_steps", owner)
        self._t_mul = _real(t_mul, "t_mul", owner, 0.0, strict=True)
        self._m_mul = _real(m_mul, "m_mul", owner, 0.0)
        self.alpha = _real(alpha, "alpha", owner)
        self.name = name

    def __call__(self, step: Any) -> torch.Tensor:
        s = _f32(step)
        dev = s.device

        def t(x: float) -> torch.Tensor:
            return torch.full((), x, dtype=_F32, device=dev)

        alpha, t_mul, m_mul = t(self.alpha), t(self._t_mul), t(self._m_mul)
        completed = s / t(self.first_decay_steps)
        if self._t_mul == 1.0:  # a Python constant: Keras's ops.cond on it, without the device round trip
            i_restart = torch.floor(completed)
            completed = completed - i_restart
        else:
            i_restart = torch.floor(torch.log(1.0 - completed * (1.0 - t_mul)) / torch.log(t_mul))
            sum_r = (1.0 - torch.pow(t_mul, i_restart)) / (1.0 - t_mul)
            completed = (completed - sum_r) / torch.pow(t_mul, i_restart)
        m_fac = torch.pow(m_mul, i_restart)
        cosine = 0.5 * m_fac * (1.0 + torch.cos(t(math.pi) * completed))
        decayed = (1 - alpha) * cosine + alpha
        return t(self.initial_learning_rate) * decayed

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


ALL_OBJECTS: dict[str, type] = {
    cls.__name__: cls
    for cls in (LearningRateSchedule, ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay,
                CosineDecay, CosineDecayRestarts)
}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """Keras's serialized form: ``{"module": "keras.optimizers.schedules", "class_name", "config",
    "registered_name": None}`` (a registered custom schedule carries its module and registered name)."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(
            f"serialize expects a LearningRateSchedule. Received: {schedule!r} (of type {type(schedule).__name__})"
        )
    cls = type(schedule)
    if ALL_OBJECTS.get(cls.__name__) is cls:
        return {"module": _KERAS_MODULE, "class_name": cls.__name__, "config": schedule.get_config(),
                "registered_name": None}
    return {"module": None if cls.__module__ == "__main__" else cls.__module__, "class_name": cls.__name__,
            "config": schedule.get_config(), "registered_name": registry.get_registered_name(cls)}


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> LearningRateSchedule:
    """Build a schedule from its serialized dict. Only the built-in schedules, registered classes
    and ``custom_objects`` are ever instantiated; a module named in the config is never imported."""
    if isinstance(config, LearningRateSchedule):
        return config
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "A learning-rate schedule config must be a dict with 'class_name' and 'config' keys, as "
            f"serialize() returns. Received: {config!r}"
        )
    class_name, inner = config["class_name"], config.get("config") or {}
    module, registered = config.get("module"), config.get("registered_name")
    cls = None
    if registered and registered != class_name:
        cls = registry.get_registered_object(registered, custom_objects)
    if cls is None:
        cls = registry.get_registered_object(class_name, custom_objects)
    if cls is None and (module in _BUILTIN_MODULES or str(module).startswith("keras.")):
        cls = ALL_OBJECTS.get(class_name)
    if cls is None:
        close = difflib.get_close_matches(str(class_name), list(ALL_OBJECTS), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ValueError(
            f"Could not interpret learning-rate schedule {class_name!r} (module {module!r}).{hint} Built-in "
            f"schedules: {', '.join(k for k in ALL_OBJECTS if k != 'LearningRateSchedule')}. A custom schedule must "
            "be registered with @initium.saving.register_keras_serializable() or passed in custom_objects."
        )
    if not inspect.isclass(cls) or not issubclass(cls, LearningRateSchedule):
        raise ValueError(f"{class_name!r} does not name a LearningRateSchedule subclass. Received: {config!r}")
    if not isinstance(inner, dict):
        raise ValueError(f"The 'config' of schedule {class_name!r} must be a dict. Received: {inner!r}")
    try:
        return cls.from_config(dict(inner))
    except TypeError as e:
        accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "args", "kwargs")]
        raise TypeError(f"{class_name} could not be built from config={inner!r}. It accepts: "
                        f"{', '.join(accepted)}. ({e})") from e
