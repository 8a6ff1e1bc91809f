"""``Model``: a Layer with model-level methods. ``Model(inputs, outputs)`` builds a functional
model; subclass ``Model`` and write ``call`` for a subclassed one; see also ``Sequential``."""

from __future__ import annotations

import json
from typing import Any, Callable

import torch
from torch.utils import _pytree as pytree

from initium.layers.layer import Layer
from initium.layers.symbolic import KerasTensor

__all__ = ["Model"]


class Model(Layer):
    """A model: ``Model(inputs, outputs)`` (functional) or a subclass with ``call`` (subclassed).

    A model is a ``torch.nn.Module``: ``model.to("cuda")``, ``model.parameters()`` and
    ``model.state_dict()`` work as for any module.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> "Model":
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from initium.models.functional import Functional

            return super().__new__(Functional)
        return super().__new__(cls, *args, **kwargs)  # a subclass's arguments are its automatic config

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if _functional_arguments(args, kwargs):  # CustomModel(inputs, outputs): a functional CustomModel
            from initium.models.functional import Functional

            _make_functional(type(self))
            Functional.__init__(self, *args, **kwargs)
            return
        if args:
            raise TypeError(
                f"{type(self).__name__}.__init__ takes keyword arguments only (name=, trainable=, dtype=). "
                "For a functional model write Model(inputs, outputs)."
            )
        if "name" not in kwargs or kwargs["name"] is None:
            from initium import backend
            from initium.layers.layer import _snake

            kwargs["name"] = backend.unique_name(_snake(type(self).__name__))
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ layers
    @property
    def layers(self) -> list[Layer]:
        """The model's direct sub-layers (a new list)."""
        return list(self._flatten_layers(recursive=False))

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called ``name``, or at position ``index`` of ``layers`` (negative counts from
        the end, as in Keras); exactly one of the two."""
        if name is not None and index is not None:
            raise ValueError(f"Provide only a layer name or a layer index. Received: index={index}, name={name}.")
        if name is None and index is None:
            raise ValueError("Provide either a layer name or layer index at `get_layer`.")
        layers = self.layers
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, int):
                raise TypeError(f"get_layer: `index` must be an integer (a position in model.layers). "
                                f"Received: index={index!r} of type {type(index).__name__}")
            if len(layers) <= index:
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model only has {len(layers)} layers."
                )
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[l.name for l in layers]}.")

    def build(self, input_shape: Any = None) -> None:
        """Build a subclassed model by calling it once on zeros of ``input_shape`` (None -> 1)."""
        if input_shape is None:
            return
        if type(self).call is Model.call:
            raise ValueError(f"Model '{self.name}' has no `call` method to build with.")

        def zeros(shape: Any) -> torch.Tensor:
            return torch.zeros(tuple(1 if d is None else d for d in shape))

        from initium.layers.layer import _is_shape

        x = zeros(input_shape) if _is_shape(input_shape) else pytree.tree_map(zeros, input_shape, is_leaf=_is_shape)
        self.built = True  # so that __call__ does not recurse into build
        with torch.no_grad():
            self.call(x, **({"training": False} if self._accepts()[0] else {}))

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        raise NotImplementedError(
            f"Model '{self.name}' ({type(self).__name__}) has no `call`. Subclasses of Model must implement "
            "call(self, inputs, training=None); or use Model(inputs, outputs) or Sequential([...])."
        )

    # ------------------------------------------------------------------ training (initium.training.trainer)
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None, metrics: Any = None,
                weighted_metrics: Any = None, run_eagerly: bool = False, steps_per_execution: int = 1,
                jit_compile: Any = "auto", auto_scale_loss: bool = True) -> None:
        """Configure training: Keras's arguments and defaults (optimizer 'rmsprop').

        ``metrics`` are computed without sample weights and ``weighted_metrics`` with them (a weighted
        metric named like an unweighted one is logged as ``weighted_<name>``).
        ``steps_per_execution=N`` (a positive integer) calls the batch callbacks and the progress bar
        once per N batches. ``jit_compile=True`` captures the whole training step in a CUDA graph on a
        CUDA model (:mod:`initium.training.capture`); where it cannot (on the CPU, say) it warns once
        with the reason and runs the forward pass and loss under ``torch.compile``; ``run_eagerly=True`` never compiles (see ``run_eagerly``). ``auto_scale_loss`` acts in Keras only
        under the ``mixed_float16`` policy, which initium does not have: it is checked and recorded.
        Details: :mod:`initium.training.trainer`.
        """
        from initium.training.trainer import Trainer

        self._trainer = Trainer(self, optimizer=optimizer, loss=loss, loss_weights=loss_weights, metrics=metrics,
                                weighted_metrics=weighted_metrics, run_eagerly=run_eagerly,
                                steps_per_execution=steps_per_execution, jit_compile=jit_compile,
                                auto_scale_loss=auto_scale_loss)
        self.compiled = True

    def get_compile_config(self) -> dict[str, Any] | None:
        """The ``compile`` arguments in Keras's saved form (``config.json["compile_config"]``)."""
        trainer = self.__dict__.get("_trainer")
        if trainer is None:
            return None
        from initium import losses, metrics as metrics_mod, optimizers

        return {"optimizer": optimizers.serialize(trainer.optimizer),
                "loss": _serialize_spec(trainer.loss_spec, losses.serialize),
                "loss_weights": trainer.loss_weights,
                "metrics": _serialize_spec(trainer.metrics_spec, metrics_mod.serialize),
                "weighted_metrics": _serialize_spec(trainer.weighted_metrics_spec, metrics_mod.serialize),
                "run_eagerly": trainer.run_eagerly, "steps_per_execution": trainer.steps_per_execution,
                "jit_compile": bool(trainer.jit_compile),
                # Keras's compile_config has no such key; written only when it differs from the default
                **({} if trainer.auto_scale_loss else {"auto_scale_loss": False})}

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """``compile`` from a saved ``compile_config`` (Keras's or initium's)."""
        if not isinstance(config, dict):
            raise ValueError(f"compile_from_config expects a dict. Received: {type(config).__name__}")
        from initium import losses, metrics as metrics_mod, optimizers

        optimizer = config.get("optimizer", "rmsprop")
        optimizer = optimizers.deserialize(optimizer) if isinstance(optimizer, dict) else optimizer
        self.compile(optimizer=optimizer,
                     loss=_deserialize_spec(config.get("loss"), losses.deserialize),
                     loss_weights=config.get("loss_weights"),
                     metrics=_deserialize_spec(config.get("metrics"), metrics_mod.deserialize),
                     weighted_metrics=_deserialize_spec(config.get("weighted_metrics"), metrics_mod.deserialize),
                     run_eagerly=bool(config.get("run_eagerly", False)),
                     steps_per_execution=config.get("steps_per_execution", 1),
                     jit_compile=bool(config.get("jit_compile", False)) or "auto",
                     auto_scale_loss=bool(config.get("auto_scale_loss", True)))

    # ------------------------------------------------------------------ saving (initium.saving.keras_format)
    def save(self, filepath: Any, overwrite: bool = True, zipped: bool | None = None, **kwargs: Any) -> None:
        """Save as a Keras 3 ``.keras`` archive (config, weights, optimizer state), atomically."""
        from initium import distribution
        from initium.saving.keras_format import save_model

        if not distribution.is_rank_zero():  # under torchrun, rank 0 alone writes files
            return
        save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath: Any, overwrite: bool = True, max_shard_size: Any = None) -> None:
        """Save the weights in Keras 3's ``.weights.h5`` layout, atomically."""
        if max_shard_size is not None:
            raise ValueError("save_weights(max_shard_size=...) (sharded weights) is not supported by initium.")
        from initium import distribution
        from initium.saving.keras_format import save_weights

        if not distribution.is_rank_zero():  # under torchrun, rank 0 alone writes files
            return
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: Any, skip_mismatch: bool = False, **kwargs: Any) -> None:
        """Load weights from a ``.weights.h5`` or ``.keras`` file written by Keras 3 or initium."""
        if kwargs:
            raise TypeError(f"load_weights() got unexpected arguments {sorted(kwargs)}.")
        from initium.saving.keras_format import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch)

    @property
    def run_eagerly(self) -> bool:
        """Whether training steps run eagerly, never under ``torch.compile`` (Keras's property).

        Set by ``compile(run_eagerly=...)`` (False by default); assigning it takes effect from the
        next step, and before ``compile`` it holds until ``compile`` sets it again, as in Keras.
        """
        trainer = self.__dict__.get("_trainer")
        return trainer.run_eagerly if trainer is not None else self.__dict__.get("_run_eagerly", False)

    @run_eagerly.setter
    def run_eagerly(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise ValueError(f"Model '{self.name}': `run_eagerly` must be True or False. Received: {value!r}")
        trainer = self.__dict__.get("_trainer")
        if trainer is not None:
            trainer.run_eagerly = value
        self.__dict__["_run_eagerly"] = value

    @property
    def optimizer(self) -> Any:
        trainer = self.__dict__.get("_trainer")
        return trainer.optimizer if trainer is not None else None

    @property
    def loss(self) -> Any:
        trainer = self.__dict__.get("_trainer")
        return trainer.loss_spec if trainer is not None else None

    @property
    def metrics(self) -> list:
        """The loss tracker and compiled metrics, then the metrics the model holds as attributes
        (``self.loss_tracker = Mean(name="loss")``), in Keras's order."""
        from initium.metrics import Metric

        trainer = self.__dict__.get("_trainer")
        compiled = trainer.metrics() if trainer is not None else []
        own = [v for v in vars(self).values() if isinstance(v, Metric) and all(v is not m for m in compiled)]
        return compiled + own

    def reset_metrics(self) -> None:
        """Reset the state of every metric in ``metrics``."""
        for metric in self.metrics:
            metric.reset_state()

    # ------------------------------------------------------------------ steps a subclass may override
    # fit/evaluate/predict call these only when a subclass overrides one of them (or compute_loss or
    # compute_metrics); otherwise they run the trainer's own fused step, which computes the same thing.
    def train_step(self, data: Any) -> dict[str, Any]:
        """One training step on a batch ``data`` (``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``),
        as Keras's torch backend writes it: forward, ``compute_loss``, ``backward``,
        ``optimizer.apply``, then ``compute_metrics``. Returns the logs."""
        x, y, sample_weight = _unpack(data)
        y_pred = self(x, training=True)
        self.zero_grad()
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
        self._compiled("train_step").loss_tracker.update_state(loss.detach(), sample_weight=_batch_size(x))
        weights = self.trainable_weights
        if weights:
            loss.backward()
            with torch.no_grad():
                self.optimizer.apply([w.grad for w in weights], weights)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def test_step(self, data: Any) -> dict[str, Any]:
        """One evaluation step (``training=False``, run under ``torch.no_grad``): ``compute_loss`` and
        ``compute_metrics``."""
        x, y, sample_weight = _unpack(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
        self._compiled("test_step").loss_tracker.update_state(loss, sample_weight=_batch_size(x))
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def predict_step(self, data: Any) -> Any:
        """The predictions for one batch (``training=False``)."""
        x, _, _ = _unpack(data)
        return self(x, training=False)

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> torch.Tensor:
        """The compiled loss of ``(y, y_pred)`` plus the regularization and ``add_loss`` terms (Keras's
        ``Model.compute_loss``; ``x`` and ``training`` are for overrides)."""
        trainer = self._compiled("compute_loss")
        if not trainer._prepared:
            trainer._prepare()
        loss = trainer.compute_loss(y, y_pred, sample_weight) if trainer._losses is not None else None
        extra = trainer._extra_losses()
        if loss is None and extra is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return extra if loss is None else loss if extra is None else loss + extra

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> dict[str, Any]:
        """Update the compiled metrics with ``(y, y_pred)`` and return ``get_metrics_result()``."""
        if y is not None:
            self._compiled("compute_metrics")._update_metrics(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict[str, Any]:
        """``{name: result}`` for every metric in ``metrics`` (a metric whose result is a dict adds
        its entries)."""
        results: dict[str, Any] = {}
        for metric in self.metrics:
            value = metric.result()
            if isinstance(value, dict):
                results.update(value)
            else:
                results[metric.name] = value
        return results

    def _compiled(self, what: str) -> Any:
        trainer = self.__dict__.get("_trainer")
        if trainer is None:
            raise ValueError(f"Model '{self.name}': call `compile()` before `{what}` (it uses the compiled loss, "
                             "metrics and optimizer), e.g. model.compile(optimizer='adam', loss='mse').")
        return trainer

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1, verbose: Any = "auto",
            callbacks: Any = None, validation_split: float = 0.0, validation_data: Any = None, shuffle: bool = True,
            class_weight: Any = None, sample_weight: Any = None, initial_epoch: int = 0,
            steps_per_epoch: int | None = None, validation_steps: int | None = None,
            validation_batch_size: int | None = None, validation_freq: int = 1) -> Any:
        """Train (Keras's arguments and defaults: batch_size 32, verbose 'auto'); returns a History."""
        from initium.training import trainer

        return trainer.fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                           shuffle, class_weight, sample_weight, initial_epoch, steps_per_epoch, validation_steps,
                           validation_batch_size, validation_freq)

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: Any = "auto",
                 sample_weight: Any = None, steps: int | None = None, callbacks: Any = None,
                 return_dict: bool = False) -> Any:
        """``[loss, *metrics]`` in compile order (a scalar when there are no metrics)."""
        from initium.training import trainer

        return trainer.evaluate(self, x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict)

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto", steps: int | None = None,
                callbacks: Any = None) -> Any:
        """Batched inference (training=False); returns numpy arrays."""
        from initium.training import trainer

        return trainer.predict(self, x, batch_size, verbose, steps, callbacks)

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: Any = None,
                       return_dict: bool = False) -> Any:
        from initium.training import trainer

        return trainer.train_on_batch(self, x, y, sample_weight, class_weight, return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False) -> Any:
        from initium.training import trainer

        return trainer.test_on_batch(self, x, y, sample_weight, return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        from initium import backend

        with torch.no_grad():
            out = self(x, training=False)
        return pytree.tree_map(lambda t: backend.to_numpy(t) if isinstance(t, torch.Tensor) else t, out)

    # ------------------------------------------------------------------ inspection
    def summary(self, line_length: int | None = None, positions: Any = None, print_fn: Callable | None = None,
                expand_nested: bool = False, show_trainable: bool = False, layer_range: Any = None) -> None:
        """Print a table of layers: name (type), output shape, parameter count, and the kernel and
        bias initializers (initium's addition), then the totals as Keras prints them.

        ``positions``: the right edge of each column, as fractions of ``line_length`` (all <= 1) or
        as absolute character positions; one per column shown. ``expand_nested=True`` lists the
        layers of nested models under them, indented (``└ ``). ``layer_range=(first, last)``: only
        the top-level layers from the first whose name matches ``first`` to the last whose name
        matches ``last`` (``re.match``, both inclusive), as in Keras.
        """
        from initium.models.summary import print_summary

        print_summary(self, print_fn=print_fn, line_length=line_length, positions=positions,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)

    # ------------------------------------------------------------------ config and JSON
    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "Model":
        """A functional config (with ``input_layers``) builds a functional model, as in Keras."""
        if cls is Model and "input_layers" in config and "output_layers" in config:
            from initium.models.functional import Functional

            return Functional.from_config(config, custom_objects=custom_objects)
        return super().from_config(config)

    def to_json(self, **kwargs: Any) -> str:
        """The model's architecture as Keras-compatible JSON (no weights)."""
        from initium.layers.serialization import serialize

        return json.dumps(serialize(self), default=_json_default, **kwargs)

    @property
    def inputs(self) -> list[KerasTensor]:
        raise AttributeError(f"Model '{self.name}' has no symbolic inputs (it was not built from Input).")

    @property
    def outputs(self) -> list[KerasTensor]:
        raise AttributeError(f"Model '{self.name}' has no symbolic outputs (it was not built from Input).")


def _unpack(data: Any) -> tuple[Any, Any, Any]:
    """``(x, y, sample_weight)`` from a batch ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if not 1 <= len(data) <= 3:
        raise ValueError(f"A batch must be (x,), (x, y) or (x, y, sample_weight). Received a tuple of {len(data)} "
                         "elements.")
    return (*data, *(None,) * (3 - len(data)))


def _batch_size(x: Any) -> int:
    return next(int(t.shape[0]) for t in pytree.tree_leaves(x) if t is not None)


def _functional_arguments(args: tuple, kwargs: dict) -> bool:
    """Whether a Model constructor call is ``(inputs, outputs)``, positionally or by keyword (Keras's rule)."""
    return (len(args) == 2 or (len(args) == 1 and "outputs" in kwargs)
            or ("inputs" in kwargs and "outputs" in kwargs))


def _make_functional(cls: type) -> None:
    """Rebase ``cls`` (a Model subclass built as ``cls(inputs, outputs)``) on ``Functional``, as Keras
    does: the instance is a functional model whose class keeps the subclass's own methods
    (``train_step``, ``compute_loss``...). ``Model`` is replaced by ``Functional`` among the bases of
    ``cls`` and of every Model subclass above it."""
    from initium.models.functional import Functional

    if issubclass(cls, Functional) or not issubclass(cls, Model):
        return
    bases = tuple(Functional if base is Model else base for base in cls.__bases__)
    for base in bases:
        if base is not Functional and issubclass(base, Model):
            _make_functional(base)
    if bases != cls.__bases__:
        cls.__bases__ = bases


def _serialize_spec(spec: Any, serialize: Callable) -> Any:
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        return {k: _serialize_spec(v, serialize) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [_serialize_spec(v, serialize) for v in spec]
    return serialize(spec)


def _deserialize_spec(spec: Any, deserialize: Callable) -> Any:
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, dict) and "class_name" in spec:
        return deserialize(spec)
    if isinstance(spec, dict):
        return {k: _deserialize_spec(v, deserialize) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [_deserialize_spec(v, deserialize) for v in spec]
    raise ValueError(f"compile_config: cannot read {spec!r} (expected a name or a serialized object).")


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, tuple):
        return list(o)
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable: {o!r}")
