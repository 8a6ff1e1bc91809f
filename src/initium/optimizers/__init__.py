"""Optimizers (``keras.optimizers``): Keras 3.15.1's update rules, defaults and configs, as
multi-tensor (``torch._foreach_*``) updates that never synchronize with the device.

One step, ``optimizer.apply(grads, variables)``, under ``torch.no_grad``:

1. ``None`` gradients are skipped (with Keras's warning); all ``None`` is a ``ValueError``.
2. Clipping (at most one of them): ``clipvalue`` clamps each gradient to ``[-c, c]``;
   ``clipnorm`` rescales each gradient to norm ``<= c`` (``g * c / max(||g||, c)``);
   ``global_clipnorm`` rescales all of them by ``c / max(global_norm, c)`` (NaN if the global
   norm is not finite, as in Keras). The gradients passed in are never modified.
3. Decoupled weight decay, when ``weight_decay`` is set: ``v *= 1 - weight_decay * lr``, before the
   update, for every variable not excluded by ``exclude_from_weight_decay``.
4. The update rule of the optimizer (each class docstring has the formula), with the learning
   rate ``lr`` read once per step: a 0-d float32 tensor, or ``schedule(iterations)``.
5. ``iterations += 1``; then every variable with a non-None ``constraint`` attribute is replaced
   by ``constraint(v)``.

A variable whose ``overwrite_with_gradient`` is True (``Layer.add_weight(...,
overwrite_with_gradient=True)``) takes Keras's special path instead of 2-5: after step 1 its value
is replaced by its gradient (``v <- g``: no clipping, no weight decay, no update rule, no
constraint); ``iterations`` still counts the step. Its optimizer state (e.g. Adam's moments) is
still created, unused (Keras creates none for it).

Everything per step is device tensors: ``iterations`` (0-d int64), the learning rate and the
bias-correction factors (0-d float32, computed from ``iterations`` with tensor ops); no ``.item()``
and no Python branch on a tensor value. ``iterations`` and ``learning_rate`` move to the
variables' device when the optimizer is built. So a step can be captured in a CUDA graph
(``initium.training.capture``): after the first step has created the state and the cached
constants, ``apply`` runs under ``capture.no_host_sync(allow_host_data=False)`` for every optimizer
and schedule (tests/test_optimizers_capturable.py, against a float64 host-side reference). What a
captured graph keeps reading is the tensors: assigning a number to ``learning_rate`` fills its
tensor in place and takes effect; a plain callable learning rate is evaluated in Python and is not
capturable.

Why not ``torch.optim``: only plain SGD (no momentum) and Adadelta compute Keras's rule; every
other ``torch.optim`` rule differs from Keras's (epsilon placement, the form of momentum, the
Nadam momentum schedule, defaults), as each class docstring says. The updates here are written
with the same ``torch._foreach_*`` primitives torch's foreach implementations use. Keras's own
torch backend reads the learning rate on the host (``alpha=-learning_rate``,
``convert_to_numpy``) in several rules; here it stays on the device.

Deliberate deviations from Keras: ``use_ema``, ``gradient_accumulation_steps`` and
``loss_scale_factor`` are not supported (``ValueError``); numeric arguments are validated
(Keras accepts e.g. a negative ``clipnorm`` and silently does not clip); ``learning_rate`` may be
any real number (Keras requires a Python float); ``iterations`` is int64 (Keras's torch backend:
int32); ``get`` also accepts an optimizer class.
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
import re
import warnings
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from initium import backend, registry
from initium.layers.variable import overwrite_flags_version
from initium.optimizers import schedules
from initium.optimizers.schedules import LearningRateSchedule

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "Nadam",
    "Lion",
    "schedules",
    "LearningRateSchedule",
    "get",
    "serialize",
    "deserialize",
    "ALL_OBJECTS",
]

_F32 = torch.float32
_BASE_KEYS = ("name", "learning_rate", "weight_decay", "clipnorm", "global_clipnorm", "clipvalue", "use_ema",
              "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps")


def _to_snake_case(name: str) -> str:
    """Keras's ``to_snake_case``: ``RMSprop`` -> ``rm_sprop``, ``AdamW`` -> ``adam_w``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _real(value: Any, name: str, owner: str, low: float | None = None, high: float | None = None, *,
          strict_low: bool = False, optional: bool = False) -> Any:
    """Check a finite real number in range (None allowed when ``optional``); return it unchanged."""
    if value is None and optional:
        return None
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if strict_low else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        parts = []
        if low is not None:
            parts.append(f"{'>' if strict_low else '>='} {low}")
        if high is not None:
            parts.append(f"<= {high}")
        rng = (" " + " and ".join(parts)) if parts else ""
        none = " (or None)" if optional else ""
        raise ValueError(f"Argument `{name}` of {owner} must be a finite number{rng}{none}. Received: {name}={value!r}")
    return value


class _Plan:
    """What one call pattern (which variables, which gradients present) updates: cached lists.

    ``keep`` is None when no variable is overwritten with its gradient; else the positions (in the
    gradients ``_step`` receives) of the updated variables, and ``overwrite`` pairs each
    overwritten variable with the position of its gradient.
    """

    __slots__ = ("variables", "slots", "decay", "present", "keep", "overwrite")

    def __init__(self, variables: list, slots: tuple, decay: list, present: list[int] | None,
                 keep: list[int] | None = None, overwrite: list[tuple[torch.Tensor, int]] | None = None) -> None:
        self.variables = variables
        self.slots = slots
        self.decay = decay
        self.present = present
        self.keep = keep
        self.overwrite = overwrite or []


class Optimizer:
    """Base class. Holds ``iterations``, the learning rate (a float kept as a 0-d float32 tensor, a
    ``LearningRateSchedule``, or a zero-argument callable), clipping and weight decay.

    A subclass either implements the multi-tensor hook ``_update(variables, grads, slots, lr)`` (as
    the built-in optimizers do) or Keras's per-variable API: override ``build(variables)`` (call
    ``super().build(variables)``, then create state with ``add_variable_from_reference``) and
    ``update_step(gradient, variable, learning_rate)``, and extend ``get_config``.
    """

    _keras_module: str | None = None  # set on the built-in optimizers

    def __init__(self, learning_rate: Any, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        owner = type(self).__name__
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=2)
        if kwargs:
            accepted = [p for p in inspect.signature(type(self).__init__).parameters if p not in ("self", "kwargs")]
            hints = []
            for k in kwargs:
                close = difflib.get_close_matches(k, accepted, n=1)
                hints.append(f"'{k}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
            raise ValueError(f"Argument(s) not recognized: {kwargs}. {owner} does not accept {', '.join(hints)}; "
                             f"it accepts: {', '.join(accepted)}.")
        if use_ema:
            raise ValueError(f"use_ema=True is not supported by initium's {owner}. Received: use_ema={use_ema!r}")
        if gradient_accumulation_steps is not None:
            raise ValueError(
                f"gradient_accumulation_steps is not supported by initium's {owner}; accumulate gradients over "
                f"batches yourself or use a larger batch. Received: gradient_accumulation_steps="
                f"{gradient_accumulation_steps!r}"
            )
        if loss_scale_factor is not None:
            raise ValueError(
                f"loss_scale_factor is not supported by initium's {owner} (it trains in float32). Received: "
                f"loss_scale_factor={loss_scale_factor!r}"
            )
        if name is not None and not isinstance(name, str):
            raise ValueError(f"Argument `name` of {owner} must be a string or None. Received: name={name!r}")
        self.name = name if name is not None else backend.unique_name(_to_snake_case(owner))
        self.weight_decay = _real(weight_decay, "weight_decay", owner, 0.0, optional=True)
        self.clipnorm = _real(clipnorm, "clipnorm", owner, 0.0, optional=True)
        self.clipvalue = _real(clipvalue, "clipvalue", owner, 0.0, optional=True)
        self.global_clipnorm = _real(global_clipnorm, "global_clipnorm", owner, 0.0, optional=True)
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:  # Keras's message
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._iterations = torch.zeros((), dtype=torch.int64, device=backend.default_device())
        self._learning_rate: Any = self._new_learning_rate(learning_rate, owner)
        self._trainable_variables: list[torch.Tensor] = []
        self._index: dict[int, int] = {}
        self._state: list[torch.Tensor] = []  # per-variable state, in Keras's order
        self._state_names: list[str] = []
        self._slot_groups: tuple[list[torch.Tensor], ...] = ()
        self._plans: dict[Any, _Plan] = {}
        self._full_plan: _Plan | None = None
        self._flags_version = -1  # overwrite_flags_version() the cached plans were made under
        self._exclude_ids: set[int] = set()
        self._exclude_pattern: re.Pattern | None = None
        self._consts: dict[Any, torch.Tensor] = {}
        self._cpu = self._iterations.device.type == "cpu"

    # -- learning rate ---------------------------------------------------------------------------

    def _new_learning_rate(self, value: Any, owner: str) -> Any:
        if isinstance(value, LearningRateSchedule):
            return value
        if isinstance(value, torch.Tensor):
            if value.numel() != 1 or not value.is_floating_point():
                raise ValueError(f"Argument `learning_rate` of {owner} must be a float, a LearningRateSchedule or a "
                                 f"callable. Received a tensor of shape {tuple(value.shape)} and dtype {value.dtype}.")
            return value.detach().reshape(()).to(device=self._iterations.device, dtype=_F32, copy=True)
        if callable(value):
            return value
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(  # Keras's message
                "Argument `learning_rate` should be float, or an instance of LearningRateSchedule, or a callable "
                "(that takes in the current iteration value and returns the corresponding learning rate value). "
                f"Received instead: learning_rate={value}"
            )
        _real(value, "learning_rate", owner, 0.0)
        return torch.tensor(float(value), dtype=_F32, device=self._iterations.device)

    def _current_learning_rate(self) -> torch.Tensor:
        lr = self._learning_rate
        if isinstance(lr, torch.Tensor):
            return lr
        out = lr(self._iterations) if isinstance(lr, LearningRateSchedule) else lr()
        if not isinstance(out, torch.Tensor):
            out = torch.tensor(float(out), dtype=_F32)
        return out.to(device=self._iterations.device, dtype=_F32)

    @property
    def learning_rate(self) -> torch.Tensor:
        """The current learning rate, a 0-d float32 tensor (for a schedule: ``schedule(iterations)``).

        For a float learning rate this is the optimizer's own state tensor (as Keras returns its
        variable); ``float(opt.learning_rate)`` reads it. Assign a number to change it in place, or
        a schedule or callable to replace it. Assigning a number while a schedule is set is a
        ``TypeError`` (Keras's rule).
        """
        return self._current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        owner = type(self).__name__
        if isinstance(value, LearningRateSchedule) or (callable(value) and not isinstance(value, torch.Tensor)):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError(  # Keras's message
                "This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` constructor "
                "argument, hence its learning rate is not settable. If you need the learning rate to be settable, "
                "you should instantiate the optimizer with a float `learning_rate` argument."
            )
        current = self._learning_rate
        if isinstance(current, torch.Tensor):
            if isinstance(value, torch.Tensor):
                if value.numel() != 1:
                    raise ValueError(f"The learning rate must be a scalar. Received a tensor of shape "
                                     f"{tuple(value.shape)}.")
                current.copy_(value.detach().reshape(()))
            else:
                if isinstance(value, bool) or not isinstance(value, numbers.Real):
                    raise ValueError(f"The learning rate of {owner} must be set to a number, a LearningRateSchedule "
                                     f"or a callable. Received: learning_rate={value!r}")
                _real(value, "learning_rate", owner, 0.0)
                current.fill_(float(value))
        else:
            self._learning_rate = self._new_learning_rate(value, owner)

    @property
    def iterations(self) -> torch.Tensor:
        """The number of steps applied so far: a 0-d int64 tensor on the variables' device."""
        return self._iterations

    # -- state -----------------------------------------------------------------------------------

    @property
    def variables(self) -> list[torch.Tensor]:
        """Every state tensor, in Keras's order: ``iterations``, the learning rate (unless it is a
        schedule or callable), then the per-variable state (e.g. Adam: ``m0, v0, m1, v1, ...``)."""
        out = [self._iterations]
        if isinstance(self._learning_rate, torch.Tensor):
            out.append(self._learning_rate)
        return out + self._state

    @property
    def variable_names(self) -> list[str]:
        """Keras's paths of ``variables`` (``adam/iteration``, ``adam/dense_kernel_momentum``, ...)."""
        out = [f"{self.name}/iteration"]
        if isinstance(self._learning_rate, torch.Tensor):
            out.append(f"{self.name}/learning_rate")
        return out + self._state_names

    def build(self, variables: Sequence[torch.Tensor]) -> None:
        """Create the optimizer state for ``variables`` on their device (done by the first ``apply``)."""
        if self.built:
            return
        variables = list(variables)
        owner = type(self).__name__
        for i, v in enumerate(variables):
            if not isinstance(v, torch.Tensor):
                raise ValueError(f"{owner}.build expects a list of tensors; item {i} is {type(v).__name__}.")
            if not v.is_floating_point():
                raise ValueError(f"{owner} can only update floating-point variables; variable {i} "
                                 f"({_label(v)}) has dtype {v.dtype}.")
        devices = {v.device for v in variables}
        if len(devices) > 1:
            raise ValueError(f"{owner} updates variables on one device; received variables on "
                             f"{sorted(str(d) for d in devices)}. Move the model to one device first.")
        if devices:
            device = devices.pop()
            if self._iterations.device != device:
                self._iterations = self._iterations.to(device)
                if isinstance(self._learning_rate, torch.Tensor):
                    self._learning_rate = self._learning_rate.to(device)
        self._trainable_variables = variables
        self._index = {id(v): i for i, v in enumerate(variables)}
        self._consts = {}
        self._cpu = self._iterations.device.type == "cpu"
        self._plans = {}
        self._full_plan = None
        self._build_slots(variables)
        self.built = True

    def _build_slots(self, variables: list[torch.Tensor]) -> None:
        """Built-in optimizers create their per-variable state here."""

    def _add_slots(self, variables: list[torch.Tensor], names: Sequence[str],
                   fill: float = 0.0) -> tuple[list[torch.Tensor], ...]:
        """One zero (or ``fill``) tensor per variable and name, created interleaved as Keras does."""
        groups: tuple[list[torch.Tensor], ...] = tuple([] for _ in names)
        for v in variables:
            for group, slot_name in zip(groups, names):
                group.append(self._new_state(v, slot_name, fill))
        return groups

    def _new_state(self, ref: torch.Tensor, slot_name: str, fill: float) -> torch.Tensor:
        t = torch.full_like(ref, fill, memory_format=torch.preserve_format).detach()
        self._state.append(t)
        path = getattr(ref, "path", None) or getattr(ref, "name", None) or "variable"
        self._state_names.append(f"{self.name}/{str(path).replace('/', '_').replace(':', '_')}_{slot_name}")
        return t

    def add_variable_from_reference(self, reference_variable: torch.Tensor, name: str | None = None,
                                    initializer: Any = "zeros") -> torch.Tensor:
        """Keras's API for custom optimizers: a state tensor shaped like ``reference_variable``.

        ``initializer`` is ``"zeros"``, ``"ones"``, a number, or any initium initializer.
        """
        if isinstance(initializer, str) and initializer in ("zeros", "ones"):
            return self._new_state(reference_variable, name or "var", 0.0 if initializer == "zeros" else 1.0)
        if not isinstance(initializer, bool) and isinstance(initializer, numbers.Real):
            return self._new_state(reference_variable, name or "var", float(initializer))
        from initium import initializers

        t = self._new_state(reference_variable, name or "var", 0.0)
        with torch.no_grad():
            t.copy_(initializers.initialize(initializer, tuple(reference_variable.shape), dtype=t.dtype,
                                            device=t.device))
        return t

    def _get_variable_index(self, variable: torch.Tensor) -> int:
        return self._index[id(variable)]

    # Per-step constants. A hyperparameter enters the foreach ops as a cached 0-d float32 tensor on
    # the variables' device: the same float32 value a Python scalar would be cast to, but the
    # Tensor overloads of the foreach ops are several times cheaper to call than the Scalar ones
    # (on CPU). The cache is keyed by value, so changing e.g. ``opt.beta_1`` takes effect.

    def _const(self, value: Any) -> torch.Tensor:
        t = self._consts.get(value)
        if t is None:
            t = self._consts[value] = torch.tensor(value, dtype=_F32, device=self._iterations.device)
        return t

    def _add_scalar(self, tensors: list[torch.Tensor], value: float) -> list[torch.Tensor]:
        """``[t + value for t in tensors]``, as the cheapest foreach call on this device."""
        if self._cpu:
            return torch._foreach_add(tensors, [self._const(value)] * len(tensors))
        return torch._foreach_add(tensors, value)

    def _add_scalar_(self, tensors: list[torch.Tensor], value: float) -> None:
        if self._cpu:
            torch._foreach_add_(tensors, [self._const(value)] * len(tensors))
        else:
            torch._foreach_add_(tensors, value)

    def assign(self, variable: torch.Tensor, value: Any) -> None:
        variable.copy_(value)

    def assign_add(self, variable: torch.Tensor, value: Any) -> None:
        variable.add_(value)

    def assign_sub(self, variable: torch.Tensor, value: Any) -> None:
        variable.sub_(value)

    # -- weight decay ----------------------------------------------------------------------------

    def exclude_from_weight_decay(self, var_list: Iterable[torch.Tensor] | None = None,
                                  var_names: Iterable[str] | None = None) -> None:
        """Exclude variables from weight decay: those in ``var_list``, and those whose ``name``
        contains any of ``var_names`` (a regex search, e.g. ``var_names=["bias"]``). Each call
        replaces the previous exclusions (Keras's rule); it takes effect at the next step."""
        self._exclude_ids = {id(v) for v in var_list} if var_list else set()
        names = list(var_names) if var_names else []
        for n in names:
            if not isinstance(n, str):
                raise ValueError(f"`var_names` must be strings. Received: var_names={names!r}")
        self._exclude_pattern = re.compile("|".join(set(names))) if names else None
        self._plans = {}
        self._full_plan = None

    def _use_weight_decay(self, variable: torch.Tensor) -> bool:
        if id(variable) in self._exclude_ids:
            return False
        if self._exclude_pattern is not None:
            name = getattr(variable, "name", None)
            if isinstance(name, str) and self._exclude_pattern.search(name) is not None:
                return False
        return True

    # -- one step --------------------------------------------------------------------------------

    def _plan(self, variables: Sequence[torch.Tensor], present: list[int] | None) -> _Plan:
        idx = []
        for v in variables:
            i = self._index.get(id(v))
            if i is None:  # Keras's message
                raise ValueError(
                    f"Unknown variable: {_label(v)}. This optimizer can only be called for the variables it was "
                    "originally built with. When working with a new set of variables, you should recreate a new "
                    "optimizer instance."
                )
            idx.append(i)
        if present is not None:
            idx = [idx[k] for k in present]
        every = self._trainable_variables
        overwrite = [(every[i], k) for k, i in enumerate(idx)
                     if getattr(every[i], "overwrite_with_gradient", False)]
        keep = None
        if overwrite:
            skipped = {k for _, k in overwrite}
            keep = [k for k in range(len(idx)) if k not in skipped]
            idx = [idx[k] for k in keep]
        vs = [every[i] for i in idx]
        slots = tuple([group[i] for i in idx] if group else [] for group in self._slot_groups)
        decay = [v for v in vs if self._use_weight_decay(v)]
        return _Plan(vs, slots, decay, present, keep, overwrite)

    def apply(self, grads: Sequence[torch.Tensor | None],
              trainable_variables: Sequence[torch.Tensor] | None = None) -> None:
        """One update step of ``trainable_variables`` (in place) with ``grads`` (``None`` = skip).

        Builds the optimizer on the first call. Without ``trainable_variables`` the gradients must
        match the variables the optimizer was built with, one to one.
        """
        if not isinstance(grads, (list, tuple)):
            grads = list(grads)
        if len(grads) == 0:
            return
        if trainable_variables is not None and not isinstance(trainable_variables, (list, tuple)):
            trainable_variables = list(trainable_variables)
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be built on a list of "
                    "variables. Call `optimizer.build(trainable_variables)` first. "
                )
            variables = self._trainable_variables
        else:
            variables = trainable_variables
            if not self.built:
                self.build(variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"{type(self).__name__}.apply received {len(grads)} gradients for {len(variables)} variables; "
                "pass one gradient (or None) per variable."
            )
        present = None
        for g in grads:
            if g is None:
                present = [k for k, g in enumerate(grads) if g is not None]
                break
        if self._flags_version != overwrite_flags_version():  # some overwrite_with_gradient flag changed
            self._plans.clear()
            self._full_plan = None
            self._flags_version = overwrite_flags_version()
        if present is None:
            if variables is self._trainable_variables:
                plan = self._full_plan
                if plan is None:
                    plan = self._full_plan = self._plan(variables, None)
            else:
                key = tuple(map(id, variables))
                plan = self._plans.get(key)
                if plan is None:
                    plan = self._cache_plan(key, self._plan(variables, None))
        else:
            self._warn_missing(grads, variables)
            key = (tuple(map(id, variables)), tuple(present))
            plan = self._plans.get(key)
            if plan is None:
                plan = self._cache_plan(key, self._plan(variables, present))
            grads = [grads[k] for k in present]
        with torch.no_grad():
            self._step(plan, grads)

    def _cache_plan(self, key: Any, plan: _Plan) -> _Plan:
        if len(self._plans) > 64:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def _warn_missing(self, grads: Sequence[Any], variables: Sequence[torch.Tensor]) -> None:
        missing = [_label(v) for g, v in zip(grads, variables) if g is None]
        if len(missing) == len(grads):
            raise ValueError("No gradients provided for any variable.")
        warnings.warn(
            f"Gradients do not exist for variables {missing} when minimizing the loss. If using `model.compile()`, "
            "did you forget to provide a `loss` argument?", stacklevel=3,
        )

    def _step(self, plan: _Plan, grads: Sequence[torch.Tensor]) -> None:
        if plan.keep is not None:  # Keras's rule for overwrite_with_gradient: v <- g, before anything else
            for v, k in plan.overwrite:
                v.copy_(grads[k])
            grads = [grads[k] for k in plan.keep]
        if plan.variables:
            self._update_plan(plan, grads)
        self._iterations.add_(1)
        for v in plan.variables:
            constraint = getattr(v, "constraint", None)
            if constraint is not None:
                v.copy_(constraint(v))

    def _update_plan(self, plan: _Plan, grads: Sequence[torch.Tensor]) -> None:
        """Steps 2-4 of the module docstring for the plan's (not overwritten) variables."""
        grads = self._clip_gradients(list(grads))
        lr = self._current_learning_rate()
        wd = self.weight_decay
        if wd and plan.decay:
            torch._foreach_mul_(plan.decay, (lr * -wd).add_(1.0))
        try:
            self._update(plan.variables, grads, plan.slots, lr)
        except RuntimeError as e:
            self._explain(plan.variables, grads, e)
            raise

    def _explain(self, variables: Sequence[torch.Tensor], grads: Sequence[torch.Tensor], error: Exception) -> None:
        for v, g in zip(variables, grads):
            if not isinstance(g, torch.Tensor):
                raise ValueError(f"The gradient for {_label(v)} must be a tensor. Received: {type(g).__name__}") \
                    from error
            if g.shape != v.shape:
                raise ValueError(f"The gradient for {_label(v)} has shape {tuple(g.shape)}; the variable has shape "
                                 f"{tuple(v.shape)}.") from error
            if g.device != v.device:
                raise ValueError(f"The gradient for {_label(v)} is on {g.device}; the variable is on {v.device}.") \
                    from error

    def _clip_gradients(self, grads: list[torch.Tensor]) -> list[torch.Tensor]:
        if self.clipnorm and self.clipnorm > 0:
            c = self.clipnorm
            norms = torch._foreach_norm(grads)
            torch._foreach_clamp_min_(norms, c)  # max(||g||, c)
            out = torch._foreach_mul(grads, self._const(c))
            torch._foreach_div_(out, norms)
            return out
        if self.global_clipnorm and self.global_clipnorm > 0:
            c = self.global_clipnorm
            norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
            # Keras: c * min(1/norm, 1/c), made NaN when the norm is not finite.
            scale = norm.reciprocal().clamp_(max=1.0 / c).mul_(c).add_(norm - norm)
            return torch._foreach_mul(grads, scale)
        if self.clipvalue and self.clipvalue > 0:
            c = self.clipvalue
            out = torch._foreach_clamp_min(grads, -c)
            torch._foreach_clamp_max_(out, c)
            return out
        return grads

    def _update(self, variables: list[torch.Tensor], grads: list[torch.Tensor], slots: tuple,
                lr: torch.Tensor) -> None:
        """The update rule. The default calls Keras's per-variable ``update_step``."""
        for g, v in zip(grads, variables):
            self.update_step(g, v, lr)

    def update_step(self, gradient: torch.Tensor, variable: torch.Tensor, learning_rate: torch.Tensor) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} must implement `update_step(gradient, variable, learning_rate)` (or the "
            "multi-tensor `_update`)."
        )

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, torch.Tensor]]) -> torch.Tensor:
        """Keras's wrapper: ``apply`` on ``(gradient, variable)`` pairs; returns ``iterations``."""
        pairs = list(grads_and_vars)
        if not pairs:
            return self._iterations
        grads, variables = zip(*pairs)
        self.apply(list(grads), list(variables))
        return self._iterations

    def scale_loss(self, loss: Any) -> Any:
        """Keras's hook for loss scaling; initium does not scale, so the loss comes back unchanged."""
        return loss

    def finalize_variable_values(self, var_list: Any) -> None:
        """Keras's end-of-training hook (EMA); nothing to do without EMA."""

    # -- saving ----------------------------------------------------------------------------------

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Set ``variables`` from arrays (same order and shapes)."""
        if not self.built:  # Keras's message
            raise ValueError(
                "You are calling `set_weights()` on an optimizer that has not yet been built. Please call "
                "`optimizer.build(trainable_variables)` to create the optimizer weights before calling "
                "`set_weights()`."
            )
        targets = self.variables
        if len(weights) != len(targets):
            raise ValueError(f"{type(self).__name__} has {len(targets)} variables; set_weights received "
                             f"{len(weights)} arrays.")
        for i, (t, w) in enumerate(zip(targets, weights)):
            src = w if isinstance(w, torch.Tensor) else torch.as_tensor(np.asarray(w))
            if tuple(src.shape) != tuple(t.shape):
                raise ValueError(f"Optimizer variable {i} ({self.variable_names[i]}) has shape {tuple(t.shape)} "
                                 f"not compatible with provided weight shape {tuple(src.shape)}.")
            with torch.no_grad():
                t.copy_(src)

    def get_weights(self) -> list[np.ndarray]:
        """Numpy copies of ``variables``."""
        return [backend.to_numpy(t).copy() for t in self.variables]

    def save_own_variables(self, store: Any) -> None:
        """Keras's saving hook: ``store["0"], store["1"], ...`` = ``variables``."""
        for i, t in enumerate(self.variables):
            store[str(i)] = backend.to_numpy(t).copy()

    def load_own_variables(self, store: Any) -> None:
        """Keras's loading hook; a count mismatch warns and loads nothing (Keras's rule)."""
        targets = self.variables
        if len(store.keys()) != len(targets):
            msg = (f"Skipping variable loading for optimizer '{self.name}', because it has {len(targets)} variables "
                   f"whereas the saved optimizer has {len(store.keys())} variables. ")
            if len(targets) <= 2 and not self.built:
                msg += "This is likely because the optimizer has not been called/built yet."
            warnings.warn(msg, stacklevel=2)
            return
        with torch.no_grad():
            for i, t in enumerate(targets):
                t.copy_(torch.as_tensor(np.asarray(store[str(i)])))

    def state_dict(self) -> dict[str, torch.Tensor]:
        """``{"0": iterations, "1": learning_rate, ...}``: clones of ``variables`` (for ``torch.save``)."""
        return {str(i): t.detach().clone() for i, t in enumerate(self.variables)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore ``state_dict()`` output into a built optimizer of the same configuration."""
        targets = self.variables
        if len(state) != len(targets):
            raise ValueError(
                f"The state has {len(state)} tensors but optimizer '{self.name}' has {len(targets)} variables"
                + ("" if self.built else " (build it first: optimizer.build(model.trainable_variables))") + "."
            )
        with torch.no_grad():
            for i, t in enumerate(targets):
                src = state[str(i)]
                src = src if isinstance(src, torch.Tensor) else torch.as_tensor(np.asarray(src))
                if tuple(src.shape) != tuple(t.shape):
                    raise ValueError(f"State tensor {i} ({self.variable_names[i]}) has shape {tuple(src.shape)}; "
                                     f"expected {tuple(t.shape)}.")
                t.copy_(src)

    def get_config(self) -> dict[str, Any]:
        """Keras's config: the learning rate as its float32 value (0.001 -> 0.0010000000474974513),
        or the serialized schedule."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr_config: Any = schedules.serialize(lr)
        elif isinstance(lr, torch.Tensor):
            lr_config = float(lr.detach().cpu())
        else:
            if getattr(lr, "__name__", "") == "<lambda>":
                raise ValueError("Cannot serialize a lambda learning rate; use a named, registered function or a "
                                 "LearningRateSchedule.")
            lr_config = {"module": "builtins", "class_name": "function", "config": registry.get_registered_name(lr),
                         "registered_name": "function"}
        return {
            "name": self.name,
            "learning_rate": lr_config,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "Optimizer":
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            if lr.get("class_name") == "function":
                fn = registry.get_registered_object(lr.get("config"), custom_objects)
                if fn is None:
                    raise ValueError(f"The learning-rate function {lr.get('config')!r} is not registered; register "
                                     "it with @initium.saving.register_keras_serializable() or pass custom_objects.")
                config["learning_rate"] = fn
            else:
                config["learning_rate"] = schedules.deserialize(lr, custom_objects=custom_objects)
        return cls(**config)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_plans"] = {}
        state["_full_plan"] = None
        state["_flags_version"] = -1
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_flags_version", -1)
        self._index = {id(v): i for i, v in enumerate(self._trainable_variables)}

    def __repr__(self) -> str:
        lr = self._learning_rate
        lr_s = f"{float(lr.detach().cpu()):.6g}" if isinstance(lr, torch.Tensor) else repr(lr)
        return f"<{type(self).__name__} name={self.name}, learning_rate={lr_s}, built={self.built}>"


def _label(v: Any) -> str:
    path = getattr(v, "path", None)
    if isinstance(path, str):
        return path
    return f"tensor of shape {tuple(v.shape)}" if isinstance(v, torch.Tensor) else repr(v)


# ---------------------------------------------------------------------------------------------
# The optimizers.


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum. Defaults: ``learning_rate=0.01``,
    ``momentum=0.0``, ``nesterov=False``.

    Keras's rule::

        momentum == 0:   v = v - lr * g
        otherwise:       m = momentum * m - lr * g          (m starts at 0)
                         v = v + m                           (nesterov=False)
                         v = v + momentum * m - lr * g       (nesterov=True)

    Difference from ``torch.optim.SGD``: torch keeps ``b = momentum * b + g`` and steps
    ``v -= lr * b`` (Nesterov: ``v -= lr * (g + momentum * b)``). The two agree while the learning
    rate is constant; when it changes (a schedule, ReduceLROnPlateau), Keras's velocity remembers
    the old rates and torch's does not. Without momentum both are ``v -= lr * g``.
    """

    _keras_module = "keras.src.backend.torch.optimizers.torch_sgd"

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor, gradient_accumulation_steps=gradient_accumulation_steps,
                         name=name, **kwargs)
        if (isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not math.isfinite(momentum)
                or momentum < 0 or momentum > 1):
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = nesterov

    def _build_slots(self, variables: list[torch.Tensor]) -> None:
        self._slot_groups = self._add_slots(variables, ["momentum"]) if self.momentum != 0 else ()

    def _update(self, variables: list[torch.Tensor], grads: list[torch.Tensor], slots: tuple,
                lr: torch.Tensor) -> None:
        glr = torch._foreach_mul(grads, lr)
        if not slots:
            torch._foreach_sub_(variables, glr)
            return
        mom = self.momentum
        m = slots[0]
        torch._foreach_mul_(m, self._const(mom))
        torch._foreach_sub_(m, glr)
        if self.nesterov:
            torch._foreach_sub_(variables, glr)
            torch._foreach_add_(variables, m, alpha=mom)
        else:
            torch._foreach_add_(variables, m)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam. Defaults: ``learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False``.

    Keras's rule, at step ``t = iterations + 1``::

        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        v_hat = max(v_hat, v); use v_hat for v                 (amsgrad)
        alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        w = w - alpha * m / (sqrt(v) + epsilon)

    Difference from ``torch.optim.Adam``: torch divides by ``sqrt(v) / sqrt(1 - beta_2**t) +
    eps``, i.e. its epsilon is inside the bias correction (Keras's ``epsilon`` is the paper's
    "epsilon hat"); the two differ by a factor ``sqrt(1 - beta_2**t)`` on epsilon, which matters in
    the first steps and for tiny gradients. torch's default ``eps`` is 1e-8, Keras's 1e-7; torch's
    ``weight_decay`` is L2 added to the gradient, Keras's is decoupled (AdamW-style). AMSGrad is
    the same in both. So torch's fused/foreach Adam kernels are not used; the same foreach
    primitives are.
    """

    _keras_module = "keras.src.backend.torch.optimizers.torch_adam"

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor, gradient_accumulation_steps=gradient_accumulation_steps,
                         name=name, **kwargs)
        owner = type(self).__name__
        self.beta_1 = _real(beta_1, "beta_1", owner, 0.0, 1.0)
        self.beta_2 = _real(beta_2, "beta_2", owner, 0.0, 1.0)
        self.epsilon = _real(epsilon, "epsilon", owner, 0.0)
        self.amsgrad = amsgrad

    def _build_slots(self, variables: list[torch.Tensor]) -> None:
        m, v = self._add_slots(variables, ["momentum", "velocity"])
        self._slot_groups = (m, v) + (self._add_slots(variables, ["velocity_hat"]) if self.amsgrad else ())

    def _update(self, variables: list[torch.Tensor], grads: list[torch.Tensor], slots: tuple,
                lr: torch.Tensor) -> None:
        b1, b2 = self.beta_1, self.beta_2
        m, v = slots[0], slots[1]
        # m += (1 - b1) * (g - m); v += (1 - b2) * (g**2 - v): Keras's formulas, as lerps.
        torch._foreach_lerp_(m, grads, 1 - b1)
        torch._foreach_lerp_(v, torch._foreach_mul(grads, grads), 1 - b2)
        if len(slots) > 2:
            torch._foreach_maximum_(slots[2], v)
            v = slots[2]
        # [1 - b1**t, 1 - b2**t] in one pow, from the iteration counter (no host round trip).
        c1, c2 = torch.sub(self._const(1.0), torch.pow(self._const((b1, b2)), self._iterations + 1)).unbind()
        alpha = torch.sqrt(c2).mul_(lr).div_(c1)
        denom = torch._foreach_sqrt(v)
        self._add_scalar_(denom, self.epsilon)
        torch._foreach_div_(denom, alpha)  # w -= m / ((sqrt(v) + eps) / alpha)
        torch._foreach_addcdiv_(variables, m, denom, value=-1.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay, Keras's defaults: ``weight_decay=0.004`` (required),
    ``learning_rate=0.001``. Before each Adam step every variable not excluded by
    ``exclude_from_weight_decay`` is scaled by ``1 - weight_decay * lr``.

    Difference from ``torch.optim.AdamW``: the decay is the same (``w *= 1 - lr * wd``), but the
    Adam step differs as described in ``Adam``, and torch's default ``weight_decay`` is 0.01.
    """

    _keras_module = "keras.src.backend.torch.optimizers.torch_adamw"

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float | None = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                         weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        if self.weight_decay is None:  # Keras's message
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")


class RMSprop(Optimizer):
    """RMSprop. Defaults: ``learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
    centered=False``.

    Keras's rule::

        s = rho * s + (1 - rho) * g**2
        a = rho * a + (1 - rho) * g                     (centered)
        d = sqrt(s - a**2 + epsilon)  if centered else  sqrt(s + epsilon)
        inc = lr * g / d
        m = momentum * m + inc; w = w - m               (momentum > 0)
        w = w - inc                                     (otherwise)

    Difference from ``torch.optim.RMSprop``: torch adds epsilon outside the square root
    (``sqrt(s) + eps``, default ``eps=1e-8``), defaults ``alpha`` (Keras's ``rho``) to 0.99 and
    ``lr`` to 0.01, and its momentum buffer accumulates ``g / d`` and is scaled by the current
    ``lr`` at each step (Keras's accumulates ``lr * g / d``).
    """

    _keras_module = "keras.src.backend.torch.optimizers.torch_rmsprop"

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
                 centered: bool = False, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor, gradient_accumulation_steps=gradient_accumulation_steps,
                         name=name, **kwargs)
        owner = type(self).__name__
        self.rho = _real(rho, "rho", owner, 0.0, 1.0)
        self.momentum = _real(momentum, "momentum", owner, 0.0, 1.0)
        self.epsilon = _real(epsilon, "epsilon", owner, 0.0)
        self.centered = centered

    def _build_slots(self, variables: list[torch.Tensor]) -> None:
        (vel,) = self._add_slots(variables, ["velocity"])
        mom = self._add_slots(variables, ["momentum"])[0] if self.momentum > 0 else []
        avg = self._add_slots(variables, ["average_gradient"])[0] if self.centered else []
        self._slot_groups = (vel, mom, avg)

    def _update(self, variables: list[torch.Tensor], grads: list[torch.Tensor], slots: tuple,
                lr: torch.Tensor) -> None:
        rho = self.rho
        vel, mom, avg = slots
        torch._foreach_mul_(vel, self._const(rho))
        torch._foreach_addcmul_(vel, grads, grads, value=1 - rho)
        denom = self._add_scalar(vel, self.epsilon)
        if avg:
            torch._foreach_mul_(avg, self._const(rho))
            torch._foreach_add_(avg, grads, alpha=1 - rho)
            torch._foreach_addcmul_(denom, avg, avg, value=-1.0)
        torch._foreach_sqrt_(denom)
        torch._foreach_div_(denom, lr)  # inc = g / (d / lr)
        if mom:
            torch._foreach_mul_(mom, self._const(self.momentum))
            torch._foreach_addcdiv_(mom, grads, denom)
            torch._foreach_sub_(variables, mom)
        else:
            torch._foreach_addcdiv_(variables, grads, denom, value=-1.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad. Defaults: ``learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7``.

    Keras's rule (the accumulator starts at ``initial_accumulator_value``)::

        acc = acc + g**2
        w = w - lr * g / sqrt(acc + epsilon)

    Difference from ``torch.optim.Adagrad``: torch adds epsilon outside the root
    (``sqrt(acc) + eps``, eps 1e-10), starts the accumulator at 0 and defaults ``lr`` to 0.01; it
    also has ``lr_decay``, which Keras does not.
    """

    _keras_module = "keras.src.backend.torch.optimizers.torch_adagrad"

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor, gradient_accumulation_steps=gradient_accumulation_steps,
                         name=name, **kwargs)
        owner = type(self).__name__
        self.initial_accumulator_value = _real(initial_accumulator_value, "initial_accumulator_value", owner, 0.0)
        self.epsilon = _real(epsilon, "epsilon", owner, 0.0)

    def _build_slots(self, variables: list[torch.Tensor]) -> None:
        self._slot_groups = self._add_slots(variables, ["accumulator"], fill=float(self.initial_accumulator_value))

    def _update(self, variables: list[torch.Tensor], grads: list[torch.Tensor], slots: tuple,
                lr: torch.Tensor) -> None:
        acc = slots[0]
        torch._foreach_addcmul_(acc, grads, grads)
        denom = self._add_scalar(acc, self.epsilon)
        torch._foreach_sqrt_(denom)
        torch._foreach_div_(denom, lr)
        torch._foreach_addcdiv_(variables, grads, denom, value=-1.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta. Defaults: ``learning_rate=0.001, rho=0.95, epsilon=1e-7``.

    Keras's rule::

        Eg = rho * Eg + (1 - rho) * g**2
        d = sqrt(Ed + epsilon) / sqrt(Eg + epsilon) * g
        Ed = rho * Ed + (1 - rho) * d**2
        w = w - lr * d

    ``torch.optim.Adadelta`` computes the same rule, with other defaults (``lr=1.0``, ``rho=0.9``,
    ``eps=1e-6``); it is not called because it reads its learning rate as a host float and its
    per-step Python bookkeeping costs more than this whole update.
    """

    _keras_module = "keras.src.backend.torch.optimizers.torch_adadelta"

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor, gradient_accumulation_steps=gradient_accumulation_steps,
                         name=name, **kwargs)
        owner = type(self).__name__
        self.rho = _real(rho, "rho", owner, 0.0, 1.0)
        self.epsilon = _real(epsilon, "epsilon", owner, 0.0)

    def _build_slots(self, variables: list[torch.Tensor]) -> None:
        self._slot_groups = self._add_slots(variables, ["accumulated_grad", "accumulated_delta_var"])

    def _update(self, variables: list[torch.Tensor], grads: list[torch.Tensor], slots: tuple,
                lr: torch.Tensor) -> None:
        rho, eps = self.rho, self.epsilon
        acc_g, acc_d = slots
        torch._foreach_mul_(acc_g, self._const(rho))
        torch._foreach_addcmul_(acc_g, grads, grads, value=1 - rho)
        delta = self._add_scalar(acc_d, eps)
        torch._foreach_sqrt_(delta)
        torch._foreach_mul_(delta, grads)
        denom = self._add_scalar(acc_g, eps)
        torch._foreach_sqrt_(denom)
        torch._foreach_div_(delta, denom)
        torch._foreach_mul_(acc_d, self._const(rho))
        torch._foreach_addcmul_(acc_d, delta, delta, value=1 - rho)
        torch._foreach_mul_(delta, lr)
        torch._foreach_sub_(variables, delta)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adamax(Optimizer):
    """Adamax (Adam with the infinity norm). Defaults: ``learning_rate=0.001, beta_1=0.9,
    beta_2=0.999, epsilon=1e-7``.

    Keras's rule, at step ``t = iterations + 1``::

        m = beta_1 * m + (1 - beta_1) * g
        u = max(beta_2 * u, |g|)
        w = w - lr * m / ((1 - beta_1**t) * (u + epsilon))

    Difference from ``torch.optim.Adamax``: torch puts epsilon inside the max
    (``u = max(beta_2 * u, |g| + eps)``, eps 1e-8) and defaults ``lr`` to 0.002.
    """

    _keras_module = "keras.src.backend.torch.optimizers.torch_adamax"

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor, gradient_accumulation_steps=gradient_accumulation_steps,
                         name=name, **kwargs)
        owner = type(self).__name__
        self.beta_1 = _real(beta_1, "beta_1", owner, 0.0, 1.0)
        self.beta_2 = _real(beta_2, "beta_2", owner, 0.0, 1.0)
        self.epsilon = _real(epsilon, "epsilon", owner, 0.0)

    def _build_slots(self, variables: list[torch.Tensor]) -> None:
        self._slot_groups = self._add_slots(variables, ["momentum", "norm"])

    def _update(self, variables: list[torch.Tensor], grads: list[torch.Tensor], slots: tuple,
                lr: torch.Tensor) -> None:
        b1 = self.beta_1
        m, u = slots
        torch._foreach_mul_(m, self._const(b1))
        torch._foreach_add_(m, grads, alpha=1 - b1)
        torch._foreach_mul_(u, self._const(self.beta_2))
        torch._foreach_maximum_(u, torch._foreach_abs(grads))
        scale = torch.sub(self._const(1.0), torch.pow(self._const(b1), self._iterations + 1))
        scale = torch.div(lr, scale)  # lr / (1 - b1**t)
        denom = self._add_scalar(u, self.epsilon)
        torch._foreach_div_(denom, scale)
        torch._foreach_addcdiv_(variables, m, denom, value=-1.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Nadam (Adam with Nesterov momentum). Defaults: ``learning_rate=0.001, beta_1=0.9,
    beta_2=0.999, epsilon=1e-7``.

    Keras's rule, at step ``t = iterations + 1``, with the momentum cache ``u_product`` (a state
    tensor starting at 1, the last of ``variables``)::

        u_t  = beta_1 * (1 - 0.5 * 0.96**t);  u_t1 = beta_1 * (1 - 0.5 * 0.96**(t + 1))
        u_product = u_product * u_t
        m = beta_1 * m + (1 - beta_1) * g;   v = beta_2 * v + (1 - beta_2) * g**2
        m_hat = u_t1 * m / (1 - u_product * u_t1) + (1 - u_t) * g / (1 - u_product)
        v_hat = v / (1 - beta_2**t)
        w = w - lr * m_hat / (sqrt(v_hat) + epsilon)

    Difference from ``torch.optim.NAdam``: torch's momentum schedule is
    ``beta_1 * (1 - 0.5 * 0.96**(t * momentum_decay))`` with ``momentum_decay=0.004`` (Keras has no
    such factor: its ``u_t`` reaches ``beta_1`` within ~100 steps), its epsilon is 1e-8 and its
    ``lr`` default 0.002.
    """

    _keras_module = "keras.src.backend.torch.optimizers.torch_nadam"

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor, gradient_accumulation_steps=gradient_accumulation_steps,
                         name=name, **kwargs)
        owner = type(self).__name__
        self.beta_1 = _real(beta_1, "beta_1", owner, 0.0, 1.0)
        self.beta_2 = _real(beta_2, "beta_2", owner, 0.0, 1.0)
        self.epsilon = _real(epsilon, "epsilon", owner, 0.0)

    def _build_slots(self, variables: list[torch.Tensor]) -> None:
        self._slot_groups = self._add_slots(variables, ["momentum", "velocity"])
        dtype = variables[0].dtype if variables else _F32
        self._u_product = torch.ones((), dtype=dtype, device=self._iterations.device)
        self._state.append(self._u_product)
        self._state_names.append("variable")

    def _update(self, variables: list[torch.Tensor], grads: list[torch.Tensor], slots: tuple,
                lr: torch.Tensor) -> None:
        b1, b2 = self.beta_1, self.beta_2
        t = self._iterations + 1
        u_t = torch.pow(0.96, t).mul_(-0.5).add_(1.0).mul_(b1)
        u_t1 = torch.pow(0.96, t + 1).mul_(-0.5).add_(1.0).mul_(b1)
        u_prod = self._u_product.mul_(u_t)
        c_m = u_t1 / torch.rsub(u_prod * u_t1, 1)  # u_t1 / (1 - u_product_{t+1})
        c_g = torch.rsub(u_t, 1).div_(torch.rsub(u_prod, 1))  # (1 - u_t) / (1 - u_product_t)
        m, v = slots
        torch._foreach_mul_(m, self._const(b1))
        torch._foreach_add_(m, grads, alpha=1 - b1)
        torch._foreach_mul_(v, self._const(b2))
        torch._foreach_addcmul_(v, grads, grads, value=1 - b2)
        m_hat = torch._foreach_mul(m, c_m)
        torch._foreach_add_(m_hat, torch._foreach_mul(grads, c_g))
        denom = torch._foreach_div(v, torch.rsub(torch.pow(b2, t), 1))
        torch._foreach_sqrt_(denom)
        self._add_scalar_(denom, self.epsilon)
        torch._foreach_div_(denom, lr)
        torch._foreach_addcdiv_(variables, m_hat, denom, value=-1.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Lion(Optimizer):
    """Lion (evolved sign momentum). Defaults: ``learning_rate=0.001, beta_1=0.9, beta_2=0.99``.

    Keras's rule::

        w = w - lr * sign(beta_1 * m + (1 - beta_1) * g)
        m = beta_2 * m + (1 - beta_2) * g

    ``torch.optim`` has no Lion. The ops are Keras's own, in its order, so the sign is taken of
    the bitwise same value (a rounding difference could flip a near-zero sign).
    """

    _keras_module = "keras.src.backend.torch.optimizers.torch_lion"

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.99,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor, gradient_accumulation_steps=gradient_accumulation_steps,
                         name=name, **kwargs)
        if (isinstance(beta_1, bool) or not isinstance(beta_1, numbers.Real) or not math.isfinite(beta_1)
                or beta_1 <= 0 or beta_1 > 1):  # Keras's message
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer degenerates to "
                             f"SignSGD. Received: beta_1={beta_1}.")
        self.beta_1 = beta_1
        self.beta_2 = _real(beta_2, "beta_2", type(self).__name__, 0.0, 1.0)

    def _build_slots(self, variables: list[torch.Tensor]) -> None:
        self._slot_groups = self._add_slots(variables, ["momentum"])

    def _update(self, variables: list[torch.Tensor], grads: list[torch.Tensor], slots: tuple,
                lr: torch.Tensor) -> None:
        b1, b2 = self.beta_1, self.beta_2
        m = slots[0]
        c = torch._foreach_mul(m, self._const(b1))
        torch._foreach_add_(c, grads, alpha=1 - b1)
        torch._foreach_sign_(c)
        torch._foreach_mul_(c, lr)
        torch._foreach_sub_(variables, c)
        torch._foreach_mul_(m, self._const(b2))
        torch._foreach_add_(m, grads, alpha=1 - b2)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


# ---------------------------------------------------------------------------------------------
# get / serialize / deserialize

ALL_OBJECTS: dict[str, type] = {
    cls.__name__: cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion)
}
_BY_LOWER = {k.lower(): v for k, v in ALL_OBJECTS.items()}
# Keras 3.15.1 string ids that initium does not implement (keras.optimizers.ALL_OBJECTS_DICT).
_KERAS_ONLY = {"adafactor": "Adafactor", "ftrl": "Ftrl", "muon": "Muon", "lossscaleoptimizer": "LossScaleOptimizer",
               "schedulefreeadamw": "ScheduleFreeAdamW", "multioptimizer": "MultiOptimizer",
               "optimizermap": "OptimizerMap", "optimizer": "Optimizer"}
_FOREIGN_NAMES = {"rms_prop": "rmsprop", "rms": "rmsprop", "adam_w": "adamw", "nag": "sgd", "momentum": "sgd",
                  "gd": "sgd", "gradient_descent": "sgd", "nesterov": "sgd", "radam": "adam", "ams_grad": "adam",
                  "amsgrad": "adam", "adamweightdecay": "adamw"}


def _suggest(name: str) -> str | None:
    low = name.lower().strip()
    squashed = low.replace("_", "").replace("-", "").replace(" ", "")
    if squashed in _BY_LOWER:
        return squashed
    if low in _FOREIGN_NAMES:
        return _FOREIGN_NAMES[low]
    close = difflib.get_close_matches(low, list(_BY_LOWER), n=1, cutoff=0.6)
    return close[0] if close else None


def _unknown(identifier: Any, name: Any = None) -> ValueError:
    name = identifier if name is None else name
    low = name.lower() if isinstance(name, str) else None
    valid = ", ".join(sorted(_BY_LOWER))
    if low in _KERAS_ONLY:
        what = ("the abstract base class; pick a concrete optimizer" if low == "optimizer"
                else "a Keras optimizer that initium does not implement")
        return ValueError(f"Could not interpret optimizer identifier: {identifier}. {_KERAS_ONLY[low]} is {what}. "
                          f"Available: {valid}.")
    hint = _suggest(name) if isinstance(name, str) else None
    did = f" Did you mean '{hint}'?" if hint else ""
    return ValueError(
        f"Could not interpret optimizer identifier: {identifier}.{did} Valid names (case-insensitive): {valid}. A "
        "custom optimizer must be registered with @initium.saving.register_keras_serializable() or passed in "
        "custom_objects."
    )


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """Keras's serialized dict. For the built-ins it is what Keras's torch backend writes:
    ``{"module": "keras.src.backend.torch.optimizers.torch_adam", "class_name": "Adam",
    "config": {...}, "registered_name": "Adam"}``."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"serialize expects an initium Optimizer. Received: {optimizer!r} (of type "
                        f"{type(optimizer).__name__})")
    cls = type(optimizer)
    if ALL_OBJECTS.get(cls.__name__) is cls:
        return {"module": cls._keras_module, "class_name": cls.__name__, "config": optimizer.get_config(),
                "registered_name": cls.__name__}
    return {"module": None if cls.__module__ == "__main__" else cls.__module__, "class_name": cls.__name__,
            "config": optimizer.get_config(), "registered_name": registry.get_registered_name(cls)}


def _builtin_module(module: Any) -> bool:
    return module is None or (isinstance(module, str) and module.split(".")[0] in ("keras", "initium", "tensorflow"))


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Optimizer:
    """Build an optimizer from a serialized dict (or a name). Built-in class names match
    case-insensitively (Keras's rule); only built-in, registered and ``custom_objects`` classes are
    instantiated, and a module named in the config is never imported."""
    if isinstance(config, Optimizer):
        return config
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "An optimizer config must be a dict with a 'class_name' key (and usually 'config'), as serialize() "
            f"returns. Received: {config!r}"
        )
    class_name, inner = config["class_name"], config.get("config") or {}
    module, registered = config.get("module"), config.get("registered_name")
    if not isinstance(inner, dict):
        raise ValueError(f"The 'config' of optimizer {class_name!r} must be a dict. Received: {inner!r}")
    cls = None
    if isinstance(registered, str) and registered != class_name:
        cls = registry.get_registered_object(registered, custom_objects)
    if cls is None and isinstance(class_name, str):
        cls = registry.get_registered_object(class_name, custom_objects)
    if cls is None and isinstance(class_name, str) and _builtin_module(module):
        cls = _BY_LOWER.get(class_name.lower())
    if cls is None:
        raise _unknown(class_name if not config.get("config") else config, class_name)
    if not inspect.isclass(cls) or not issubclass(cls, Optimizer):
        raise ValueError(f"Could not interpret optimizer identifier: {class_name} (it names "
                         f"{getattr(cls, '__name__', cls)!r}, not an Optimizer subclass).")
    try:
        return cls.from_config(dict(inner), custom_objects=custom_objects)
    except TypeError as e:
        accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")]
        raise TypeError(f"{cls.__name__} could not be built from config={inner!r}. It accepts: "
                        f"{', '.join(accepted)}. ({e})") from e


def get(identifier: Any) -> Optimizer | None:
    """Resolve an optimizer: a name (case-insensitive: ``'adam'``, ``'Adam'``, ``'RMSprop'``), a
    config dict, an instance (returned as is) or an optimizer class (instantiated with defaults).

    >>> get("adam").get_config()["learning_rate"]
    0.0010000000474974513
    """
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Optimizer):
        if identifier is Optimizer:
            raise ValueError("Could not interpret optimizer identifier: Optimizer. It is the abstract base class; "
                             f"pick a concrete optimizer: {', '.join(sorted(_BY_LOWER))}.")
        return identifier()
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    raise ValueError(
        f"Could not interpret optimizer identifier: {identifier} (of type {type(identifier).__name__}). Pass a name "
        "such as 'adam', an Optimizer instance or class, or a config dict."
    )
