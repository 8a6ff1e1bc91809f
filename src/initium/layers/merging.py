"""Merging layers: combine a LIST of tensors into one.

``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``, ``Minimum`` (element-wise, with
Keras's broadcasting), ``Concatenate`` (along ``axis``) and ``Dot`` (batched dot product). None
of them has weights. ``call`` receives a list; ``build`` and ``compute_output_shape`` receive a
list of shapes. The lower-case functions (``add([a, b])``, ``concatenate([a, b])``, ...) build
the layer and call it, as in Keras.

Broadcasting (Keras's rule): the non-batch shapes are aligned on their last axes, and each pair
of sizes must be equal or contain a 1; an input of lower rank gets size-1 axes inserted after
the batch axis. So ``Add`` of ``(None, 3)`` and ``(None, 1)`` gives ``(None, 3)``, and of
``(None, 4, 3)`` and ``(None, 3)`` gives ``(None, 4, 3)``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from initium.layers.layer import Layer
from initium.layers.serialization import register_layer

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
           "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"]


def _is_shape(s: Any) -> bool:
    return isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int) for d in s)


def _where(layer: Layer) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


def _input_mask(x: Any) -> Any:
    return getattr(x, "_keras_mask", None)


class Merge(Layer):
    """Base of the element-wise merges (not a public Keras layer). Subclasses define
    ``_merge_function(inputs)`` on a list of tensors of equal rank."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True
        self._reshape_required = False

    # ------------------------------------------------------------------ shapes
    def _shape_list(self, input_shape: Any, exactly: int | None = None) -> list[tuple]:
        """Check that ``input_shape`` is a list of shapes (of ``exactly`` entries when given)."""
        if not isinstance(input_shape, (list, tuple)) or _is_shape(input_shape) or not input_shape \
                or not all(_is_shape(s) for s in input_shape):
            if isinstance(input_shape, (list, tuple)) and not input_shape:
                raise ValueError(f"{_where(self)}: a merge layer should be called on a list of at least 1 input. "
                                 "Received an empty list.")
            raise ValueError(
                f"{_where(self)}: a merge layer should be called on a list of inputs, e.g. "
                f"{type(self).__name__}()([x1, x2]). Received: input_shape={input_shape} (not a list of shapes)."
            )
        shapes = [tuple(s) for s in input_shape]
        if exactly is not None and len(shapes) != exactly:
            raise ValueError(
                f"A `{type(self).__name__}` layer should be called on exactly {exactly} inputs. "
                f"Received {len(shapes)}: input_shape={shapes} (in {_where(self)})."
            )
        return shapes

    def _elemwise_shape(self, shape1: tuple, shape2: tuple, shapes: list) -> tuple:
        if len(shape1) < len(shape2):
            shape1, shape2 = shape2, shape1
        if not shape2:
            return shape1
        out = list(shape1[: len(shape1) - len(shape2)])
        for i, j in zip(shape1[len(shape1) - len(shape2):], shape2):
            if i is None or j is None:
                out.append(None)
            elif i == 1:
                out.append(j)
            elif j == 1 or i == j:
                out.append(i)
            else:
                raise ValueError(
                    f"{_where(self)}: inputs have incompatible shapes. Received shapes {shape1} and {shape2} "
                    f"(without the batch axis; full shapes {shapes}). Element-wise merges need, on each "
                    "axis counted from the last, equal sizes or a size of 1 (broadcast)."
                )
        return tuple(out)

    def _output_shape(self, shapes: list[tuple]) -> tuple:
        batch = {s[0] for s in shapes if s} - {None}
        if len(batch) > 1:
            raise ValueError(
                f"{_where(self)}: cannot merge tensors with different batch sizes. Received tensors with "
                f"shapes {shapes}."
            )
        out = shapes[0][1:]
        for s in shapes[1:]:
            out = self._elemwise_shape(out, s[1:], shapes)
        return (batch.pop() if batch else None, *out)

    def build(self, input_shape: Any) -> None:
        shapes = self._shape_list(input_shape)
        self._output_shape(shapes)
        self._reshape_required = len({len(s) for s in shapes}) != 1

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return self._output_shape(self._shape_list(input_shape))

    # ------------------------------------------------------------------ call
    def call(self, inputs: Any) -> torch.Tensor:
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"{_where(self)}: a merge layer should be called on a list of inputs. Received a single "
                f"{type(inputs).__name__}; pass [x1, x2, ...]."
            )
        if self._reshape_required:
            rank = max(x.ndim for x in inputs)
            reshaped = []
            for x in inputs:
                if x.ndim < rank:  # Keras inserts the missing axes right after the batch axis
                    mask = _input_mask(x)
                    x = x.reshape(x.shape[0], *([1] * (rank - x.ndim)), *x.shape[1:])
                    if mask is not None:
                        x._keras_mask = mask
                reshaped.append(x)
            inputs = reshaped
        return self._merge_function(list(inputs))

    def _merge_function(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The OR of the inputs' masks when every input has one, else ``None`` (Keras's rule)."""
        if mask is None:
            if not isinstance(inputs, (list, tuple)):
                return None
            mask = [_input_mask(x) for x in inputs]
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"{_where(self)}: `mask` should be a list. Received: mask={mask!r}")
        if len(mask) != len(inputs):
            raise ValueError(
                f"{_where(self)}: the lists `inputs` and `mask` should have the same length. Received "
                f"{len(inputs)} inputs and {len(mask)} masks."
            )
        if any(m is None for m in mask):
            return None
        out = mask[0]
        for m in mask[1:]:
            out = torch.logical_or(out, m)
        return out


def _masked_merge(op: Any, inputs: list[torch.Tensor]) -> torch.Tensor:
    """Keras's ``_apply_merge_op_and_or_mask``: masked-out entries take the other operand's value."""
    masks = [_input_mask(x) for x in inputs]
    if all(m is None for m in masks):
        out = inputs[0]
        for x in inputs[1:]:
            out = op(out, x)
        return out
    output = output_mask = None
    for x, mask in zip(inputs, masks):
        if mask is not None:
            mask = mask.unsqueeze(-1).expand(x.shape)
        if output is None:
            output, output_mask = x, mask
            continue
        if mask is not None:
            x = torch.where(mask, x, output)
        if output_mask is not None:
            output = torch.where(output_mask, output, x)
        output_mask = torch.logical_or(output_mask, mask) if mask is not None and output_mask is not None else None
        output = op(output, x)
    return output


class Add(Merge):
    """Element-wise sum of a list of inputs (with Keras broadcasting). No weights."""

    def _merge_function(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Subtract(Merge):
    """``inputs[0] - inputs[1]``, for exactly two inputs. No weights."""

    def build(self, input_shape: Any) -> None:
        self._shape_list(input_shape, exactly=2)
        super().build(input_shape)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return self._output_shape(self._shape_list(input_shape, exactly=2))

    def _merge_function(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        if len(inputs) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. Received {len(inputs)} "
                             f"(in {_where(self)}).")
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """Element-wise product of a list of inputs. No weights."""

    def _merge_function(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        masks = [_input_mask(x) for x in inputs]
        if all(m is None for m in masks):
            out = inputs[0]
            for x in inputs[1:]:
                out = out * x
            return out
        has_output_mask = all(m is not None for m in masks)
        output = output_mask = None
        for x, mask in zip(inputs, masks):  # Keras: masked entries count as 1
            if mask is not None:
                mask = mask.unsqueeze(-1).expand(x.shape)
                x = torch.where(mask, x, torch.ones((), dtype=x.dtype, device=x.device))
                if has_output_mask:
                    output_mask = mask if output_mask is None else torch.logical_or(output_mask, mask)
            output = x if output is None else output * x
        if has_output_mask:
            output = torch.where(output_mask, output, torch.zeros((), dtype=output.dtype, device=output.device))
        return output


class Average(Merge):
    """Element-wise mean of a list of inputs. No weights."""

    def _merge_function(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / len(inputs)


class Maximum(Merge):
    """Element-wise maximum of a list of inputs. No weights."""

    def _merge_function(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return _masked_merge(torch.maximum, inputs)


class Minimum(Merge):
    """Element-wise minimum of a list of inputs. No weights."""

    def _merge_function(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return _masked_merge(torch.minimum, inputs)


class Concatenate(Merge):
    """Concatenates a list of inputs along ``axis`` (default -1, the features). All other axes
    must agree (``None`` agrees with anything). No weights.

    Args:
        axis: int, the axis to concatenate along (counting the batch axis as 0).
    """

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"{_where(self)}: `axis` must be an int. Received: axis={axis!r}")
        self.axis = axis

    def _check(self, shapes: list[tuple]) -> None:
        ranks = {len(s) for s in shapes}
        err = ("A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. "
               f"Received: input_shape={shapes} (in {_where(self)}, axis={self.axis})")
        if len(ranks) != 1:
            raise ValueError(f"{err}. The inputs have different ranks {sorted(ranks)}; reshape them first.")
        rank = ranks.pop()
        if not -rank <= self.axis < rank:
            raise ValueError(f"{_where(self)}: axis={self.axis} is out of range for inputs of rank {rank} "
                             f"(shapes {shapes}). Use an axis in [{-rank}, {rank - 1}].")
        axis = self.axis % rank
        for i in range(rank):
            if i == axis:
                continue
            sizes = {s[i] for s in shapes} - {None}
            if len(sizes) > 1:
                raise ValueError(f"{err}. Axis {i} differs: {sorted(sizes)}.")

    def build(self, input_shape: Any) -> None:
        self._check(self._shape_list(input_shape))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shapes = self._shape_list(input_shape)
        self._check(shapes)
        axis = self.axis % len(shapes[0])
        out = list(shapes[0])  # other axes: the first input's sizes, as Keras reports them
        sizes = [s[axis] for s in shapes]
        out[axis] = None if any(d is None for d in sizes) else sum(sizes)
        return tuple(out)

    def _merge_function(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(inputs, dim=self.axis)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if not isinstance(inputs, (list, tuple)):
            return None
        if mask is None:
            mask = [_input_mask(x) for x in inputs]
        if not isinstance(mask, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f"{_where(self)}: `mask` should be a list with one entry per input. Received: mask={mask!r}")
        if all(m is None for m in mask):
            return None
        masks = []
        for x, m in zip(inputs, mask):
            if m is None:
                masks.append(torch.ones(x.shape, dtype=torch.bool, device=x.device))
            elif m.ndim < x.ndim:
                masks.append(m.unsqueeze(-1).expand(x.shape))
            else:
                masks.append(m)
        return torch.cat(masks, dim=self.axis).any(dim=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class Dot(Merge):
    """Batched dot product of two inputs along ``axes``: for ``(B, n)`` and ``(B, n)`` the
    output is ``(B, 1)``; in general the output keeps the batch axis, then the remaining axes of
    the first input, then those of the second. No weights.

    Args:
        axes: an int (the same axis of both inputs) or a pair ``(axis_of_x, axis_of_y)``; the
            batch axis 0 cannot be contracted.
        normalize: L2-normalize both inputs along ``axes`` first, which makes the output the
            cosine similarity.
    """

    def __init__(self, axes: Any, normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axes, bool) or not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f"Invalid type for argument `axes`: it should be a list or an int. "
                                f"Received: axes={axes!r} (in {_where(self)}).")
            if len(axes) != 2:
                raise ValueError(f"Invalid format for argument `axes`: it should contain two elements. "
                                 f"Received: axes={axes} (in {_where(self)}).")
            if any(isinstance(a, bool) or not isinstance(a, int) for a in axes):
                raise ValueError(f"Invalid format for argument `axes`: list elements should be integers. "
                                 f"Received: axes={axes} (in {_where(self)}).")
        self.axes = axes
        self.normalize = normalize
        self.supports_masking = True

    def _axes_for(self, rank1: int, rank2: int) -> tuple[int, int]:
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else tuple(self.axes)
        return pair[0] % rank1 if pair[0] < 0 else pair[0], pair[1] % rank2 if pair[1] < 0 else pair[1]

    def _check(self, input_shape: Any) -> tuple[tuple, tuple, int, int]:
        shape1, shape2 = self._shape_list(input_shape, exactly=2)
        if len(shape1) < 2 or len(shape2) < 2:
            raise ValueError(f"{_where(self)}: cannot take a batched dot product of inputs with rank < 2. Received "
                             f"shapes {shape1} and {shape2}.")
        a1, a2 = self._axes_for(len(shape1), len(shape2))
        if not (0 <= a1 < len(shape1) and 0 <= a2 < len(shape2)):
            raise ValueError(f"{_where(self)}: axes={self.axes} is out of range for inputs of shapes {shape1} and {shape2}.")
        if a1 == 0 or a2 == 0:
            raise ValueError(f"{_where(self)}: cannot perform batch_dot over axis 0 (the batch axis). Received "
                             f"axes={self.axes} for shapes {shape1} and {shape2}; use an axis >= 1.")
        d1, d2 = shape1[a1], shape2[a2]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(
                f"Incompatible input shapes: axis values {d1} (at axis {a1}) != {d2} (at axis {a2}). "
                f"Full input shapes: {shape1}, {shape2} (in {_where(self)})."
            )
        b1, b2 = shape1[0], shape2[0]
        if b1 is not None and b2 is not None and b1 != b2:
            raise ValueError(f"{_where(self)}: cannot merge tensors with different batch sizes. Received shapes "
                             f"{shape1} and {shape2}.")
        return shape1, shape2, a1, a2

    def build(self, input_shape: Any) -> None:
        self._check(input_shape)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape1, shape2, a1, a2 = self._check(input_shape)
        out = [d for i, d in enumerate(shape1) if i != a1] + [d for i, d in enumerate(shape2) if i not in (0, a2)]
        return tuple(out) if len(out) > 1 else (out[0], 1)

    def call(self, inputs: Any) -> torch.Tensor:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"A `Dot` layer should be called on a list of exactly 2 inputs (in {_where(self)}).")
        x, y = inputs
        a1, a2 = self._axes_for(x.ndim, y.ndim)
        if self.normalize:
            x = _l2_normalize(x, a1)
            y = _l2_normalize(y, a2)
        xr = torch.movedim(x, a1, -1)
        yr = torch.movedim(y, a2, 1)
        b, k = xr.shape[0], xr.shape[-1]
        x_rest, y_rest = tuple(xr.shape[1:-1]), tuple(yr.shape[2:])
        out = torch.bmm(xr.reshape(b, math.prod(x_rest), k), yr.reshape(b, k, math.prod(y_rest)))
        shape = (b, *x_rest, *y_rest)
        return out.reshape(shape if len(shape) > 1 else (b, 1))

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _l2_normalize(x: torch.Tensor, axis: int, epsilon: float = 1e-7) -> torch.Tensor:
    """Keras's ``ops.normalize(order=2)``: ``x * min(rsqrt(sum(x**2)), 1/epsilon)``."""
    inv = torch.rsqrt(torch.sum(x * x, dim=axis, keepdim=True))
    return x * torch.clamp(inv, max=1.0 / epsilon)


def add(inputs: Any, **kwargs: Any) -> Any:
    """``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs: Any, **kwargs: Any) -> Any:
    """``Subtract(**kwargs)(inputs)``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: Any, **kwargs: Any) -> Any:
    """``Multiply(**kwargs)(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs: Any, **kwargs: Any) -> Any:
    """``Average(**kwargs)(inputs)``."""
    return Average(**kwargs)(inputs)


def maximum(inputs: Any, **kwargs: Any) -> Any:
    """``Maximum(**kwargs)(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: Any, **kwargs: Any) -> Any:
    """``Minimum(**kwargs)(inputs)``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: Any, axis: int = -1, **kwargs: Any) -> Any:
    """``Concatenate(axis=axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: Any, axes: Any = -1, **kwargs: Any) -> Any:
    """``Dot(axes=axes, **kwargs)(inputs)``."""
    return Dot(axes=axes, **kwargs)(inputs)


for _cls in (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot):
    register_layer(_cls)
