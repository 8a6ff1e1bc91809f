"""``Layer``: the base of every layer and model. A ``torch.nn.Module`` with Keras's contract.

- Lazy build: ``build(input_shape)`` runs on the first call (or when a model knows the input
  shape) and creates weights with ``add_weight`` — the only door a weight comes through. It
  resolves the initializer, draws through ``initializers.initialize`` (which checks shape, dtype
  and finiteness), records the initializer and the random keys it drew, and registers the result
  as a ``Variable`` (a ``torch.nn.Parameter``).
- Weight order (``weights``, ``get_weights``): own trainable, own non-trainable (as created), then
  sub-layers', recursively, without duplicates.
- ``training``: ``layer(x, training=True)``; when not given it is inherited from the enclosing
  call, and is ``False`` at the top level (Keras semantics; torch's ``module.train()`` flag is
  not consulted).
- Inputs: numpy arrays and lists are converted; float inputs are cast to the layer's dtype.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any, Iterator, NamedTuple, Sequence

import numpy as np
import torch
from torch.utils import _pytree as pytree

from initium import backend, initializers
from initium import random as irandom
from initium.layers.symbolic import KerasTensor, Node, is_symbolic, shape_of
from initium.layers.variable import Variable, check_flags

__all__ = ["Layer", "InputSpec", "name_scope"]

_tls = threading.local()
_ALLOWED_BASE_KWARGS = ("input_shape", "input_dim", "batch_size", "batch_input_shape", "input_length")


def _scope() -> list[str]:
    """The active name scopes (``initium.name_scope``, which layers enter while they build)."""
    scope = backend.current_name_scope()
    return scope.split("/") if scope else []


name_scope = backend.name_scope  # a building layer scopes its weights' paths: "sequential/dense/kernel"


class InputSpec:
    """What a layer accepts: rank (``ndim``, ``min_ndim``, ``max_ndim``) and fixed axis sizes."""

    def __init__(self, ndim: int | None = None, min_ndim: int | None = None, max_ndim: int | None = None,
                 axes: dict[int, int] | None = None, hint: str = "") -> None:
        self.ndim, self.min_ndim, self.max_ndim = ndim, min_ndim, max_ndim
        self.axes = dict(axes or {})
        self.hint = hint


def _dtype_name(dtype: Any) -> str:
    if isinstance(dtype, dict):  # Keras's DTypePolicy config
        dtype = dtype.get("config", {}).get("name", dtype.get("name"))
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        raise ValueError(f"Mixed-precision dtype policies are not supported yet. Received: dtype={dtype!r}")
    return backend.standardize_dtype(dtype)


class Layer(torch.nn.Module):
    """Base class of layers. Subclass it: create weights in ``build(input_shape)`` with
    ``add_weight``, compute in ``call(inputs, ...)``. Saving needs the constructor arguments: as in
    Keras, a subclass without its own ``get_config`` gets them recorded automatically when they are
    plain values (str, int, float, bool, None, and lists, tuples and dicts of them); otherwise it
    must implement ``get_config`` (and ``from_config`` if an argument has to be rebuilt).

    >>> class Scale(Layer):
    ...     def build(self, input_shape):
    ...         self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")
    ...     def call(self, x):
    ...         return x * self.w
    """

    _call_params: dict[type, tuple[bool, bool]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__ and not getattr(cls.__dict__["build"], "_initium_wrapped", False):
            cls.build = _wrap_build(cls.__dict__["build"])

    def __new__(cls, *args: Any, **kwargs: Any) -> "Layer":
        """Record the constructor's arguments for ``get_config`` (Keras's automatic config).

        Only classes written outside initium that keep the base ``get_config`` are recorded: the
        arguments as bound to ``__init__``'s signature, defaults included, or why they cannot be.
        """
        layer = super().__new__(cls)
        if _auto_configured(cls):
            layer.__dict__["_auto_config"] = _record_arguments(cls, args, kwargs)
        return layer

    def __init__(self, *, activity_regularizer: Any = None, trainable: bool = True, name: str | None = None,
                 dtype: Any = None, autocast: bool = True, **kwargs: Any) -> None:
        unknown = {k: v for k, v in kwargs.items() if k not in _ALLOWED_BASE_KWARGS}
        if unknown:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {unknown}")
        if not isinstance(trainable, bool):
            raise ValueError(
                f"Expected `trainable` to be a boolean. Received: trainable={trainable!r} (of type "
                f"{type(trainable).__name__}). Pass layers to Sequential as a list: Sequential([a, b])."
            )
        super().__init__()
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise ValueError(f"A layer name must be a non-empty string without '/'. Received: name={name!r}")
        self.name = name or backend.unique_name(_snake(type(self).__name__))
        self._dtype = _dtype_name(dtype)
        self._autocast = autocast
        self._trainable = trainable
        self.built = False
        self.supports_masking = False
        self.input_spec: InputSpec | list[InputSpec] | None = None
        self._own_weights: list[Variable] = []
        self._added_losses: list[torch.Tensor] = []
        self._inbound_nodes: list[Node] = []
        self._build_input_shape: Any = None
        self._path = self.name
        self._new_weight_device: torch.device | None = None
        from initium import regularizers

        self.activity_regularizer = regularizers.get(activity_regularizer)
        shape = kwargs.get("batch_input_shape")
        if shape is None and (kwargs.get("input_shape") is not None or kwargs.get("input_dim") is not None):
            inner = kwargs.get("input_shape")
            if inner is None:
                inner = (kwargs["input_dim"],)
            elif isinstance(inner, int):
                inner = (inner,)
            shape = (kwargs.get("batch_size"), *inner)
        self._batch_input_shape = tuple(shape) if shape is not None else None

    # ------------------------------------------------------------------ attributes and tracking
    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Variable):
            params = self.__dict__.get("_parameters")
            if params is not None:  # one weight, one key: re-key it under the attribute name
                for key, p in list(params.items()):
                    if p is value and key != name:
                        del params[key]
        elif (isinstance(value, (list, tuple)) and value and not name.startswith("_")
              and all(isinstance(v, torch.nn.Module) for v in value)):
            value = torch.nn.ModuleList(value)  # Keras tracks layers kept in lists
        super().__setattr__(name, value)

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def compute_dtype(self) -> str:
        return self._dtype

    @property
    def variable_dtype(self) -> str:
        return self._dtype

    @property
    def path(self) -> str:
        return self._path

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._flatten_layers(include_self=True):
            if layer is not self:
                layer._trainable = bool(value)
            for v in layer._own_weights:
                v.trainable = bool(value) and getattr(v, "_born_trainable", True)

    def _flatten_layers(self, include_self: bool = False, recursive: bool = True) -> Iterator["Layer"]:
        seen: set[int] = set()

        def walk(module: torch.nn.Module) -> Iterator[Layer]:
            for child in module._modules.values():
                if child is None or id(child) in seen:
                    continue
                seen.add(id(child))
                if isinstance(child, Layer):
                    yield child
                    if recursive:
                        yield from walk(child)
                else:  # ModuleList, ModuleDict, or a torch container
                    yield from walk(child)

        if include_self:
            seen.add(id(self))
            yield self
        yield from walk(self)

    # ------------------------------------------------------------------ weights
    def add_weight(self, shape: Sequence[int] | None = None, initializer: Any = None, dtype: Any = None,
                   trainable: bool = True, autocast: bool = True, regularizer: Any = None,
                   constraint: Any = None, aggregation: str = "none", overwrite_with_gradient: bool = False,
                   name: str | None = None) -> Variable:
        """Create, initialize, check and register one weight (the only way a weight is born).

        ``aggregation``, ``autocast`` and ``overwrite_with_gradient`` are validated and kept on the
        :class:`Variable` (``variable.aggregation``, ...). ``overwrite_with_gradient=True`` is live:
        the optimizer writes the gradient into the variable instead of updating it. ``aggregation``
        (distributed training) and ``autocast`` (mixed precision) are recorded only: initium trains
        on one device and has no mixed-precision scope.
        """
        from initium import constraints, regularizers

        if isinstance(shape, str):
            raise TypeError(
                f"add_weight on layer '{self.name}': the first argument is `shape` (Keras 3), but got "
                f"the string {shape!r}. Call add_weight(name={shape!r}, shape=..., initializer=...)."
            )
        shape = () if shape is None else tuple(shape)
        check_flags(f"{self.name}/{name or 'variable'}", aggregation, overwrite_with_gradient)
        dname = backend.standardize_dtype(dtype if dtype is not None else self._dtype)
        if initializer is None:
            initializer = "glorot_uniform" if backend.is_float_dtype(dname) else "zeros"
        init = initializers.get(initializer)
        name = name or "variable"
        if trainable and not backend.is_float_dtype(dname):
            raise ValueError(
                f"Layer '{self.name}': weight '{name}' of dtype {dname} cannot be trainable (only float "
                "weights have gradients). Pass trainable=False."
            )
        scope = _scope()
        path = "/".join([*scope, name]) if scope else f"{self.name}/{name}"
        if initializers.base.initialization_skipped():  # loading: the file fills the weight
            keys: list = []
            value = torch.zeros(shape, dtype=backend.torch_dtype(dname), device=self._weight_device())
        else:
            with irandom.record_keys() as keys:
                value = initializers.initialize(init, shape, dname, device=self._weight_device(), name=path)
        var = Variable(value, trainable=trainable and self._trainable, name=name, path=path,
                       origin=init, init_keys=keys, regularizer=regularizers.get(regularizer),
                       constraint=constraints.get(constraint), aggregation=aggregation, autocast=autocast,
                       overwrite_with_gradient=overwrite_with_gradient)
        var._born_trainable = trainable
        key, i = name, 1
        while key in self._parameters or key in self.__dict__ or key in self._modules:
            key, i = f"{name}_{i}", i + 1
        self.register_parameter(key, var)
        self._own_weights.append(var)
        return var

    def _weight_device(self) -> torch.device:
        for v in self._own_weights:
            return v.device
        return self._new_weight_device or backend.default_device()

    def _ordered_own(self) -> list[Variable]:
        own = self._own_weights
        return ([v for v in own if getattr(v, "_born_trainable", True)]
                + [v for v in own if not getattr(v, "_born_trainable", True)])

    @property
    def weights(self) -> list[Variable]:
        """Own trainable, own non-trainable, then sub-layers' weights (Keras order)."""
        out: list[Variable] = []
        seen: set[int] = set()
        for layer in self._flatten_layers(include_self=True):
            for v in layer._ordered_own():
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    variables = weights

    @property
    def trainable_weights(self) -> list[Variable]:
        return [v for v in self.weights if v.trainable] if self._trainable else []

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self._trainable:
            return self.weights
        return [v for v in self.weights if not v.trainable]

    non_trainable_variables = non_trainable_weights

    def named_weights(self) -> list[tuple[str, Variable]]:
        """``(path, weight)`` pairs in ``weights`` order, e.g. ``("sequential/dense/kernel", v)``."""
        return [(v.path, v) for v in self.weights]

    def get_weights(self) -> list[np.ndarray]:
        """NumPy copies of ``weights``, in Keras order. ``[]`` before the layer is built."""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Set every weight from a list of arrays (same order as ``get_weights``).

        Everything is checked before anything is written: on error no weight has changed.
        """
        params = self.weights
        weights = list(weights)
        if len(weights) != len(params):
            expected = ", ".join(f"{v.name} {tuple(v.shape)}" for v in params) or "none (is it built?)"
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{self.name}' with a weight list of length "
                f"{len(weights)}, but the layer was expecting {len(params)} weights: {expected}."
            )
        arrays = []
        for i, (v, w) in enumerate(zip(params, weights)):
            arr = backend.to_numpy(w) if isinstance(w, torch.Tensor) else np.asarray(w)
            if tuple(arr.shape) != tuple(v.shape):
                raise ValueError(
                    f"Layer '{self.name}' weight {i} ('{v.path}') has shape {tuple(v.shape)}, but the "
                    f"provided weight has shape {tuple(arr.shape)}."
                )
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"Layer '{self.name}' weight {i} ('{v.path}'): values of dtype {arr.dtype} are not numbers.")
            arrays.append(arr)
        with torch.no_grad():
            for v, arr in zip(params, arrays):
                # reshape: ascontiguousarray makes a 0-d array 1-d (a scalar weight, e.g. Normalization's count)
                v.copy_(torch.from_numpy(np.ascontiguousarray(arr)).reshape(v.shape).to(device=v.device, dtype=v.dtype))

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't built. "
                "You can build it manually via: `layer.build(input_shape)`."
            )
        return sum(int(v.numel()) for v in self.weights)

    def reinitialize(self, layers: Any = None, seed: int | None = None, replay: bool = False) -> list[Variable]:
        """Re-draw weights in place with the initializers that made them; returns the weights changed.

        Args:
            layers: None (this layer and everything inside it), or a layer, a layer name, or a
                list of them, all inside this one. Sub-layers of a chosen layer are included.
            seed: re-draw as if this layer (or model) had been built right after
                ``initium.random.set_random_seed(seed)``: unseeded initializers take their keys
                from a fresh stream ``seed`` in the order the weights were created, so the
                original seed gives back the birth weights bit for bit, whichever ``layers`` are
                chosen. Initializers with their own seed repeat their values, as they always do.
            replay: re-create the values of the latest draw exactly, from the recorded random keys
                (the birth values, unless the weight has been re-initialized since).

        Without ``seed`` or ``replay``, unseeded initializers draw fresh values from the global
        stream. The weights stay the same tensors, so optimizers keep their references (their
        moment estimates are not reset).
        """
        if isinstance(layers, (int, np.integer)) and not isinstance(layers, bool):
            raise TypeError(
                f"reinitialize() on layer '{self.name}': the first argument is `layers`, but got the "
                f"integer {layers!r}. Did you mean reinitialize(seed={layers!r})?"
            )
        if seed is not None and replay:
            raise ValueError(
                f"reinitialize() on layer '{self.name}': pass `seed` or `replay=True`, not both "
                "(replay re-uses the recorded keys, whatever the seed)."
            )
        if seed is not None:
            seed = irandom._check_seed_value(seed)
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' is not built, so it has no weights to re-initialize. Build it "
                "first (call it on data, or `build(input_shape)`)."
            )
        import contextlib

        everything = self.weights
        chosen = {id(v) for v in self._chosen_weights(layers)}

        def draw(v: Variable) -> tuple[torch.Tensor, list]:
            with irandom.record_keys() as keys:
                value = initializers.initialize(v.initializer, tuple(v.shape), backend.standardize_dtype(v.dtype),
                                                device=v.device, name=v.path)
            return value, keys

        changed: list[Variable] = []
        if seed is not None:
            # Every weight is drawn in creation order so the stream positions match a fresh build;
            # only the chosen ones are written.
            with irandom.seed_scope(irandom.SeedGenerator(seed)):
                for v in sorted(everything, key=lambda w: w.birth):
                    value, keys = draw(v)
                    if id(v) in chosen:
                        self._write_draw(v, value, keys)
                        changed.append(v)
        else:
            for v in everything:
                if id(v) not in chosen:
                    continue
                ctx = irandom.replay_keys(v.init_keys) if replay else contextlib.nullcontext()
                with ctx:
                    value, keys = draw(v)
                self._write_draw(v, value, keys)
                changed.append(v)
        return changed

    @staticmethod
    def _write_draw(v: Variable, value: torch.Tensor, keys: list) -> None:
        v.init_keys = tuple(keys)
        with torch.no_grad():
            v.copy_(value)

    def _chosen_weights(self, layers: Any) -> list[Variable]:
        if layers is None:
            return self.weights
        inside = list(self._flatten_layers(include_self=True))
        items = [layers] if isinstance(layers, (str, Layer)) else list(layers)
        out: list[Variable] = []
        for item in items:
            if isinstance(item, str):
                found = [la for la in inside if la.name == item]
                if not found:
                    import difflib

                    names = [la.name for la in inside]
                    close = difflib.get_close_matches(item, names, n=1)
                    did = f" Did you mean '{close[0]}'?" if close else ""
                    raise ValueError(
                        f"reinitialize(layers=...): no layer named {item!r} in '{self.name}'.{did} "
                        f"Layers: {', '.join(names)}."
                    )
                item = found[0]
            elif not isinstance(item, Layer):
                raise TypeError(
                    f"reinitialize(layers=...) expects layers or layer names; got {type(item).__name__} "
                    f"{item!r}."
                )
            elif not any(item is la for la in inside):
                raise ValueError(
                    f"reinitialize(layers=...): layer '{item.name}' is not part of '{self.name}'."
                )
            out.extend(item.weights)
        return out

    @property
    def losses(self) -> list[torch.Tensor]:
        """Regularization penalties of the weights, plus losses added during the last call."""
        out: list[torch.Tensor] = []
        for layer in self._flatten_layers(include_self=True):
            for v in layer._own_weights:
                if v.regularizer is not None:
                    out.append(v.regularizer(v))
            out.extend(layer._added_losses)
        return out

    def add_loss(self, loss: torch.Tensor) -> None:
        self._added_losses.append(loss)

    # ------------------------------------------------------------------ build and call
    def build(self, input_shape: Any = None) -> None:
        """Create the weights for inputs of ``input_shape`` (override; call ``add_weight``)."""

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        return inputs

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.call(*args, **kwargs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        raise NotImplementedError

    def _maybe_build(self, input_shape: Any) -> None:
        if self.built:
            return
        self.build(input_shape)
        self.built = True

    def build_from_config(self, config: dict[str, Any]) -> None:
        shape = config.get("input_shape")
        if shape is not None:
            self._maybe_build(_to_shape(shape))

    def get_build_config(self) -> dict[str, Any] | None:
        if self._build_input_shape is None:
            return None
        return {"input_shape": self._build_input_shape}

    def _accepts(self) -> tuple[bool, bool]:
        cls = type(self)
        got = Layer._call_params.get(cls)
        if got is None:
            params = inspect.signature(cls.call).parameters
            got = ("training" in params, "mask" in params)
            Layer._call_params[cls] = got
        return got

    def _torch_dtype(self) -> torch.dtype:
        cached = self.__dict__.get("_tdtype")
        if cached is None or cached[0] != self._dtype:
            cached = (self._dtype, backend.torch_dtype(self._dtype))
            self.__dict__["_tdtype"] = cached
        return cached[1]

    def _convert(self, x: Any) -> Any:
        if type(x) is torch.Tensor:
            if x.is_floating_point() and self._autocast and x.dtype != self._torch_dtype():
                return x.to(self._torch_dtype())
            return x
        if isinstance(x, (list, tuple)) and _numbers_only(x):  # [[1.0, 2.0]] is data, not many inputs
            x = np.asarray(x)
        elif isinstance(x, (list, tuple, dict)):
            return pytree.tree_map(self._convert, x)
        if isinstance(x, torch.Tensor):  # a subclass: keep as is
            return x
        if isinstance(x, (np.ndarray, np.generic, int, float)):
            arr = np.asarray(x)
            if arr.dtype.kind in "SUO":  # text: torch has no strings, the string layers read the array
                return arr
            dev = self._own_weights[0].device if self._own_weights else backend.default_device()
            if arr.dtype.kind == "f":
                return torch.from_numpy(np.ascontiguousarray(arr)).to(device=dev, dtype=backend.torch_dtype(self._dtype))
            return torch.from_numpy(np.ascontiguousarray(arr)).to(dev)
        return x

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args:
            if "inputs" not in kwargs:
                raise TypeError(f"Layer '{self.name}' was called without inputs.")
            args = (kwargs.pop("inputs"),)
        x = args[0]
        if type(x) is torch.Tensor:  # fast path: the training loop's case
            if (len(args) > 1 or kwargs) and is_symbolic((args[1:], kwargs)):
                return self._symbolic_call(args, kwargs)
            if x.is_floating_point() and self._autocast and x.dtype != self._torch_dtype():
                x = x.to(self._torch_dtype())
        elif is_symbolic((args, kwargs)):
            return self._symbolic_call(args, kwargs)
        else:
            x = self._convert(x)
        if not self.built:
            if self.input_spec is not None:  # a wrong rank must not reach build()
                self._check_input_spec(x)
            leaves = [t for t in pytree.tree_leaves(x) if isinstance(t, torch.Tensor)]
            if leaves:
                self._new_weight_device = leaves[0].device
            self._maybe_build(pytree.tree_map(shape_of, x) if not isinstance(x, torch.Tensor) else tuple(x.shape))
        if self.input_spec is not None:
            shape = x.shape if type(x) is torch.Tensor else None
            if shape is None or shape != self.__dict__.get("_spec_ok_shape"):
                self._check_input_spec(x)
                self.__dict__["_spec_ok_shape"] = shape
        takes_training, takes_mask = self._accepts()
        outer = getattr(_tls, "training", None)
        # None while no call up the chain said: layers read it as False, the augmentation layers as
        # their Keras default (True), also inside a model called without `training`
        context = kwargs.get("training") if kwargs.get("training") is not None else outer
        training = bool(context)
        if takes_training:
            kwargs["training"] = training
        else:
            kwargs.pop("training", None)
        mask = kwargs.get("mask")
        if mask is None:
            mask = getattr(args[0], "_keras_mask", None)
        if takes_mask:
            if mask is not None:
                kwargs["mask"] = mask
        else:
            kwargs.pop("mask", None)
        if self._added_losses:
            self._added_losses = []
        _tls.training = context
        try:
            out = torch.nn.Module.__call__(self, x, *args[1:], **kwargs)
        finally:
            _tls.training = outer
        if self.activity_regularizer is not None:
            self._added_losses.append(sum(self.activity_regularizer(t) for t in pytree.tree_leaves(out)
                                          if isinstance(t, torch.Tensor)) / max(1, _batch(out)))
        if self.supports_masking or type(self).compute_mask is not Layer.compute_mask:
            m = self.compute_mask(x, mask)
            if m is not None and isinstance(out, torch.Tensor):
                out._keras_mask = m
        return out

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return mask if self.supports_masking else None

    def _check_input_spec(self, x: Any) -> None:
        specs = self.input_spec if isinstance(self.input_spec, list) else [self.input_spec]
        leaves = pytree.tree_leaves(x) if not isinstance(x, (torch.Tensor, KerasTensor)) else [x]
        if len(specs) > 1 and len(leaves) != len(specs):
            raise ValueError(f"Layer '{self.name}' expects {len(specs)} inputs, but it received {len(leaves)}.")
        for i, (spec, t) in enumerate(zip(specs, leaves)):
            shape = shape_of(t)
            nd = len(shape)
            hint = f" {spec.hint}" if spec.hint else ""
            head = f"Input {i} of layer '{self.name}' ({type(self).__name__}) is incompatible with the layer:"
            if spec.ndim is not None and nd != spec.ndim:
                raise ValueError(f"{head} expected ndim={spec.ndim}, found ndim={nd}. Full shape received: {shape}.{hint}")
            if spec.min_ndim is not None and nd < spec.min_ndim:
                raise ValueError(f"{head} expected min_ndim={spec.min_ndim}, found ndim={nd}. Full shape received: {shape}.{hint}")
            if spec.max_ndim is not None and nd > spec.max_ndim:
                raise ValueError(f"{head} expected max_ndim={spec.max_ndim}, found ndim={nd}. Full shape received: {shape}.{hint}")
            for ax, size in spec.axes.items():
                got = shape[ax] if -nd <= ax < nd else None
                if got is not None and got != size:
                    raise ValueError(
                        f"{head} expected axis {ax} of input shape to have value {size}, but received input "
                        f"with shape {shape}. The layer was built for inputs with {size} there; build a new "
                        "layer for the new shape."
                    )

    # ------------------------------------------------------------------ symbolic (functional API)
    def _symbolic_call(self, args: tuple, kwargs: dict) -> Any:
        x = args[0]
        if not self.built:
            if self.input_spec is not None:
                self._check_input_spec(x)
            self._maybe_build(pytree.tree_map(shape_of, x) if not isinstance(x, KerasTensor) else x.shape)
        if self.input_spec is not None:
            self._check_input_spec(x)
        outputs = self.compute_output_spec(*args, **kwargs)
        node = Node(self, args, kwargs, outputs)
        self._inbound_nodes.append(node)
        index = len(self._inbound_nodes) - 1
        for i, t in enumerate(node.output_tensors):
            t._keras_history = (self, index, i)
            t.name = t.name or self.name
        return outputs

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        x = args[0]
        if type(self).compute_output_shape is not Layer.compute_output_shape:
            shape = self.compute_output_shape(pytree.tree_map(shape_of, x) if not isinstance(x, KerasTensor) else x.shape)
            if _is_shape(shape):
                return KerasTensor(shape, dtype=self.compute_dtype)
            return pytree.tree_map(lambda s: KerasTensor(s, dtype=self.compute_dtype), shape, is_leaf=_is_shape)
        return self._spec_by_running(args, kwargs)

    def _spec_by_running(self, args: tuple, kwargs: dict) -> Any:
        runs = []
        for fill in (2, 3):
            def concrete(t: Any, fill: int = fill) -> Any:
                if not isinstance(t, KerasTensor):
                    return t
                shape = tuple(fill if d is None else d for d in t.shape)
                return torch.zeros(shape, dtype=backend.torch_dtype(t.dtype), device=self._weight_device())

            a, k = pytree.tree_map(concrete, (args, kwargs))
            k = {**k, "training": False}
            with torch.no_grad():
                runs.append(self(*a, **k))
            if not any(d is None for t in pytree.tree_leaves((args, kwargs)) if isinstance(t, KerasTensor) for d in t.shape):
                runs.append(runs[0])
                break

        def spec(t2: Any, t3: Any) -> Any:
            if not isinstance(t2, torch.Tensor):
                return t2
            shape = tuple(a if a == b else None for a, b in zip(t2.shape, t3.shape))
            return KerasTensor(shape, dtype=backend.standardize_dtype(t2.dtype))

        return pytree.tree_map(spec, runs[0], runs[1])

    @property
    def input(self) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called on a symbolic input, so it has no `input`.")
        node = self._inbound_nodes[0]
        return node.args[0]

    @property
    def output(self) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called on a symbolic input, so it has no `output`.")
        return self._inbound_nodes[0].outputs

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": self._dtype},
                            "registered_name": None}}
        if self.activity_regularizer is not None:  # Keras adds it only when set
            from initium import regularizers

            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if type(self).get_config is Layer.get_config and _auto_configured(type(self)):
            return self._with_constructor_arguments(config)
        return config

    def _with_constructor_arguments(self, base: dict[str, Any]) -> dict[str, Any]:
        """``base`` with the recorded constructor arguments, in Keras's order: name, the arguments,
        then the base keys; ``NotImplementedError`` naming the argument when they were not recorded."""
        recorded = self.__dict__.get("_auto_config")
        if recorded is None or recorded.problem:
            cls = type(self).__name__
            why = recorded.problem if recorded is not None else "it was not created by calling its class"
            raise NotImplementedError(
                f"{cls} '{self.name}' has no get_config() and its config cannot be generated automatically: "
                f"{why}. Implement get_config() in {cls}, returning every constructor argument, e.g. "
                "`def get_config(self): return {**super().get_config(), 'arg': self.arg}` (serialize layers and "
                "other objects, and add a from_config() classmethod that rebuilds them)."
            )
        config = {"name": self.name, **recorded.arguments, **base}
        if not recorded.takes_name:
            del config["name"]  # from_config could not pass it back
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Layer":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


class _RecordedArguments(NamedTuple):
    """What ``Layer.__new__`` recorded: the arguments for the config, or why there are none."""

    arguments: dict[str, Any]
    takes_name: bool  # whether __init__ accepts `name` (by name or through **kwargs)
    problem: str | None = None


_PLAIN = (str, int, float, bool, type(None))  # what a recorded argument may hold (Keras's set)
_MAX_ARGUMENT_DEPTH = 64


def _auto_configured(cls: type) -> bool:
    """Whether ``cls`` gets Keras's automatic config: it keeps the base ``get_config`` and is not
    one of initium's own classes (those, like Keras's, write their configs by hand)."""
    return cls.get_config is Layer.get_config and not cls.__module__.startswith("initium.")


def _record_arguments(cls: type, args: tuple, kwargs: dict) -> _RecordedArguments:
    """Bind a constructor call to ``cls.__init__`` and keep it if every value is plain."""
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return _RecordedArguments({}, False, f"the signature of {cls.__name__}.__init__ cannot be read")
    params = list(signature.parameters.values())[1:]  # without `self`
    takes_name = any(p.name == "name" or p.kind is p.VAR_KEYWORD for p in params)
    if any(p.kind is p.POSITIONAL_ONLY for p in params):
        return _RecordedArguments({}, takes_name, f"{cls.__name__}.__init__ has positional-only parameters, "
                                                  "which a config (keyword arguments) cannot pass back")
    try:
        bound = signature.bind(None, *args, **kwargs)
    except TypeError as e:  # __init__ itself will refuse the call
        return _RecordedArguments({}, takes_name, f"its constructor call does not match __init__ ({e})")
    bound.apply_defaults()
    arguments: dict[str, Any] = {}
    for p in params:
        value = bound.arguments.get(p.name)
        if p.kind is p.VAR_POSITIONAL:
            if value:
                return _RecordedArguments({}, takes_name, f"it was given extra positional arguments "
                                                          f"(*{p.name}={value!r}), which a config cannot hold")
        elif p.kind is not p.VAR_KEYWORD:
            arguments[p.name] = value
    arguments.update(next((bound.arguments.get(p.name, {}) for p in params if p.kind is p.VAR_KEYWORD), {}))
    arguments.pop("name", None)  # the base config has it
    for key, value in arguments.items():
        odd = _first_unplain(value)
        if odd is not None:
            return _RecordedArguments({}, takes_name, (
                f"its constructor argument `{key}` holds a {type(odd[0]).__name__} ({_short(odd[0])}); only "
                "str, int, float, bool, None and lists, tuples and dicts of them are recorded automatically"))
    return _RecordedArguments(arguments, takes_name)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _first_unplain(value: Any) -> tuple[Any] | None:
    """``(v,)`` for the first value inside ``value`` (lists, tuples, dict values) that is not plain."""
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (list, tuple, dict)):
            if depth > _MAX_ARGUMENT_DEPTH:  # also a container that holds itself: not writable as JSON
                return (v,)
            stack.extend((item, depth + 1) for item in (v.values() if isinstance(v, dict) else v))
        elif not isinstance(v, _PLAIN):
            return (v,)
    return None


def _wrap_build(build: Any) -> Any:
    """Every ``build`` records its input shape, sets the layer's path from the name scope, runs
    inside the layer's own scope (so weights get ``.../layer/name`` paths) and marks it built."""
    import functools

    @functools.wraps(build)
    def wrapped(self: Layer, input_shape: Any = None, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, "_in_build", False):  # super().build(...) from a subclass
            return build(self, input_shape, *args, **kwargs)
        self._in_build = True
        try:
            self._build_input_shape = _to_shape(input_shape)
            scope = _scope()
            self._path = "/".join([*scope, self.name])
            with name_scope(self.name):
                result = build(self, input_shape, *args, **kwargs)
            self.built = True
            return result
        finally:
            self._in_build = False

    wrapped._initium_wrapped = True
    return wrapped


def _snake(name: str) -> str:
    import re

    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", name))
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()  # Keras's to_snake_case: Conv2D -> conv2d


def _numbers_only(x: Any) -> bool:
    if isinstance(x, (list, tuple)):
        return len(x) > 0 and all(_numbers_only(v) for v in x)
    return isinstance(x, (int, float, np.number)) and not isinstance(x, bool)


def _is_shape(s: Any) -> bool:
    return isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int) for d in s)


def _to_shape(s: Any) -> Any:
    if _is_shape(s):
        return tuple(s)
    if isinstance(s, (list, tuple)):
        return [_to_shape(x) for x in s]
    if isinstance(s, dict):
        return {k: _to_shape(v) for k, v in s.items()}
    return s


def _batch(out: Any) -> int:
    for t in pytree.tree_leaves(out):
        if isinstance(t, torch.Tensor) and t.ndim:
            return int(t.shape[0])
    return 1

