"""Preprocessing layers: ``Rescaling``, ``Normalization``, ``Discretization``, ``CategoryEncoding``.

They carry Keras 3.15.1's arguments, configs, weights and output dtypes, computed with torch.

Learning from data (``adapt``)
    ``Normalization`` and ``Discretization`` compute their statistics from data once, before
    training: ``layer.adapt(data)``. ``data`` is a NumPy array, a tensor, a nested list of numbers
    (one array), or an iterable of batches: a list of arrays, a generator, a ``torch`` DataLoader
    (initium's stand-ins for Keras's ``tf.data.Dataset``). A batch that is an ``(x, y)`` or
    ``(x, y, sample_weight)`` pair contributes its ``x``. ``Normalization`` merges the batches'
    means and variances exactly (Chan et al.'s pairwise update, in float64), so streaming and
    whole-array statistics agree to rounding; ``Discretization`` merges quantile summaries as
    Keras does, so its bin boundaries are Keras's.
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from initium import backend
from initium.layers.layer import Layer
from initium.layers.serialization import register_layer
from initium.layers.symbolic import KerasTensor

__all__ = ["Rescaling", "Normalization", "Discretization", "CategoryEncoding"]


def _check_numbers(layer: Layer, arg: str, value: Any) -> Any:
    """Accept a number, a (nested) list/tuple of numbers, a NumPy array or a tensor (kept as NumPy)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        arr = np.asarray(None)
    if arr.dtype.kind not in "iuf" or isinstance(value, (bool, str)) or arr.size == 0:
        raise ValueError(
            f"Rescaling '{layer.name}': `{arg}` must be a number or a list/array of numbers (one per "
            f"channel). Received: {arg}={value!r}"
        )
    return value


def _serialize(value: Any) -> Any:
    """Keras's ``serialize_keras_object`` for the values Rescaling takes."""
    if isinstance(value, np.ndarray):
        return {"class_name": "__numpy__", "config": {"value": value.tolist(), "dtype": str(value.dtype)}}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _deserialize(value: Any) -> Any:
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        cfg = value["config"]
        return np.array(cfg["value"], dtype=cfg.get("dtype"))
    return value


class Rescaling(Layer):
    """``inputs * scale + offset``, computed in the layer's dtype (integer inputs such as uint8
    images are cast to float32 first). ``Rescaling(1 / 255)`` maps pixels to [0, 1];
    ``Rescaling(1 / 127.5, offset=-1)`` to [-1, 1].

    ``scale`` and ``offset`` may be numbers or per-channel lists/arrays, which broadcast against
    the last axis (channels_last). No weights (so no initializers and no variance to state).

    Args:
        scale: number or per-channel sequence.
        offset: number or per-channel sequence (default 0.0).
    """

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = _check_numbers(self, "scale", scale)
        self.offset = _check_numbers(self, "offset", offset)
        self.supports_masking = True
        self._consts: dict[tuple, tuple[Any, Any]] = {}

    def _constants(self, dtype: torch.dtype, device: torch.device) -> tuple[Any, Any]:
        """scale and offset as tensors on the input's device (cached); plain numbers stay numbers."""
        key = (dtype, device)
        got = self._consts.get(key)
        if got is None:
            def conv(v: Any) -> Any:
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    return torch.tensor(float(v), dtype=dtype, device=device)
                return torch.as_tensor(np.asarray(v, dtype=np.float64), dtype=dtype, device=device)

            got = self._consts[key] = (conv(self.scale), conv(self.offset))
        return got

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        dtype = backend.torch_dtype(self.compute_dtype)
        if inputs.dtype != dtype:
            inputs = inputs.to(dtype)
        scale, offset = self._constants(dtype, inputs.device)
        return inputs * scale + offset

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": _serialize(self.scale), "offset": _serialize(self.offset)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Rescaling":
        config = dict(config)
        config["scale"] = _deserialize(config["scale"])
        config["offset"] = _deserialize(config.get("offset", 0.0))
        return cls(**config)


register_layer(Rescaling)


# ============================================================================ shared helpers
def _label(layer: Layer) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


def _is_number_tree(value: Any) -> bool:
    """A number, or a non-empty (nested) list/tuple of numbers: data, not a sequence of batches."""
    if isinstance(value, (list, tuple)):
        return len(value) > 0 and all(_is_number_tree(v) for v in value)
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _to_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _positive_int_or_none(layer: Layer, arg: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{_label(layer)}: `{arg}` of adapt() must be a positive integer or None. "
                         f"Received: {arg}={value!r}")
    return int(value)


def _batch_input(batch: Any) -> Any:
    """The ``x`` of an ``(x, y)`` / ``(x, y, sample_weight)`` batch; any other batch as it is."""
    if isinstance(batch, (tuple, list)) and len(batch) in (2, 3) and not _is_number_tree(batch):
        return batch[0]
    return batch


def _adapt_batches(layer: Layer, data: Any, batch_size: Any = None, steps: Any = None) -> Iterator[Any]:
    """The batches ``adapt(data, ...)`` reads, as arrays or tensors (see the module docstring).

    An array is one batch, or slices of ``batch_size`` rows; ``steps`` caps the number of batches.
    Raises ``ValueError`` for no data, ``TypeError`` for data that is not arrays.
    """
    batch_size = _positive_int_or_none(layer, "batch_size", batch_size)
    steps = _positive_int_or_none(layer, "steps", steps)
    if isinstance(data, (np.ndarray, torch.Tensor)) or _is_number_tree(data):
        array = data if isinstance(data, torch.Tensor) else np.asarray(data)
        if array.ndim == 0 or array.shape[0] == 0:
            raise ValueError(f"{_label(layer)}: adapt() needs at least one sample. Received data of shape "
                             f"{tuple(array.shape)}. Pass an array whose first axis indexes samples.")
        if batch_size is None:
            if steps is not None:
                raise ValueError(f"{_label(layer)}: adapt() received an array and steps={steps}, but no "
                                 "batch_size: steps counts batches. Pass batch_size too, or drop steps.")
            batches: Iterator[Any] = iter([array])
        else:
            batches = (array[i:i + batch_size] for i in range(0, array.shape[0], batch_size))
    elif isinstance(data, (str, bytes, dict)) or not hasattr(data, "__iter__"):
        raise TypeError(f"{_label(layer)}: adapt() cannot read data of type {type(data).__name__}. Pass a NumPy "
                        "array, a tensor, a list of numbers, or an iterable of batches (a list of arrays, a "
                        "generator, a torch DataLoader).")
    elif batch_size is not None:
        raise ValueError(f"{_label(layer)}: adapt() received an iterable of batches and batch_size={batch_size}; "
                         "the iterable already yields batches. Drop batch_size (or pass one array).")
    else:
        batches = (_checked_batch(layer, _batch_input(b)) for b in data)
    batches = itertools.islice(batches, steps)
    first = next(batches, None)
    if first is None:
        raise ValueError(f"{_label(layer)}: adapt() received an empty iterable (no batches). Pass at least one "
                         "batch, e.g. layer.adapt([x]) or layer.adapt(x).")
    return itertools.chain([first], batches)


def _checked_batch(layer: Layer, batch: Any) -> Any:
    if isinstance(batch, (np.ndarray, torch.Tensor)):
        return batch
    if _is_number_tree(batch):
        return np.asarray(batch)
    raise TypeError(f"{_label(layer)}: adapt() expects batches that are arrays or tensors (or (x, y) pairs of "
                    f"them); got a batch of type {type(batch).__name__}. Make the iterable yield arrays.")


# ============================================================================ Normalization
def _standardize_axis(layer: Layer, axis: Any) -> tuple[int, ...]:
    if axis is None:
        return ()
    items = (axis,) if isinstance(axis, numbers.Integral) and not isinstance(axis, bool) else axis
    try:
        items = tuple(items)
    except TypeError:
        items = (None,)
    if any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in items):
        raise ValueError(f"{_label(layer)}: `axis` must be an integer, a tuple of integers, or None. "
                         f"Received: axis={axis!r}")
    return tuple(int(a) for a in items)


def _merge_moments(count: int, mean: torch.Tensor, m2: torch.Tensor, batch_count: int,
                   batch_mean: torch.Tensor, batch_m2: torch.Tensor) -> tuple[int, torch.Tensor, torch.Tensor]:
    """Chan et al.'s pairwise update: the count, mean and sum of squared deviations of two parts."""
    total = count + batch_count
    delta = batch_mean - mean
    mean = mean + delta * (batch_count / total)
    m2 = m2 + batch_m2 + delta * delta * (count * batch_count / total)
    return total, mean, m2


class Normalization(Layer):
    """Shifts and scales inputs to mean 0 and variance 1: ``(x - mean) / sqrt(variance)`` (the
    square root floored at ``backend.epsilon()``); ``invert=True`` undoes it,
    ``mean + x * sqrt(variance)``.

    The statistics are either given (``mean`` and ``variance``, broadcast over the kept axes) or
    learned with ``adapt(data)``, which stores them in the non-trainable weights ``mean``,
    ``variance`` and ``count`` (Keras's order; ``count`` stays 0, as in Keras, kept for its file
    layout). A layer with neither refuses to run (Keras 3.15.1 would silently pass inputs through).

    Args:
        axis: the axis or axes that keep their own mean and variance (default -1, the features);
            ``None`` normalizes everything with one scalar mean and variance.
        mean, variance: numbers or arrays, given together, instead of ``adapt``.
        invert: apply the inverse transformation.

    >>> layer = Normalization()
    >>> layer.adapt(np.array([[0.0, 7.0], [2.0, 9.0]]))
    >>> layer(np.array([[0.0, 7.0]]))   # [[-1., -1.]]
    """

    def __init__(self, axis: Any = -1, mean: Any = None, variance: Any = None, invert: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = _standardize_axis(self, axis)
        self.input_mean, self.input_variance = mean, variance
        self.invert = invert
        self.supports_masking = True
        self.mean: torch.Tensor | None = None
        self.variance: torch.Tensor | None = None
        self._adapted = False
        if (mean is None) != (variance is None):
            raise ValueError(f"{_label(self)}: when setting values directly, both `mean` and `variance` must be "
                             f"set. Received: mean={mean!r} and variance={variance!r}. Pass both, or neither "
                             "and call adapt(data).")
        if mean is not None:
            shape, var_shape = np.shape(_to_numpy(mean)), np.shape(_to_numpy(variance))
            if shape != var_shape:
                raise ValueError(f"{_label(self)}: `mean` and `variance` must have the same shape. Received: mean "
                                 f"shape {shape} and variance shape {var_shape}.")
            if len(shape) > len(self.axis):
                raise ValueError(f"{_label(self)}: the rank of `mean` must be at most the number of axes "
                                 f"({len(self.axis)}). Received: mean shape {shape} for axis={self.axis}. Pass "
                                 "one value per index of the kept axes, or a scalar.")

    def build(self, input_shape: Any) -> None:
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"{_label(self)}: all `axis` values must be in the range [-ndim, ndim). Received "
                             f"inputs with ndim={ndim}, while axis={self.axis}.")
        keep = tuple(sorted(a % ndim for a in self.axis))
        unknown = [d for d in keep if input_shape[d] is None]
        if unknown:
            raise ValueError(f"{_label(self)}: all `axis` values to be kept must have a known size. Received "
                             f"axis={self.axis}, inputs.shape={tuple(input_shape)}, with an unknown size at "
                             f"index {unknown[0]}. Give that axis a fixed size in Input(shape=...).")
        self._keep_axis = keep
        self._reduce_axis = tuple(d for d in range(ndim) if d not in keep)
        self._broadcast_shape = tuple(input_shape[d] if d in keep else 1 for d in range(ndim))
        stat_shape = tuple(input_shape[d] for d in keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=stat_shape, initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight(name="variance", shape=stat_shape, initializer="ones",
                                                  trainable=False)
            self.count = self.add_weight(name="count", shape=(), dtype="int32", initializer="zeros",
                                         trainable=False)
            self.finalize_state()
        else:
            self.mean = self._given(self.input_mean, "mean")
            self.variance = self._given(self.input_variance, "variance")

    def _given(self, value: Any, arg: str) -> torch.Tensor:
        """A constructor ``mean``/``variance`` aligned right to left with the kept axes and broadcast."""
        arr = np.asarray(_to_numpy(value), dtype=np.float64)
        expanded = [1] * len(self._broadcast_shape)
        for i in range(1, arr.ndim + 1):
            expanded[self._keep_axis[-i]] = arr.shape[-i]
        try:
            arr = np.broadcast_to(arr.reshape(expanded), self._broadcast_shape)
        except ValueError:
            raise ValueError(f"{_label(self)}: `{arg}` of shape {np.shape(arr)} cannot be broadcast to the kept "
                             f"axes' shape {tuple(self._broadcast_shape[d] for d in self._keep_axis)} (axis="
                             f"{self.axis}). Pass a scalar or one value per index of those axes.") from None
        return torch.tensor(arr, dtype=backend.torch_dtype(self.compute_dtype), device=self._weight_device())

    def finalize_state(self) -> None:
        """Point ``mean``/``variance`` at the adapted weights, in the broadcast shape."""
        if self.input_mean is None and self.built:
            self.mean = self.adapt_mean.detach().reshape(self._broadcast_shape)
            self.variance = self.adapt_variance.detach().reshape(self._broadcast_shape)

    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Compute the mean and variance of ``data`` over the reduced axes and store them.

        Args:
            data: an array, a tensor, a list of numbers, or an iterable of batches (module docstring).
            batch_size: read an array in batches of this many rows (the result is the same).
            steps: read at most this many batches.
        """
        if self.input_mean is not None:
            raise ValueError(f"{_label(self)} was given `mean` and `variance`, so it has no statistics to adapt. "
                             "Create it without mean/variance to learn them with adapt(data).")
        batches = _adapt_batches(self, data, batch_size, steps)
        first = next(batches)
        if not self.built:
            self.build(tuple(first.shape))
        dev = self.adapt_mean.device
        count, mean, m2 = 0, None, None
        for batch in itertools.chain([first], batches):
            self._check_adapt_shape(tuple(batch.shape))
            x = torch.as_tensor(batch).to(device=dev, dtype=torch.float64)
            n = math.prod(x.shape[d] for d in self._reduce_axis)
            if n == 0:
                continue
            batch_mean = x.mean(dim=self._reduce_axis, keepdim=True) if self._reduce_axis else x
            batch_m2 = ((x - batch_mean) ** 2).sum(dim=self._reduce_axis) if self._reduce_axis else torch.zeros_like(x)
            batch_mean = batch_mean.reshape(batch_m2.shape)
            if mean is None:
                count, mean, m2 = n, batch_mean, batch_m2
            else:
                count, mean, m2 = _merge_moments(count, mean, m2, n, batch_mean, batch_m2)
        if mean is None:
            raise ValueError(f"{_label(self)}: adapt() found no samples (every batch was empty).")
        with torch.no_grad():
            self.adapt_mean.copy_(mean)
            self.adapt_variance.copy_(m2 / count)
        self._adapted = True
        self.finalize_state()

    def _check_adapt_shape(self, shape: tuple) -> None:
        built = self._build_input_shape
        if len(shape) != len(built) or any(shape[d] != built[d] for d in self._keep_axis):
            raise ValueError(f"{_label(self)} was built with input_shape={tuple(built)}, but adapt() received data "
                             f"of an incompatible shape {shape}: the kept axes {self._keep_axis} must match. "
                             "Adapt a new layer for data of another shape.")

    def set_weights(self, weights: Any) -> None:
        super().set_weights(weights)
        self._adapted = True

    def _check_adapted(self) -> None:
        """Refuse to run on the initial statistics (mean 0, variance 1) unless adapt or set_weights
        put them there; loaded files with other values pass, once."""
        if torch.all(self.adapt_mean == 0) and torch.all(self.adapt_variance == 1):
            raise ValueError(
                f"{_label(self)} has no statistics yet: it was neither adapted nor given `mean` and `variance`. "
                "Call layer.adapt(data) before using it (before fit, evaluate or predict), or create it with "
                "Normalization(mean=..., variance=...)."
            )
        self._adapted = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        dtype = backend.torch_dtype(self.compute_dtype)
        x = inputs.to(dtype) if inputs.dtype != dtype else inputs
        if self.input_mean is None:
            if not self._adapted:
                self._check_adapted()
            mean = self.adapt_mean.reshape(self._broadcast_shape)
            variance = self.adapt_variance.reshape(self._broadcast_shape)
        else:
            mean, variance = self.mean, self.variance
        mean, variance = (t.to(device=x.device, dtype=dtype) for t in (mean, variance))
        scale = torch.clamp(torch.sqrt(variance), min=backend.epsilon())
        return mean + x * scale if self.invert else (x - mean) / scale

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            return None if value is None else _to_numpy(value).tolist()

        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": plain(self.input_mean), "variance": plain(self.input_variance)}


# ============================================================================ categorical encoding
def _encode_categorical(indices: torch.Tensor, output_mode: str, depth: int, dtype: torch.dtype,
                        count_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Keras's ``encode_categorical_inputs`` for ``one_hot``/``multi_hot``/``count``: one-hot on a new
    last axis (a trailing axis of size 1 is replaced); multi-hot and count fold axis 1 (axis 0 of a
    vector) into the ``depth`` bins."""
    indices = indices.long()
    if indices.dim() == 0:
        indices = indices.reshape(1)
    if output_mode == "one_hot":
        if indices.dim() > 1 and indices.shape[-1] == 1:
            indices = indices.squeeze(-1)
        return F.one_hot(indices, depth).to(dtype)
    if count_weights is not None:
        count_weights = count_weights.to(device=indices.device, dtype=dtype).reshape(indices.shape)
    if indices.dim() > 1:
        indices = indices.movedim(1, -1)
        count_weights = count_weights.movedim(1, -1) if count_weights is not None else None
    out = torch.zeros((*indices.shape[:-1], depth), dtype=dtype, device=indices.device)
    values = count_weights if count_weights is not None else torch.ones_like(indices, dtype=dtype)
    out.scatter_add_(-1, indices, values)
    return (out > 0).to(dtype) if output_mode == "multi_hot" else out


def _encoded_shape(input_shape: Any, output_mode: str, depth: int) -> tuple:
    """The output shape of ``_encode_categorical`` for inputs of ``input_shape``."""
    shape = tuple(input_shape)
    if output_mode == "int":
        return shape
    if not shape:
        return (depth,)
    if output_mode == "one_hot":
        return (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (depth,)
    return (shape[0], *shape[2:], depth) if len(shape) > 1 else (depth,)


def _check_output_mode(layer: Layer, output_mode: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(output_mode, str) or output_mode not in allowed:
        raise ValueError(f"Unknown value for `output_mode` argument of layer {type(layer).__name__} "
                         f"'{layer.name}'. Allowed values are: {allowed}. Received: output_mode={output_mode!r}")


def _refuse_sparse(layer: Layer, sparse: Any) -> None:
    if sparse:
        raise ValueError(f"{_label(layer)}: `sparse=True` is not supported (initium has no sparse tensors, like "
                         f"Keras's torch backend). Received: sparse={sparse!r}. Use sparse=False (dense outputs).")


# ============================================================================ Discretization
def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """A quantile summary of ``values``: about ``1 / epsilon`` sorted sample values, each with the
    number of values it stands for (row 0 values, row 1 weights)."""
    values = np.sort(values.reshape(-1))
    step = max(values.size / (1.0 / epsilon), 1)  # Keras's arithmetic, so the picks are Keras's
    picked = values[int(step - 1)::int(step)]
    return np.stack([picked, np.ones_like(picked) * step])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """``summary`` re-sampled at the cumulative-weight fractions ``epsilon, 2 epsilon, ..., 1`` by
    linear interpolation (unchanged when it has fewer than ``1 / epsilon`` points)."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    at = cumulative / cumulative[-1]
    points = np.interp(fractions, at, summary[0])
    cumulative = np.interp(fractions, at, cumulative)
    weights = np.diff(cumulative, prepend=0.0)
    return np.stack((points, weights)).astype("float32")


def _merge_summaries(a: np.ndarray, b: np.ndarray, epsilon: float) -> np.ndarray:
    merged = np.concatenate((a, b), axis=1)
    return _compress(merged[:, np.argsort(merged[0])], epsilon)


class Discretization(Layer):
    """Buckets continuous values by ranges: ``bin_boundaries=[0., 1., 2.]`` makes the bins
    ``(-inf, 0)``, ``[0, 1)``, ``[1, 2)`` and ``[2, inf)``, numbered 0 to 3. Either give the
    boundaries, or give ``num_bins`` and learn them as approximate quantiles with ``adapt(data)``
    (Keras's merging quantile summary, with error tolerance ``epsilon``).

    ``output_mode``: ``"int"`` (bin indices, int32), ``"one_hot"``, ``"multi_hot"`` or ``"count"``
    (float, as ``CategoryEncoding``). ``sparse=True`` is not supported.

    >>> Discretization(bin_boundaries=[0.0, 1.0, 2.0])(np.array([[-1.5, 1.0, 3.4, 0.5]]))  # [[0, 2, 3, 1]]
    """

    _MODES = ("int", "one_hot", "multi_hot", "count")

    def __init__(self, bin_boundaries: Any = None, num_bins: int | None = None, epsilon: float = 0.01,
                 output_mode: str = "int", sparse: bool = False, dtype: Any = None, name: str | None = None) -> None:
        super().__init__(name=name, dtype=dtype)
        _check_output_mode(self, output_mode, self._MODES)
        _refuse_sparse(self, sparse)
        if num_bins is not None and (isinstance(num_bins, bool) or not isinstance(num_bins, numbers.Integral)
                                     or num_bins < 1):
            raise ValueError(f"{_label(self)}: `num_bins` must be a positive integer. Received: num_bins={num_bins!r}")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(f"{_label(self)}: both `num_bins` and `bin_boundaries` should not be set. Received: "
                             f"num_bins={num_bins} and bin_boundaries={bin_boundaries}. Give the boundaries, or "
                             "num_bins and then call adapt(data).")
        if num_bins is None and bin_boundaries is None:
            raise ValueError(f"{_label(self)}: you need to set either `num_bins` (then call adapt(data)) or "
                             "`bin_boundaries`.")
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not 0 < epsilon < 1:
            raise ValueError(f"{_label(self)}: `epsilon` must be a number in (0, 1), e.g. 0.01. "
                             f"Received: epsilon={epsilon!r}")
        self.bin_boundaries = None if bin_boundaries is None else self._check_boundaries(bin_boundaries)
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = sparse
        self.summary = None if self.bin_boundaries else np.array([[], []], dtype="float32")

    def _check_boundaries(self, bounds: Any) -> list:
        values = _to_numpy(bounds).tolist() if isinstance(bounds, (np.ndarray, torch.Tensor)) else list(bounds)
        if not all(_is_number_tree(v) and not isinstance(v, (list, tuple)) for v in values) or any(
                b < a for a, b in zip(values, values[1:])):
            raise ValueError(f"{_label(self)}: `bin_boundaries` must be a list of numbers in increasing order. "
                             f"Received: bin_boundaries={bounds!r}")
        return values

    @property
    def output_dtype(self) -> str:
        return "int32" if self.output_mode == "int" else self.compute_dtype

    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learn ``num_bins`` bin boundaries as approximate quantiles of ``data`` (an array or an
        iterable of batches, see the module docstring); ``steps`` caps the number of batches."""
        if self.num_bins is None:
            raise ValueError(f"{_label(self)}: cannot adapt a Discretization layer that has been initialized with "
                             "`bin_boundaries`; use `num_bins` instead.")
        self.reset_state()
        for batch in _adapt_batches(self, data, steps=steps):
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data: Any) -> None:
        summary = _summarize(_to_numpy(data).astype("float32"), self.epsilon)
        self.summary = _merge_summaries(summary, self.summary, self.epsilon)

    def finalize_state(self) -> None:
        if self.num_bins is not None:
            self.bin_boundaries = _compress(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def reset_state(self) -> None:
        if self.num_bins is not None:
            self.summary = np.array([[], []], dtype="float32")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.bin_boundaries is None:
            raise ValueError(f"{_label(self)}: you need to either pass the `bin_boundaries` argument at construction "
                             "time or call `adapt(data)` before you can start using the Discretization layer.")
        dtype = backend.torch_dtype(self.compute_dtype)
        x = inputs.to(dtype) if inputs.dtype != dtype else inputs
        bounds = torch.tensor(self.bin_boundaries, dtype=dtype, device=x.device)
        indices = torch.bucketize(x, bounds, right=True)
        if self.output_mode == "int":
            return indices.to(torch.int32)
        return _encode_categorical(indices, self.output_mode, len(self.bin_boundaries) + 1, dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins
        return _encoded_shape(input_shape, self.output_mode, depth)

    def compute_output_spec(self, inputs: Any, *args: Any, **kwargs: Any) -> KerasTensor:
        return KerasTensor(self.compute_output_shape(inputs.shape), dtype=self.output_dtype)

    def get_config(self) -> dict[str, Any]:
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": self.sparse, "name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Discretization":
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            # an adapted layer: both are set, which the constructor refuses
            bounds = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = layer._check_boundaries(bounds)
            return layer
        return cls(**config)


# ============================================================================ CategoryEncoding
class CategoryEncoding(Layer):
    """Encodes integer category ids in ``[0, num_tokens)`` as dense vectors of ``num_tokens``:

    - ``"one_hot"``: each id becomes a one-hot vector (a trailing axis of size 1 is replaced);
    - ``"multi_hot"`` (default): each sample (row) becomes a vector with 1 at every id it holds;
    - ``"count"``: as multi_hot, counting repeats, or summing ``count_weights`` (same shape as
      the inputs) when given in the call.

    Outputs are in the layer's dtype (float32). ``sparse=True`` is not supported (initium has no
    sparse tensors); ids outside ``[0, num_tokens)`` raise a ``ValueError``.

    >>> CategoryEncoding(num_tokens=4, output_mode="multi_hot")([[0, 1], [0, 0], [1, 2], [3, 1]])
    """

    _MODES = ("one_hot", "multi_hot", "count")

    def __init__(self, num_tokens: int | None = None, output_mode: str = "multi_hot", sparse: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if output_mode == "binary":  # Keras's deprecated name
            output_mode = "multi_hot"
        _check_output_mode(self, output_mode, self._MODES)
        if num_tokens is None:
            raise ValueError(f"{_label(self)}: `num_tokens` must be set to use this layer. If the number of tokens "
                             "is not known beforehand, count them first (e.g. max id + 1).")
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, numbers.Integral):
            raise TypeError(f"{_label(self)}: `num_tokens` must be an integer. Received: num_tokens={num_tokens!r} "
                            f"(of type {type(num_tokens).__name__})")
        if num_tokens < 1:
            raise ValueError(f"{_label(self)}: `num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        _refuse_sparse(self, sparse)
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = sparse

    def call(self, inputs: torch.Tensor, count_weights: Any = None) -> torch.Tensor:
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(f"{_label(self)}: `count_weights` is not used when `output_mode` is not 'count' "
                             f"(it is {self.output_mode!r}). Received count_weights={count_weights!r}. Use "
                             "output_mode='count' or drop count_weights.")
        if inputs.numel():
            low, high = int(inputs.min()), int(inputs.max())
            if low < 0 or high >= self.num_tokens:
                raise ValueError(f"{_label(self)}: input values must be in the range 0 <= values < num_tokens with "
                                 f"num_tokens={self.num_tokens}. Received values from {low} to {high}. Raise "
                                 "num_tokens or map the ids into range.")
        dtype = backend.torch_dtype(self.compute_dtype)
        weights = None
        if count_weights is not None:
            weights = torch.as_tensor(_to_numpy(count_weights) if not isinstance(count_weights, torch.Tensor)
                                      else count_weights)
            if tuple(weights.shape) != tuple(inputs.shape):
                raise ValueError(f"{_label(self)}: `count_weights` must have the inputs' shape {tuple(inputs.shape)}. "
                                 f"Received: count_weights.shape={tuple(weights.shape)}")
        return _encode_categorical(inputs, self.output_mode, self.num_tokens, dtype, weights)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return _encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode}


for _cls in (Normalization, Discretization, CategoryEncoding):
    register_layer(_cls)
