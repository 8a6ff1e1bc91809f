"""Core layers beyond Dense: Masking, Identity, Lambda (in code; refused from files) and TorchModuleWrapper.

- ``Masking`` starts a mask: timesteps whose features all equal ``mask_value`` are masked (and
  zeroed), and downstream layers that support masking skip them.
- ``Identity`` returns its input (a placeholder that passes masks on).
- ``Lambda`` wraps a Python function as a layer. Its config is Keras's (a Python ``lambda`` is
  stored as marshalled bytecode, a named function by name), but nothing rebuilds one from a file:
  ``initium.layers.serialization`` refuses a ``Lambda`` entry, since its function is code. In code,
  ``Lambda.from_config`` resolves a *named* function through the registry or ``custom_objects``.
- ``TorchModuleWrapper`` makes any ``torch.nn.Module`` a layer: its parameters become initium
  ``Variable``s (created through ``add_weight``, with Keras's names ``variable``, ``variable_1``,
  ...) that the module itself then uses, so optimizers, ``get_weights``/``set_weights`` and
  weight files all see them. In a ``.weights.h5`` file the layer's group holds the module's
  ``state_dict`` under its own keys (``0.weight``, ``1.running_mean``, ...), buffers included,
  as Keras writes it. The module itself is never written into a config: Keras pickles it there
  (``torch.save``) and refuses to unpickle it when loading; initium refuses at saving, with the fix.
"""

from __future__ import annotations

import base64
import inspect
import marshal
import types
from typing import Any, Callable

import numpy as np
import torch
from torch.utils import _pytree as pytree

from initium import backend, initializers, registry
from initium.layers.layer import Layer
from initium.layers.serialization import check_numeric_array, register_layer
from initium.layers.symbolic import KerasTensor, shape_of

__all__ = ["Masking", "Identity", "Lambda", "TorchModuleWrapper"]


def _where(layer: Layer) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


# ------------------------------------------------------------------------------- values in configs
def _serialize_value(value: Any) -> Any:
    """Keras's ``serialize_keras_object`` for the values a Lambda's config holds: tensors and arrays
    as ``__tensor__`` / ``__numpy__`` entries, numpy scalars as numbers, containers element-wise."""
    if isinstance(value, torch.Tensor):
        return {"class_name": "__tensor__", "config": {"value": backend.to_numpy(value).tolist(),
                                                       "dtype": backend.standardize_dtype(value.dtype)}}
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return {"class_name": "__numpy__", "config": {"value": value.tolist(),
                                                      "dtype": backend.standardize_dtype(value.dtype)}}
    if isinstance(value, (np.generic, np.ndarray)):
        return value.item()
    if isinstance(value, dict):
        return {k: _serialize_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_serialize_value(v) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    return value


def _deserialize_value(value: Any, where: str) -> Any:
    """The inverse of ``_serialize_value`` (arrays are checked to be numbers, nothing else is built)."""
    if isinstance(value, dict) and value.get("class_name") in ("__tensor__", "__numpy__"):
        inner = value.get("config") or {}
        array = check_numeric_array(inner.get("value"), inner.get("dtype"), where)
        return torch.from_numpy(array) if value["class_name"] == "__tensor__" else array
    if isinstance(value, dict):
        return {k: _deserialize_value(v, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_deserialize_value(v, where) for v in value]
    return value


# ------------------------------------------------------------------------------- functions in configs
def _is_python_lambda(fn: Any) -> bool:
    return isinstance(fn, types.FunctionType) and fn.__name__ == "<lambda>"


def _function_config(fn: Any, where: str) -> dict[str, Any]:
    """How Keras writes a function into a Lambda's config.

    A Python ``lambda``: ``__lambda__`` with its marshalled bytecode (base64), defaults and closure
    values. Anything else callable: by its (registered) name, under its type, e.g.
    ``{'module': 'builtins', 'class_name': 'function', 'config': 'my_fn', 'registered_name': 'function'}``.
    """
    if _is_python_lambda(fn):
        closure = tuple(cell.cell_contents for cell in fn.__closure__) if fn.__closure__ else None
        return {"class_name": "__lambda__",
                "config": {"code": base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii"),
                           "defaults": fn.__defaults__, "closure": closure}}
    kind = type(fn)
    if hasattr(fn, "get_config"):
        inner: Any = fn.get_config()
    elif hasattr(fn, "__name__"):
        inner = registry.get_registered_name(fn)
    else:
        raise TypeError(
            f"{where}: cannot write {fn!r} (of type {kind.__name__}) into a config: it has no name and no "
            "get_config(). Use a named function (def my_fn(x): ...) instead, or a class with get_config()."
        )
    return {"module": kind.__module__, "class_name": kind.__name__, "config": inner,
            "registered_name": registry.get_registered_name(kind)}


def _function_from_config(config: Any, what: str, where: str, custom_objects: dict[str, Any] | None) -> Any:
    """A Lambda config's function entry, back to the function: named ones from the registry or
    ``custom_objects``; a stored ``lambda`` (bytecode) is refused, as Keras's safe mode refuses it."""
    if not isinstance(config, dict):
        return config
    if config.get("class_name") == "__lambda__":
        raise ValueError(
            f"Requested the deserialization of a `Lambda` layer whose `{what}` is a Python lambda ({where}). "
            "Its bytecode would have to run, and initium never runs code stored in a config (Keras refuses it "
            "too unless safe_mode=False). Rebuild the layer in code, or use a named function registered with "
            "@initium.saving.register_keras_serializable() (or passed in custom_objects)."
        )
    name = config.get("config")
    found = None
    if isinstance(name, str):
        found = registry.get_registered_object(name, custom_objects)
        if found is None and ">" in name:
            found = registry.get_registered_object(name.split(">", 1)[1], custom_objects)
    if found is None or not callable(found):
        raise ValueError(
            f"{where}: the `{what}` function {name!r} is not registered. Decorate it with "
            f"@initium.saving.register_keras_serializable() or pass custom_objects={{{name!r}: fn}}."
        )
    return found


def _parameter_names(fn: Callable[..., Any]) -> set[str]:
    """The names ``fn`` takes (empty for a callable whose signature cannot be read, e.g. some builtins)."""
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


# ------------------------------------------------------------------------------- Masking, Identity
class SameShapeLayer(Layer):
    """Base of the weightless layers whose output has the input's shape (Identity, Masking, the
    activation layers): built at construction, as Keras builds them, and a mask passes through."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


class Masking(SameShapeLayer):
    """Masks the timesteps (axis 1) whose features (the last axis) all equal ``mask_value``.

    The output is the input with masked timesteps set to 0; it carries the mask (``_keras_mask``,
    shape ``(batch, timesteps)``, True where kept), which masking-aware layers downstream (RNNs,
    pooling, attention, ...) use to skip those steps. No weights.

    Args:
        mask_value: the value that marks a padded timestep (0.0).
    """

    def __init__(self, mask_value: Any = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(mask_value, dict) and mask_value.get("config"):  # a serialized tensor, as Keras allows
            mask_value = _deserialize_value(mask_value, f"{_where(self)}, mask_value")
        self.mask_value = mask_value

    def compute_mask(self, inputs: Any, mask: Any = None) -> torch.Tensor:
        return self._kept(inputs).squeeze(-1)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.where(self._kept(inputs), inputs, torch.zeros((), dtype=inputs.dtype, device=inputs.device))

    def _kept(self, inputs: Any) -> torch.Tensor:
        """True for the timesteps with a feature that differs from ``mask_value``, shape ``(..., 1)``."""
        x = inputs if isinstance(inputs, torch.Tensor) else backend.to_tensor(inputs)
        value = self.mask_value
        if isinstance(value, (torch.Tensor, np.ndarray)):
            value = torch.as_tensor(value, device=x.device)
        return torch.any(x != value, dim=-1, keepdim=True)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}


class Identity(SameShapeLayer):
    """Returns its input unchanged (any structure, any dtype); passes the mask on. No weights."""

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        return pytree.tree_map(lambda t: KerasTensor(t.shape, dtype=t.dtype) if isinstance(t, KerasTensor) else t,
                               args[0])


# ------------------------------------------------------------------------------- Lambda
class Lambda(Layer):
    """Wraps a function ``f(inputs, **arguments)`` as a layer (no weights).

    Use it for quick experiments; for a model you will save, write a ``Layer`` subclass with a
    ``get_config`` (a Lambda is refused when loading a file, since its function is code).

    Args:
        function: any callable; receives the inputs first, then ``arguments``, and ``mask`` /
            ``training`` when its signature names them.
        output_shape: None (inferred by running the function on zeros), a shape without the batch
            axis (``(3,)``: the batch size is the input's), or a function of the full input shape.
        mask: None (the output has no mask), a function ``(inputs, mask) -> mask``, or a fixed mask.
        arguments: dict of keyword arguments for ``function``.
    """

    def __init__(self, function: Callable[..., Any], output_shape: Any = None, mask: Any = None,
                 arguments: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"{_where(self)}: `function` must be callable. Received: function={function!r} "
                            f"(of type {type(function).__name__}).")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"{_where(self)}: `arguments` must be a dict of keyword arguments for the function. "
                            f"Received: arguments={arguments!r}.")
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = output_shape
        names = _parameter_names(function)
        self._fn_expects_mask = "mask" in names
        self._fn_expects_training = "training" in names

    def call(self, inputs: Any, mask: Any = None, training: Any = None) -> Any:
        kwargs = dict(self.arguments)
        if self._fn_expects_mask:
            kwargs["mask"] = mask
        if self._fn_expects_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return self.mask(inputs, mask) if callable(self.mask) else self.mask

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        if self._output_shape is not None:
            return super().compute_output_spec(*args, **kwargs)
        try:  # shapes and dtypes from running the function on zeros (twice, to find the unknown sizes)
            return self._spec_by_running(args, kwargs)
        except Exception as e:
            raise NotImplementedError(
                f"We could not automatically infer the shape of the Lambda's output ({_where(self)}: running "
                f"its function on zeros failed with {type(e).__name__}: {e}). Please specify the `output_shape` "
                "argument for this Lambda layer."
            ) from e

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._output_shape is None:
            return pytree.tree_map(shape_of, self.compute_output_spec(_placeholders(input_shape, self.compute_dtype)))
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch = next(iter(pytree.tree_leaves(input_shape)), None)
        shape = self._output_shape
        if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, (list, tuple)) for s in shape):
            return [(batch, *s) for s in shape]
        return (batch, *shape)

    def get_config(self) -> dict[str, Any]:
        where = _where(self)
        config: dict[str, Any] = {"function": _function_config(self.function, where)}
        if self._output_shape is not None:
            config["output_shape"] = (_function_config(self._output_shape, where) if callable(self._output_shape)
                                      else self._output_shape)
        if self.mask is not None:
            config["mask"] = _function_config(self.mask, where) if callable(self.mask) else _serialize_value(self.mask)
        config["arguments"] = _serialize_value(self.arguments)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "Lambda":
        """Rebuild in code: named functions come from the registry or ``custom_objects``; a stored
        Python ``lambda`` is refused (its bytecode would run)."""
        config = dict(config)
        where = f"Lambda '{config.get('name', 'lambda')}'"
        config["function"] = _function_from_config(config.get("function"), "function", where, custom_objects)
        shape = config.get("output_shape")
        if isinstance(shape, dict):
            config["output_shape"] = _function_from_config(shape, "output_shape", where, custom_objects)
        elif isinstance(shape, list) and all(d is None or isinstance(d, int) for d in shape):
            config["output_shape"] = tuple(shape)
        mask = config.get("mask")
        if isinstance(mask, dict) and mask.get("class_name") not in ("__tensor__", "__numpy__"):
            config["mask"] = _function_from_config(mask, "mask", where, custom_objects)
        elif mask is not None:
            config["mask"] = _deserialize_value(mask, f"{where}, mask")
        if "arguments" in config:
            config["arguments"] = _deserialize_value(config["arguments"], f"{where}, arguments")
        return cls(**config)


# ------------------------------------------------------------------------------- TorchModuleWrapper
class FromTorchModule(initializers.Initializer):
    """What a wrapped torch parameter held when it was wrapped (a CPU copy): the "initializer" of a
    TorchModuleWrapper weight, as Keras creates those with ``Variable(initializer=param)``.
    ``reinitialize()`` therefore puts the wrapped values back; it draws nothing."""

    formula = "the wrapped torch module's values"

    def __init__(self, value: torch.Tensor) -> None:
        self._value = value.detach().to("cpu", copy=True)

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        if tuple(shape) != tuple(self._value.shape):
            raise ValueError(f"This weight was wrapped from a torch parameter of shape {tuple(self._value.shape)}; "
                             f"it cannot fill shape {tuple(shape)}.")
        out = self._value.clone()
        return out.to(backend.torch_dtype(dtype)) if dtype is not None else out

    def get_config(self) -> dict[str, Any]:
        return {}  # the values live in the module (and in weight files), never in a config


_NO_CONFIG = (
    "Its `module` is a torch.nn.Module, which a config could only hold pickled: Keras writes it with "
    "torch.save() and then refuses to load it in safe mode, because unpickling can run arbitrary code. "
    "Save the weights instead: model.save_weights('model.weights.h5') writes the module's state_dict in "
    "Keras's layout; rebuild the model in code and call model.load_weights(). To save the whole model, "
    "write a Layer subclass that builds the module from plain arguments in __init__, returns them from "
    "get_config(), and is registered with @initium.saving.register_keras_serializable()."
)


class TorchModuleWrapper(Layer):
    """Any ``torch.nn.Module`` as a layer: ``TorchModuleWrapper(torch.nn.Linear(4, 2))``.

    The module's parameters become this layer's weights, in ``module.parameters()`` order, named
    ``variable``, ``variable_1``, ... as Keras names them; trainable as their ``requires_grad``
    says. Their values are the module's own (torch's default init for a fresh ``nn.Linear``:
    U(±1/sqrt(in_features)) for weight and bias); the module computes with the initium
    ``Variable``s in place of its ``Parameter``s, so training updates the module. Buffers (a
    BatchNorm's running statistics) stay buffers: not weights, but saved in weight files.

    Calls run ``module(*args, **kwargs)``, in torch's training mode unless ``training=False``
    (Keras's rule; so a BatchNorm inside uses batch statistics in ``fit`` and its running ones in
    ``predict``). The module is moved to initium's default device.

    Args:
        module: a ``torch.nn.Module``; a lazy module must have been called once first.
        name: the layer's name.
        output_shape: the full output shape (batch axis included) for the functional API; when
            None it is found by running the module on zeros.

    Not serializable to a config (see the module docstring): ``get_config`` raises a ValueError
    that says what to do; weights-only saving works.
    """

    def __init__(self, module: Any, name: str | None = None, output_shape: Any = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"{_where(self)}: `module` must be a torch.nn.Module. Received: module={module!r} "
                            f"(of type {type(module).__name__}).")
        if any(isinstance(p, torch.nn.parameter.UninitializedParameter) for p in module.parameters()):
            raise ValueError(
                "LazyModules are not supported unless they are already initialized. Received uninitialized "
                f"LazyModule: module={module} (in {_where(self)}). Call the module once on an example input "
                "before wrapping it."
            )
        self.module = module.to(backend.default_device())
        self.output_shape = tuple(output_shape) if isinstance(output_shape, list) else output_shape
        self._wrap_parameters()
        self.built = True

    def _wrap_parameters(self) -> None:
        """Create one Variable per distinct parameter (through ``add_weight``, holding the parameter's
        values) and put it in every slot of the module that held that parameter (tied weights stay tied)."""
        wrapped: dict[int, torch.Tensor] = {}
        for i, param in enumerate(self.module.parameters()):
            self._new_weight_device = param.device
            dtype = backend.standardize_dtype(param.dtype)
            wrapped[id(param)] = self.add_weight(
                shape=tuple(param.shape), initializer=FromTorchModule(param), dtype=dtype,
                trainable=param.requires_grad and param.is_floating_point(),
                name="variable" if i == 0 else f"variable_{i}")
        for sub in self.module.modules():
            for key, param in list(sub._parameters.items()):
                if param is not None and id(param) in wrapped:
                    sub._parameters[key] = wrapped[id(param)]

    def call(self, *args: Any, training: Any = None, **kwargs: Any) -> Any:
        self.module.train(training is not False)
        return self.module(*args, **kwargs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self.output_shape is None:
            spec = self._spec_by_running((_placeholders(input_shape, self.compute_dtype),), {})
            return pytree.tree_map(shape_of, spec)
        return self.output_shape

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        if self.output_shape is None:  # Keras needs output_shape here; initium runs the module on zeros
            return self._spec_by_running(args, kwargs)
        return KerasTensor(self.output_shape, dtype=self.compute_dtype)

    def stored_tensors(self) -> dict[str, torch.Tensor]:
        """What a weights file holds for this layer, by name: the module's ``state_dict`` (live
        tensors: the Variables, and the buffers). ``initium.saving`` writes and reads these names in
        the layer's ``vars`` group, as Keras's TorchModuleWrapper does."""
        return self.module.state_dict(keep_vars=True)

    def get_config(self) -> dict[str, Any]:
        raise ValueError(f"{_where(self)} cannot be written into a config (model.save, to_json, clone_model). "
                         f"{_NO_CONFIG}")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "TorchModuleWrapper":
        module = config.get("module")
        if not isinstance(module, torch.nn.Module):
            raise ValueError(
                "Requested the deserialization of a `torch.nn.Module` object via `torch.load()` (TorchModuleWrapper "
                f"'{config.get('name')}'). This carries a potential risk of arbitrary code execution, and initium "
                "never unpickles what a file holds. Rebuild the module in code, wrap it, and load the weights "
                "with model.load_weights()."
            )
        return cls(**config)


def _placeholders(input_shape: Any, dtype: str = "float32") -> Any:
    """KerasTensors for a shape (or a structure of shapes)."""
    return pytree.tree_map(lambda s: KerasTensor(tuple(s), dtype=dtype), input_shape,
                           is_leaf=lambda s: isinstance(s, (tuple, list)) and all(
                               d is None or isinstance(d, int) for d in s))


for _cls in (Masking, Identity, Lambda, TorchModuleWrapper):
    register_layer(_cls)
