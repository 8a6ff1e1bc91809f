"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization, UnitNormalization.

The first three run on torch's fused kernels (``torch.nn.functional.batch_norm`` / ``layer_norm``
/ ``group_norm``) with Keras's math; half-precision inputs are normalized in float32 (as Keras
does). UnitNormalization has no weights: it scales each sample to unit L2 norm.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import torch
import torch.nn.functional as F

from initium import constraints, distribution, initializers, regularizers
from initium.layers.layer import InputSpec, Layer
from initium.layers.serialization import register_layer

__all__ = ["BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization"]

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _check_axis(layer: Layer, axis: int, ndim: int, input_shape: Any) -> int:
    """``axis`` as a non-negative index into an input of rank ``ndim``, or a ValueError."""
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"Axis {axis} is out of bounds for input shape {tuple(input_shape)}. Received: axis="
            f"{getattr(layer, 'axis', axis)} ({type(layer).__name__} '{layer.name}': use an axis in "
            f"[{-ndim}, {ndim - 1}], e.g. -1 for channels_last or 1 for channels_first)."
        )
    return axis % ndim


def _set_affine(layer: Layer, epsilon: Any, center: bool, scale: bool, beta_initializer: Any,
                gamma_initializer: Any, beta_regularizer: Any, gamma_regularizer: Any, beta_constraint: Any,
                gamma_constraint: Any) -> None:
    """Keep ``epsilon``, ``center``, ``scale`` and the resolved arguments of ``beta`` and ``gamma``
    (shared by the normalizations)."""
    layer.epsilon = epsilon
    layer.center = center
    layer.scale = scale
    layer.beta_initializer = initializers.get(beta_initializer)
    layer.gamma_initializer = initializers.get(gamma_initializer)
    layer.beta_regularizer = regularizers.get(beta_regularizer)
    layer.gamma_regularizer = regularizers.get(gamma_regularizer)
    layer.beta_constraint = constraints.get(beta_constraint)
    layer.gamma_constraint = constraints.get(gamma_constraint)
    layer.gamma = None
    layer.beta = None


def _add_affine(layer: Layer, shape: tuple, scale: bool, center: bool, **kwargs: Any) -> None:
    """Create ``gamma`` (if ``scale``) then ``beta`` (if ``center``), Keras's order."""
    if scale:
        layer.gamma = layer.add_weight(name="gamma", shape=shape, initializer=layer.gamma_initializer,
                                       regularizer=layer.gamma_regularizer, constraint=layer.gamma_constraint,
                                       **kwargs)
    if center:
        layer.beta = layer.add_weight(name="beta", shape=shape, initializer=layer.beta_initializer,
                                      regularizer=layer.beta_regularizer, constraint=layer.beta_constraint, **kwargs)


def _affine_config(layer: Layer) -> dict[str, Any]:
    """The config entries of ``beta`` and ``gamma``'s arguments, in LayerNormalization's order."""
    return {
        "beta_initializer": initializers.serialize(layer.beta_initializer),
        "gamma_initializer": initializers.serialize(layer.gamma_initializer),
        "beta_regularizer": regularizers.serialize(layer.beta_regularizer),
        "gamma_regularizer": regularizers.serialize(layer.gamma_regularizer),
        "beta_constraint": constraints.serialize(layer.beta_constraint),
        "gamma_constraint": constraints.serialize(layer.gamma_constraint),
    }


class BatchNormalization(Layer):
    """Normalizes each channel (the ``axis``) with batch statistics in training and with moving
    averages of them in inference: ``gamma * (x - mean) / sqrt(var + epsilon) + beta``.

    Training (``training=True`` and the layer trainable) uses the batch mean and the **biased**
    (population) batch variance over every axis but ``axis``, and updates, in place and without
    gradient, ``moving = momentum * moving + (1 - momentum) * batch``. Inference uses
    ``moving_mean`` / ``moving_variance``. As in Keras 3, a layer with ``trainable=False`` (e.g.
    frozen for fine-tuning) always runs in inference mode and never updates its statistics.

    Weights (each of shape ``(channels,)``, in this order): ``gamma`` (if ``scale``; default
    ``ones``), ``beta`` (if ``center``; default ``zeros``), then the non-trainable
    ``moving_mean`` (default ``zeros``) and ``moving_variance`` (default ``ones``). The default
    initializers are constants, so they have zero variance.

    Args:
        axis: int, the channel axis (``-1`` for channels_last, ``1`` after a channels_first conv).
        momentum: float, the moving-average momentum (0.99).
        epsilon: float added to the variance (1e-3).
        center, scale: whether to create and use ``beta`` / ``gamma``.
        beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer,
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: as their names say.
        synchronized: under a multi-process ``DataParallel`` (torchrun), compute the training batch
            statistics over every process's rows, as one batch (initium.distribution); default
            False: each process normalizes with its own rows, as torch DDP. Alone, no effect.
        renorm, renorm_clipping, renorm_momentum: accepted for Keras configs; ``renorm=True`` is
            not supported (ValueError).

    A ``mask`` (one dimension less than the input, e.g. from ``Embedding(mask_zero=True)``)
    excludes the masked positions from the batch statistics.
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 moving_mean_initializer: Any = "zeros", moving_variance_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, renorm: bool = False, renorm_clipping: Any = None,
                 renorm_momentum: float = 0.99, synchronized: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        where = f"BatchNormalization '{self.name}'"
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(
                f"{where}: `axis` must be an int (BatchNormalization normalizes one axis). Received: "
                f"axis={axis!r}. Use LayerNormalization for several axes."
            )
        self.axis = int(axis)
        if renorm:
            raise ValueError(
                f"{where}: renorm=True (batch renormalization) is not supported by initium. Received: "
                "renorm=True. Pass renorm=False."
            )
        self.synchronized = synchronized
        self.momentum = float(momentum)
        _set_affine(self, float(epsilon), center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                    gamma_regularizer, beta_constraint, gamma_constraint)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.renorm = renorm
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.supports_masking = True
        self.moving_mean = None
        self.moving_variance = None

    def build(self, input_shape: Any) -> None:
        ndim = len(input_shape)
        ax = _check_axis(self, self.axis, ndim, input_shape)
        channels = input_shape[ax]
        if channels is None:
            raise ValueError(
                f"BatchNormalization '{self.name}': the size of axis {self.axis} must be known to create "
                f"the weights. Received input shape {tuple(input_shape)}."
            )
        shape = (channels,)
        _add_affine(self, shape, scale=self.scale, center=self.center)
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape,
                                           initializer=self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=shape,
                                               initializer=self.moving_variance_initializer, trainable=False)
        self.input_spec = InputSpec(
            ndim=ndim, axes={self.axis: channels},
            hint=f"BatchNormalization normalizes axis {self.axis} and was built for inputs of rank {ndim}.",
        )

    def compute_output_shape(self, input_shape: Any) -> Any:
        _check_axis(self, self.axis, len(input_shape), input_shape)
        return input_shape

    def call(self, inputs: torch.Tensor, training: bool = False, mask: Any = None) -> torch.Tensor:
        if mask is not None and mask.ndim != inputs.ndim - 1:
            raise ValueError(
                "The mask provided should be one dimension less than the inputs. Received: "
                f"mask.shape={tuple(mask.shape)}, inputs.shape={tuple(inputs.shape)} "
                f"(BatchNormalization '{self.name}')."
            )
        x = inputs.float() if inputs.dtype in _LOW_PRECISION else inputs
        ax = self.axis % x.ndim
        gamma = self.gamma.to(x.dtype) if self.gamma is not None else None
        beta = self.beta.to(x.dtype) if self.beta is not None else None
        if training and self.trainable:
            count = x.numel() // max(1, x.shape[ax])
            if mask is not None or count <= 1 or x.ndim < 2 or self.synchronized:
                out = self._train_by_hand(x, ax, gamma, beta, mask)
            else:
                out = self._train_fused(x, ax, gamma, beta, count)
        else:
            out = self._apply(x, ax, self.moving_mean.to(x.dtype), self.moving_variance.to(x.dtype), gamma, beta)
        return out.to(inputs.dtype) if out.dtype != inputs.dtype else out

    # The channel axis goes to position 1 for torch's kernel: a view, undone on the output.
    def _apply(self, x: torch.Tensor, ax: int, mean: torch.Tensor, var: torch.Tensor,
               gamma: torch.Tensor | None, beta: torch.Tensor | None) -> torch.Tensor:
        if x.ndim < 2:
            inv = torch.rsqrt(var + self.epsilon)
            if gamma is not None:
                inv = inv * gamma
            out = (x - mean) * inv
            return out + beta if beta is not None else out
        xc = x if ax == 1 else x.movedim(ax, 1)
        out = F.batch_norm(xc, mean, var, gamma, beta, False, 0.0, self.epsilon)
        return out if ax == 1 else out.movedim(1, ax)

    def _train_fused(self, x: torch.Tensor, ax: int, gamma: torch.Tensor | None, beta: torch.Tensor | None,
                     count: int) -> torch.Tensor:
        # torch's kernel normalizes with the biased batch variance (as Keras) but folds the UNBIASED
        # one into its running average, with momentum meaning (1 - Keras's). It updates copies;
        # the variance update is then corrected exactly: with r = m * old + (1 - m) * var * n / (n - 1),
        # Keras's m * old + (1 - m) * var is lerp(m * old, r, (n - 1) / n). No host sync.
        m = self.momentum
        mm, mv = self.moving_mean, self.moving_variance
        with torch.no_grad():
            run_mean = mm.detach().to(x.dtype, copy=True)
            run_var = mv.detach().to(x.dtype, copy=True)
        xc = x if ax == 1 else x.movedim(ax, 1)
        out = F.batch_norm(xc, run_mean, run_var, gamma, beta, True, 1.0 - m, self.epsilon)
        with torch.no_grad():
            mm.copy_(run_mean)
            mv.copy_(torch.lerp(mv.detach().to(x.dtype) * m, run_var, (count - 1) / count))
        return out if ax == 1 else out.movedim(1, ax)

    def _train_by_hand(self, x: torch.Tensor, ax: int, gamma: torch.Tensor | None, beta: torch.Tensor | None,
                       mask: Any) -> torch.Tensor:
        dims = [d for d in range(x.ndim) if d != ax]
        moments = distribution.synchronized_moments(x, dims) if self.synchronized and mask is None and dims else None
        if moments is not None:  # over every process's rows
            mean, var = moments
        elif mask is None:
            if dims:
                var, mean = torch.var_mean(x, dim=dims, correction=0)
            else:
                mean, var = x, torch.zeros_like(x)
        else:  # Keras: the mask covers every axis but the last, and is broadcast over it
            w = mask.unsqueeze(-1).to(x.dtype).expand(x.shape)
            total = w.sum(dim=dims) + 1e-7
            mean = (x * w).sum(dim=dims) / total
            shape = [1] * x.ndim
            shape[ax] = x.shape[ax]
            var = torch.square((x - mean.reshape(shape)) * w).sum(dim=dims) / total
        m = self.momentum
        with torch.no_grad():
            self.moving_mean.copy_(self.moving_mean * m + mean.detach() * (1.0 - m))
            self.moving_variance.copy_(self.moving_variance * m + var.detach() * (1.0 - m))
        if x.ndim < 2:
            return self._apply(x, ax, mean, var, gamma, beta)
        shape = [1] * x.ndim
        shape[ax] = x.shape[ax]
        inv = torch.rsqrt(var + self.epsilon)
        if gamma is not None:
            inv = inv * gamma
        out = (x - mean.reshape(shape)) * inv.reshape(shape)
        return out + beta.reshape(shape) if beta is not None else out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        })
        return config


class LayerNormalization(Layer):
    """Normalizes each sample over ``axis`` (its own mean and biased variance):
    ``gamma * (x - mean) / sqrt(var + epsilon) + beta``. Same in training and inference.

    Weights: ``gamma`` (if ``scale``; default ``ones``) and ``beta`` (if ``center``; default
    ``zeros``), of shape ``tuple(input_shape[a] for a in sorted(axis))``; constant initializers,
    so zero variance.

    Args:
        axis: int or list of ints (default -1). As in Keras, the built layer stores it as a sorted
            list (``-1`` becomes ``[-1]`` in the config once built).
        epsilon: float added to the variance (1e-3).
        center, scale: whether to create and use ``beta`` / ``gamma``.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer, beta_constraint,
        gamma_constraint: as their names say.
        rms_scaling: deprecated Keras argument (a keyword): ``x / sqrt(var + epsilon) * gamma``
            without centering and without ``beta``; use RMS normalization instead.
    """

    def __init__(self, axis: Any = -1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 beta_initializer: Any = "zeros", gamma_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None, gamma_constraint: Any = None,
                 **kwargs: Any) -> None:
        rms_scaling = kwargs.pop("rms_scaling", False)
        if rms_scaling:
            warnings.warn(
                "You passed `rms_scaling=True`, which is deprecated. This argument incorrectly scales the "
                "input by the variance, not the root mean square. To correctly use RMS Normalization, "
                "please use `keras.layers.RMSNormalization` instead.",
                stacklevel=2,
            )
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not all(isinstance(a, numbers.Integral) for a in axis):
                raise TypeError(
                    "Expected an int or a list/tuple of ints for the argument 'axis', but received: "
                    f"{axis!r} (LayerNormalization '{self.name}')"
                )
            self.axis: Any = [int(a) for a in axis]
        elif isinstance(axis, numbers.Integral):
            self.axis = int(axis)
        else:
            raise TypeError(
                "Expected an int or a list/tuple of ints for the argument 'axis', but received: "
                f"{axis!r} (LayerNormalization '{self.name}')"
            )
        self.rms_scaling = rms_scaling
        _set_affine(self, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                    gamma_regularizer, beta_constraint, gamma_constraint)
        self.supports_masking = True

    def _positive_axes(self, input_shape: Any) -> list[int]:
        ndim = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        pos = [_check_axis(self, a, ndim, input_shape) for a in axes]
        if len(set(pos)) != len(pos):
            raise ValueError(
                f"LayerNormalization '{self.name}': axis={self.axis} names the same axis twice for inputs of "
                f"rank {ndim}. List each axis once."
            )
        return pos

    def build(self, input_shape: Any) -> None:
        if isinstance(self.axis, list):
            self.axis = sorted(self.axis)
        else:
            self.axis = [self.axis]
        pos = self._positive_axes(input_shape)
        shape = tuple(input_shape[a] for a in pos)
        if any(d is None for d in shape):
            raise ValueError(
                f"LayerNormalization '{self.name}': the sizes of axes {self.axis} must be known to create the "
                f"weights. Received input shape {tuple(input_shape)}."
            )
        _add_affine(self, shape, scale=self.scale or self.rms_scaling, center=self.center and not self.rms_scaling)

    def compute_output_shape(self, input_shape: Any) -> Any:
        self._positive_axes(input_shape)
        return input_shape

    def call(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor:
        # `mask` is unused; declaring it makes the base Layer hand an incoming mask on to the output.
        x = inputs.float() if inputs.dtype in _LOW_PRECISION else inputs
        pos = self._positive_axes(x.shape)
        k = len(pos)
        tail = list(range(x.ndim - k, x.ndim))
        moved = pos != tail
        if moved:  # the normalized axes go last, in the order of `gamma`'s axes: a view
            x = x.movedim(pos, tail)
        norm_shape = tuple(x.shape[x.ndim - k:])
        gamma = self.gamma.to(x.dtype) if self.gamma is not None else None
        beta = self.beta.to(x.dtype) if self.beta is not None else None
        if self.rms_scaling:
            var = torch.var(x, dim=tail, keepdim=True, correction=0)
            out = x * torch.rsqrt(var + self.epsilon)
            if gamma is not None:
                out = out * gamma
        else:
            out = F.layer_norm(x, norm_shape, gamma, beta, float(self.epsilon))
        if moved:
            out = out.movedim(tail, pos)
        return out.to(inputs.dtype) if out.dtype != inputs.dtype else out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            **_affine_config(self),
        })
        return config


class GroupNormalization(Layer):
    """Normalizes each sample within groups of channels: the ``axis`` channels are split into
    ``groups`` consecutive groups, and each group is normalized by its own mean and biased variance
    over the channels in it and every other non-batch axis, then
    ``gamma * (x - mean) / sqrt(var + epsilon) + beta`` per channel. Same in training and
    inference (no batch statistics). ``groups=1`` is LayerNormalization over all axes; ``groups=-1``
    (one channel per group) is instance normalization.

    Weights, each of shape ``(channels,)``: ``gamma`` (if ``scale``; default ``ones``) then
    ``beta`` (if ``center``; default ``zeros``); constant initializers, so zero variance.

    Args:
        groups: positive int dividing the number of channels, or -1 (as many groups as channels;
            the built layer's config then holds the channel count, as in Keras). 32.
        axis: int, the channel axis (-1; 1 for channels_first).
        epsilon: float added to the variance (1e-3).
        center, scale: whether to create and use ``beta`` / ``gamma``.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer, beta_constraint,
        gamma_constraint: as their names say.

    Reference: Wu & He, "Group Normalization" (2018), https://arxiv.org/abs/1803.08494
    """

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        where = f"GroupNormalization '{self.name}'"
        if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or (groups <= 0 and groups != -1):
            raise ValueError(
                "Received an invalid value for argument `groups`, expected a positive integer (or `-1` for "
                f"instance normalization). Received: groups={groups!r} ({where})."
            )
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"{where}: `axis` must be an int, the channel axis (-1 for channels_last, 1 for "
                            f"channels_first). Received: axis={axis!r}.")
        self.groups = int(groups)
        self.axis = int(axis)
        _set_affine(self, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                    gamma_regularizer, beta_constraint, gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        ndim = len(input_shape)
        dim = input_shape[_check_axis(self, self.axis, ndim, input_shape)]
        where = f"GroupNormalization '{self.name}'"
        if dim is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined dimension but the layer "
                             f"received an input with shape {tuple(input_shape)} ({where}).")
        groups = dim if self.groups == -1 else self.groups
        if dim < groups or dim % groups:
            divisors = [g for g in range(1, dim + 1) if dim % g == 0]
            raise ValueError(
                f"{where}: the number of channels ({dim}, axis {self.axis} of input shape {tuple(input_shape)}) "
                f"must be a multiple of the number of groups. Received: groups={self.groups}. Use groups that "
                f"divides {dim}: one of {divisors}, or -1 for one group per channel."
            )
        self.groups = groups
        _add_affine(self, (dim,), scale=self.scale, center=self.center, autocast=False)
        self.input_spec = InputSpec(ndim=ndim, axes={self.axis: dim})

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs.float() if inputs.dtype in _LOW_PRECISION else inputs
        ax = self.axis % x.ndim
        xc = x if ax == 1 else x.movedim(ax, 1)  # torch's kernel wants (batch, channels, ...): a view
        gamma = self.gamma.to(x.dtype) if self.gamma is not None else None
        beta = self.beta.to(x.dtype) if self.beta is not None else None
        out = F.group_norm(xc, self.groups, gamma, beta, float(self.epsilon))
        out = out if ax == 1 else out.movedim(1, ax)
        return out.to(self._torch_dtype())  # Keras casts to the compute dtype

    def compute_output_shape(self, input_shape: Any) -> Any:
        _check_axis(self, self.axis, len(input_shape), input_shape)
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, **_affine_config(self)}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over ``axis``: ``x / sqrt(sum(x ** 2, axis))``, with
    the inverse norm capped at 1e12 so an all-zero sample stays 0. No weights.

    Args:
        axis: int or list of ints (-1).
    """

    _EPSILON = 1e-12  # Keras's: caps 1 / norm, so zeros do not become NaN

    def __init__(self, axis: Any = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and all(isinstance(a, numbers.Integral) and not isinstance(a, bool)
                                                   for a in axis):
            self.axis: Any = [int(a) for a in axis]
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            self.axis = int(axis)
        else:
            raise TypeError(
                "Invalid value for `axis` argument: expected an int or a list/tuple of ints. Received: "
                f"axis={axis!r} (UnitNormalization '{self.name}')."
            )
        self.supports_masking = True
        self.built = True

    def _axes(self, input_shape: Any) -> list[int]:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        return [_check_axis(self, a, len(input_shape), input_shape) for a in axes]

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        square_sum = torch.sum(torch.square(inputs), dim=self._axes(inputs.shape), keepdim=True)
        return inputs * torch.clamp(torch.rsqrt(square_sum), max=1.0 / self._EPSILON)

    def compute_output_shape(self, input_shape: Any) -> Any:
        self._axes(input_shape)
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


for _cls in (BatchNormalization, LayerNormalization, GroupNormalization, UnitNormalization):
    register_layer(_cls)
