"""A model's own ``train_step``/``test_step``/``predict_step`` inside ``fit``/``evaluate``/``predict``.

Keras lets a ``Model`` subclass override its steps (the "customizing what happens in fit" guide):
``train_step(data)`` gets the batch as ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` and returns
a dict of logs. The trainer runs its own fused step unless the model's class overrides a step, or
``compute_loss``/``compute_metrics`` that the default steps call; then the batch goes through the
model's method, and the logs the callbacks and the History see are what it returned, flattened
(a nested dict adds its entries) and converted to Python numbers.

As in Keras, an epoch's logs are the model's ``get_metrics_result()`` when the step returned the
same keys, and the last step's own dict otherwise.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["CustomSteps", "custom_steps_for"]

_TRAIN_HOOKS = ("train_step", "compute_loss", "compute_metrics")
_TEST_HOOKS = ("test_step", "compute_loss", "compute_metrics")


def _overrides(model: Any, names: tuple[str, ...]) -> bool:
    from initium.models.model import Model

    return any(getattr(type(model), name) is not getattr(Model, name) for name in names)


def custom_steps_for(model: Any, trainer: Any) -> "CustomSteps | None":
    """A ``CustomSteps`` when ``model``'s class overrides a step (or what the steps call), else None."""
    from initium.models.model import Model

    if not isinstance(model, Model):
        return None
    steps = CustomSteps(model, trainer)
    return steps if steps.train or steps.test or steps.predict else None


class CustomSteps:
    """Calls the model's overridden steps and keeps the logs of the last one."""

    def __init__(self, model: Any, trainer: Any) -> None:
        self.model, self.trainer = model, trainer
        self.train = _overrides(model, _TRAIN_HOOKS)
        self.test = _overrides(model, _TEST_HOOKS)
        self.predict = _overrides(model, ("predict_step",))
        self.last_logs: dict[str, Any] | None = None

    def _ready(self, x: Any, y: Any) -> None:
        """Build the model and resolve the compiled metrics (they need a batch's shapes) before the
        model's own step loops over ``self.metrics``."""
        trainer = self.trainer
        if trainer._metrics is None and y is not None:
            with torch.no_grad():
                trainer._resolve_metrics(y, self.model(x, training=False))
        if not trainer._prepared:
            trainer._prepare()

    def train_step(self, x: Any, y: Any, sw: Any) -> None:
        self._ready(x, y)
        self.last_logs = self.model.train_step(_pack(x, y, sw))

    def test_step(self, x: Any, y: Any, sw: Any) -> None:
        self._ready(x, y)
        with torch.no_grad():
            self.last_logs = self.model.test_step(_pack(x, y, sw))

    def reset(self) -> None:
        self.last_logs = None
        for metric in self.model.metrics:
            metric.reset_state()

    def logs(self) -> dict[str, Any] | None:
        """The logs of the last step as Python values, or None before the first step of a loop."""
        if self.last_logs is None:
            return None
        logs = self.last_logs
        if isinstance(logs, dict):
            current = self.model.get_metrics_result()
            if set(_flatten(logs)) == set(_flatten(current)):
                logs = current
        return {k: _python(v) for k, v in _flatten(logs).items()}


def predict_batch(model: Any, x: Any) -> Any:
    """One batch of ``predict``: the model's own ``predict_step((x,))`` if it overrides it."""
    if _overrides(model, ("predict_step",)):
        return model.predict_step((x,))
    return model(x, training=False)


def _pack(x: Any, y: Any, sw: Any) -> tuple:
    """The batch as Keras hands it to a step: ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``."""
    if y is None:
        return (x,)
    return (x, y) if sw is None else (x, y, sw)


def _flatten(logs: Any) -> dict[str, Any]:
    if not isinstance(logs, dict):
        raise ValueError("A custom train_step/test_step must return a dict of logs, e.g. "
                         f"{{m.name: m.result() for m in self.metrics}}. Received: {type(logs).__name__}")
    flat: dict[str, Any] = {}
    for key, value in logs.items():
        if isinstance(value, dict):
            flat.update(_flatten(value))
        else:
            flat[key] = value
    return flat


def _python(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        return float(value) if value.ndim == 0 else value.numpy()
    return value
