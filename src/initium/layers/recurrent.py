"""Recurrent layers: ``SimpleRNN``, ``LSTM``, ``GRU`` (and their cells), ``RNN`` and ``Bidirectional``.

Keras 3 layout and semantics:

- The weights live in a cell sub-layer (``lstm/lstm_cell/kernel``); the RNN layer owns none.
  Kernels are ``(features, gates * units)``, recurrent kernels ``(units, gates * units)``, gate
  blocks in Keras's order: LSTM ``i, f, c, o``; GRU ``z, r, h``.
- Masked timesteps (``mask[b, t]`` False) keep the previous state; their output is the previous
  output (zeros before the first kept step), or zeros with ``zero_output_for_mask=True``
  (``Bidirectional`` forces that when ``return_sequences``).
- ``go_backwards`` processes the sequence in reverse and returns the outputs in processing order
  (the returned sequence is reversed), as Keras does.
- Dropout (training only) draws one mask per call and reuses it at every timestep; with
  ``recurrent_dropout > 0`` an LSTM/GRU cell uses one mask per gate (Keras's ``implementation=1``).

How it runs: the input projection ``x @ kernel (+ bias)`` is one matmul over all timesteps; each
step then does one recurrent matmul. When there is no mask, no recurrent dropout and the
activations are Keras's defaults (``tanh``/``sigmoid``; ``tanh`` or ``relu`` for SimpleRNN),
the whole sequence goes through PyTorch's fused kernel (``torch._VF.lstm / gru / rnn_tanh``: cuDNN
on CUDA, a C++ loop on CPU), exactly as Keras's torch backend does on CUDA. The math is the same
(PyTorch's LSTM gate order is Keras's ``i, f, c, o``; GRU gates are reordered from ``z, r, h`` to
``r, z, h`` in ``_gru_vf_params``, the only place that maps layouts); results agree with the
Python loop to float rounding. The Keras-layout ``Variable`` s stay the only weights.

``stateful=True`` is not supported (``ValueError``); ``unroll`` is accepted and ignored.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch

from initium import activations, backend, constraints, initializers, regularizers
from initium.initializers import Initializer
from initium.layers.layer import InputSpec, Layer
from initium.layers.serialization import deserialize as deserialize_layer
from initium.layers.serialization import register_layer
from initium.layers.serialization import serialize as serialize_layer

__all__ = ["RNN", "SimpleRNNCell", "LSTMCell", "GRUCell", "SimpleRNN", "LSTM", "GRU", "Bidirectional"]

# Use PyTorch's fused RNN kernels when the math allows (tests switch it off to check the loop).
USE_FUSED_KERNELS = True

_SHAPE_HINT = "Recurrent layers take inputs of shape (batch, timesteps, features)."


# --------------------------------------------------------------------------------------------- helpers
def _check_units(units: Any, where: str) -> int:
    if isinstance(units, float) and units.is_integer() and units > 0:
        return int(units)
    if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units <= 0:
        raise ValueError(
            f"Received an invalid value for argument `units`, expected a positive integer, got {units!r} "
            f"(in {where})."
        )
    return int(units)


def _rate(value: Any, arg: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ValueError(f"{where}: `{arg}` must be a float between 0 and 1. Received: {arg}={value!r}")
    return min(1.0, max(0.0, value))  # Keras clips silently


def _is(fn: Any, name: str) -> bool:
    return fn is getattr(activations, name) or fn is getattr(torch, name)


def _as_list(mask: Any) -> list[torch.Tensor] | None:
    if mask is None:
        return None
    return list(mask) if isinstance(mask, (list, tuple)) else [mask]


class _UnitForgetBias(Initializer):
    """LSTM bias with ``unit_forget_bias=True``: ``[base(u), ones(u), base(2u)]`` (Keras's layout).

    The layer's config still reports the user's ``bias_initializer``, as Keras's does.
    """

    def __init__(self, base: Any, units: int) -> None:
        self.base = base
        self.units = units

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        u = self.units

        def part(n: int) -> torch.Tensor:
            return initializers.initialize(self.base, (n,), dtype, device="cpu")

        return torch.cat([part(u), torch.ones(u, dtype=backend.torch_dtype(dtype or "float32")), part(2 * u)])

    def get_config(self) -> dict[str, Any]:
        return {"base": initializers.serialize(self.base), "units": self.units}

    def __repr__(self) -> str:
        return f"UnitForgetBias(base={self.base!r}, units={self.units})"


# --------------------------------------------------------------------------------------------- cells
class _Cell(Layer):
    """Shared machinery of the built-in cells: arguments, weights' regularizers/constraints,
    dropout masks (Keras's ``DropoutRNNCell`` API) and the per-step ``call``.

    Subclasses define ``_gates``, ``build``, ``_project(x, dp)`` (input projection of any leading
    shape, with the input bias) and ``_step(xp_t, states, rdp)``.
    """

    _gates = 1
    _mask_needs_open_rate = True  # LSTM/GRU: dropout applies only for 0 < rate < 1 (Keras)

    def _init_common(self, units: Any, activation: Any, use_bias: bool, kernel_initializer: Any,
                     recurrent_initializer: Any, bias_initializer: Any, kernel_regularizer: Any,
                     recurrent_regularizer: Any, bias_regularizer: Any, kernel_constraint: Any,
                     recurrent_constraint: Any, bias_constraint: Any, dropout: Any, recurrent_dropout: Any,
                     seed: Any) -> None:
        where = f"{type(self).__name__} '{self.name}'"
        self.units = _check_units(units, where)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _rate(dropout, "dropout", where)
        self.recurrent_dropout = _rate(recurrent_dropout, "recurrent_dropout", where)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(f"{where}: `seed` must be None or an integer. Received: seed={seed!r}")
        self.seed = seed
        self._generators: dict[str, torch.Generator] = {}
        self._dropout_mask: Any = None
        self._recurrent_dropout_mask: Any = None
        self.kernel = None
        self.recurrent_kernel = None
        self.bias = None

    def _add_kernels(self, input_dim: Any, bias_shape: tuple, bias_init: Any, window: tuple = ()) -> None:
        """``kernel`` ``(*window, input_dim, gates * units)``, ``recurrent_kernel``
        ``(*window, units, gates * units)`` and the bias; ``window`` is a convolution's kernel size."""
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the feature axis (last) of the input must be known. "
                f"{_SHAPE_HINT}"
            )
        width = self.units * self._gates
        self.kernel = self.add_weight(shape=(*window, int(input_dim), width), name="kernel",
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=(*window, self.units, width), name="recurrent_kernel",
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        if self.use_bias:
            self.bias = self.add_weight(shape=bias_shape, name="bias", initializer=bias_init,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        else:
            self.bias = None

    # ------------------------------------------------------------------ state
    @property
    def state_size(self) -> Any:
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    def _state_sizes(self) -> list[int]:
        s = self.state_size
        return list(s) if isinstance(s, (list, tuple)) else [s]

    def get_initial_state(self, batch_size: int | None = None) -> list[torch.Tensor]:
        dev = self._weight_device()
        return [torch.zeros((batch_size, d), dtype=backend.torch_dtype(self.compute_dtype), device=dev)
                for d in self._state_sizes()]

    # ------------------------------------------------------------------ dropout (Keras's DropoutRNNCell)
    def _generator(self, device: torch.device) -> torch.Generator | None:
        if self.seed is None:
            return None  # torch's global stream (seeded by initium.random.set_random_seed)
        key = str(device)
        gen = self._generators.get(key)
        if gen is None:
            gen = torch.Generator(device=device)
            gen.manual_seed(int(self.seed) & 0x7FFF_FFFF_FFFF_FFFF)
            self._generators[key] = gen
        return gen

    def _create_dropout_mask(self, like: torch.Tensor, rate: float) -> Any:
        count = getattr(self, "dropout_mask_count", None)
        n = count or 1
        if rate >= 1.0:
            masks = torch.zeros((n, *like.shape), dtype=like.dtype, device=like.device)
        else:
            keep = 1.0 - rate
            masks = torch.empty((n, *like.shape), dtype=like.dtype, device=like.device)
            masks.bernoulli_(keep, generator=self._generator(like.device)).div_(keep)
        return list(masks.unbind(0)) if count else masks[0]

    def get_dropout_mask(self, step_input: torch.Tensor) -> Any:
        """The input dropout mask for this sequence (created once, reused by every step)."""
        if self._dropout_mask is None and self.dropout > 0:
            self._dropout_mask = self._create_dropout_mask(step_input, self.dropout)
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, step_input: torch.Tensor) -> Any:
        if self._recurrent_dropout_mask is None and self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = self._create_dropout_mask(step_input, self.recurrent_dropout)
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self) -> None:
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self) -> None:
        self._recurrent_dropout_mask = None

    def _applies(self, rate: float) -> bool:
        return 0.0 < rate < 1.0 if self._mask_needs_open_rate else rate > 0.0

    def _masks(self, step_input: torch.Tensor, state: torch.Tensor, training: bool) -> tuple[Any, Any]:
        """``(input masks, recurrent masks)`` to apply, each None or a list (one per gate, or one)."""
        if not training:
            return None, None
        dp = _as_list(self.get_dropout_mask(step_input)) if self._applies(self.dropout) else None
        rdp = (_as_list(self.get_recurrent_dropout_mask(state))
               if self._applies(self.recurrent_dropout) else None)
        return dp, rdp

    # ------------------------------------------------------------------ math
    def _project(self, x: torch.Tensor, dp: list[torch.Tensor] | None) -> torch.Tensor:
        """``x @ kernel + input bias`` for ``x`` of shape ``(..., batch, features)``."""
        kernel = self.kernel
        if dp is None:
            xp = torch.matmul(x, kernel)
        elif len(dp) == 1:
            xp = torch.matmul(x * dp[0], kernel)
        else:  # one mask per gate block
            xp = torch.cat([torch.matmul(x * m, k) for m, k in zip(dp, kernel.chunk(self._gates, 1))], -1)
        bias = self._input_bias()
        return xp if bias is None else xp + bias

    def _input_bias(self) -> torch.Tensor | None:
        return self.bias

    def _recurrent(self, h: torch.Tensor, rdp: list[torch.Tensor] | None, kernel: torch.Tensor) -> torch.Tensor:
        """``h @ kernel``, with one recurrent-dropout mask per gate block when given."""
        if rdp is None:
            return torch.matmul(h, kernel)
        if len(rdp) == 1:
            return torch.matmul(h * rdp[0], kernel)
        blocks = kernel.shape[1] // self.units
        return torch.cat([torch.matmul(h * m, k) for m, k in zip(rdp, kernel.chunk(blocks, 1))], -1)

    def call(self, inputs: torch.Tensor, states: Any, training: bool = False) -> tuple[torch.Tensor, Any]:
        """One timestep (Keras's cell API): ``(output, new_states)`` for ``inputs`` ``(batch, features)``."""
        nested = isinstance(states, (list, tuple))
        st = [torch.as_tensor(s) for s in states] if nested else [states]
        dp, rdp = self._masks(inputs, st[0], bool(training))
        out, new = self._step(self._project(inputs, dp), st, rdp)
        return out, (new if nested or len(new) > 1 else new[0])

    def _step(self, xp: torch.Tensor, states: list[torch.Tensor], rdp: Any) -> tuple[torch.Tensor, list]:
        raise NotImplementedError

    def _fused(self, xs: torch.Tensor, states: list[torch.Tensor], dp: Any) -> Any:
        return None

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (input_shape[0], self.units)

    # ------------------------------------------------------------------ config
    def _common_config(self) -> dict[str, Any]:
        return {
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
        }


def lstm_update(z: torch.Tensor, c: torch.Tensor, act: Any, ract: Any, axis: int = -1) -> tuple[torch.Tensor, list]:
    """The LSTM state update from the pre-activations ``z`` (gate blocks ``i, f, c, o`` along
    ``axis``) and the previous carry ``c``: ``(h, [h, c])``. Shared by LSTMCell and ConvLSTMCell."""
    z_i, z_f, z_c, z_o = z.chunk(4, axis)
    c = ract(z_f) * c + ract(z_i) * act(z_c)
    h = ract(z_o) * act(c)
    return h, [h, c]


def _vf_params(kernel: torch.Tensor, recurrent: torch.Tensor, bias_ih: Any, bias_hh: Any) -> list[torch.Tensor]:
    """Keras-layout weights as the ``[w_ih, w_hh, (b_ih, b_hh)]`` list of ``torch._VF`` RNNs."""
    params = [kernel.t().contiguous(), recurrent.t().contiguous()]
    if bias_ih is not None:
        params += [bias_ih, bias_hh if bias_hh is not None else torch.zeros_like(bias_ih)]
    return params


def _fused_ok(x: torch.Tensor) -> bool:
    if not USE_FUSED_KERNELS:
        return False
    if x.device.type == "cpu":
        return x.dtype in (torch.float32, torch.float64)
    return x.device.type == "cuda"


class SimpleRNNCell(_Cell):
    """One step of ``SimpleRNN``: ``h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel)``.

    Weights: ``kernel`` ``(features, units)``, default ``glorot_uniform`` (variance
    ``2 / (features + units)``); ``recurrent_kernel`` ``(units, units)``, default ``orthogonal``
    (gain 1: every singular value 1); ``bias`` ``(units,)``, default zeros.
    """

    _mask_needs_open_rate = False  # Keras's SimpleRNN applies any rate > 0 (1.0 zeroes the input)

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._init_common(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                          kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                          recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed)

    def build(self, input_shape: Any) -> None:
        self._add_kernels(input_shape[-1], (self.units,), self.bias_initializer)

    def _step(self, xp: torch.Tensor, states: list[torch.Tensor], rdp: Any) -> tuple[torch.Tensor, list]:
        h = states[0]
        if rdp is not None:
            h = h * rdp[0]
        out = self.activation(torch.addmm(xp, h, self.recurrent_kernel) if xp.dim() == 2
                              else xp + torch.matmul(h, self.recurrent_kernel))
        return out, [out]

    def _fused(self, xs: torch.Tensor, states: list[torch.Tensor], dp: Any) -> Any:
        if _is(self.activation, "tanh"):
            fn = torch._VF.rnn_tanh
        elif _is(self.activation, "relu"):
            fn = torch._VF.rnn_relu
        else:
            return None
        if dp is not None:
            xs = xs * dp[0].unsqueeze(1)
        params = _vf_params(self.kernel, self.recurrent_kernel, self.bias, None)
        out, h = fn(xs, states[0].unsqueeze(0).contiguous(), params, self.bias is not None, 1, 0.0,
                    torch.is_grad_enabled(), False, True)
        return out, [h[0]]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"units": self.units, "activation": activations.serialize(self.activation),
                       "use_bias": self.use_bias, **self._common_config(), "seed": self.seed})
        return config


class LSTMCell(_Cell):
    """One step of ``LSTM`` (Hochreiter 1997), gate blocks in Keras's order ``i, f, c, o``:
    ``i, f, o = recurrent_activation(...)``, ``c_t = f * c_{t-1} + i * activation(z_c)``,
    ``h_t = o * activation(c_t)``.

    Weights: ``kernel`` ``(features, 4 * units)``, default ``glorot_uniform`` (variance
    ``2 / (features + 4 * units)``); ``recurrent_kernel`` ``(units, 4 * units)``, default
    ``orthogonal`` (orthonormal rows, gain 1); ``bias`` ``(4 * units,)``, default zeros, and with
    ``unit_forget_bias=True`` (default) ones on the forget block: ``[0, 1, 0, 0]`` per block.
    """

    _gates = 4

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        implementation = kwargs.pop("implementation", 2)
        super().__init__(**kwargs)
        self._init_common(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                          kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                          recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.implementation = 1 if self.recurrent_dropout != 0.0 else implementation
        if self.implementation == 1:
            self.dropout_mask_count = 4

    @property
    def state_size(self) -> list[int]:
        return [self.units, self.units]

    def build(self, input_shape: Any) -> None:
        init = _UnitForgetBias(self.bias_initializer, self.units) if self.unit_forget_bias else self.bias_initializer
        self._add_kernels(input_shape[-1], (4 * self.units,), init)

    def _step(self, xp: torch.Tensor, states: list[torch.Tensor], rdp: Any) -> tuple[torch.Tensor, list]:
        h, c = states
        if rdp is None and xp.dim() == 2:
            z = torch.addmm(xp, h, self.recurrent_kernel)
        else:
            z = xp + self._recurrent(h, rdp, self.recurrent_kernel)
        return lstm_update(z, c, self.activation, self.recurrent_activation)

    def _fused(self, xs: torch.Tensor, states: list[torch.Tensor], dp: Any) -> Any:
        if not (_is(self.activation, "tanh") and _is(self.recurrent_activation, "sigmoid")):
            return None
        if dp is not None:
            if len(dp) != 1:
                return None
            xs = xs * dp[0].unsqueeze(1)
        params = _vf_params(self.kernel, self.recurrent_kernel, self.bias, None)
        hx = (states[0].unsqueeze(0).contiguous(), states[1].unsqueeze(0).contiguous())
        out, h, c = torch._VF.lstm(xs, hx, params,
                                   self.bias is not None, 1, 0.0, torch.is_grad_enabled(), False, True)
        return out, [h[0], c[0]]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"units": self.units, "activation": activations.serialize(self.activation),
                       "recurrent_activation": activations.serialize(self.recurrent_activation),
                       "use_bias": self.use_bias, "unit_forget_bias": self.unit_forget_bias,
                       **self._common_config(), "seed": self.seed})
        return config


class GRUCell(_Cell):
    """One step of ``GRU`` (Cho et al. 2014), gate blocks in Keras's order ``z, r, h``:
    ``h_t = z * h_{t-1} + (1 - z) * hh``. With ``reset_after=True`` (default, cuDNN's form)
    ``hh = activation(x W_h + b_h + r * (h_{t-1} U_h + b'_h))`` and the bias is ``(2, 3 * units)``
    (input bias, recurrent bias); with ``reset_after=False``
    ``hh = activation(x W_h + b_h + (r * h_{t-1}) U_h)`` and the bias is ``(3 * units,)``.

    Weights: ``kernel`` ``(features, 3 * units)``, default ``glorot_uniform`` (variance
    ``2 / (features + 3 * units)``); ``recurrent_kernel`` ``(units, 3 * units)``, default
    ``orthogonal`` (gain 1); ``bias`` default zeros.
    """

    _gates = 3

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, reset_after: bool = True,
                 seed: int | None = None, **kwargs: Any) -> None:
        implementation = kwargs.pop("implementation", 2)
        super().__init__(**kwargs)
        self._init_common(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                          kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                          recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        self.implementation = 1 if self.recurrent_dropout != 0.0 else implementation
        if self.implementation == 1:
            self.dropout_mask_count = 3

    def build(self, input_shape: Any) -> None:
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self._add_kernels(input_shape[-1], shape, self.bias_initializer)

    def _input_bias(self) -> torch.Tensor | None:
        if self.bias is None:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def _step(self, xp: torch.Tensor, states: list[torch.Tensor], rdp: Any) -> tuple[torch.Tensor, list]:
        h = states[0]
        u = self.units
        act, ract = self.activation, self.recurrent_activation
        x_z, x_r, x_h = xp.chunk(3, -1)
        kernel = self.recurrent_kernel
        if self.reset_after:
            if rdp is None and self.bias is not None and h.dim() == 2:
                inner = torch.addmm(self.bias[1], h, kernel)
            else:
                inner = self._recurrent(h, rdp, kernel)
                if self.bias is not None:
                    inner = inner + self.bias[1]
            r_z, r_r, r_h = inner.chunk(3, -1)
            z = ract(x_z + r_z)
            r = ract(x_r + r_r)
            hh = act(x_h + r * r_h)
        else:
            inner = self._recurrent(h, rdp[:2] if rdp is not None else None, kernel[:, : 2 * u])
            r_z, r_r = inner.chunk(2, -1)
            z = ract(x_z + r_z)
            r = ract(x_r + r_r)
            h_h = h * rdp[2] if rdp is not None else h
            hh = act(x_h + torch.matmul(r * h_h, kernel[:, 2 * u:]))
        h = z * h + (1 - z) * hh
        return h, [h]

    def _fused(self, xs: torch.Tensor, states: list[torch.Tensor], dp: Any) -> Any:
        if not (self.reset_after and _is(self.activation, "tanh") and _is(self.recurrent_activation, "sigmoid")):
            return None
        if dp is not None:
            if len(dp) != 1:
                return None
            xs = xs * dp[0].unsqueeze(1)
        out, h = torch._VF.gru(xs, states[0].unsqueeze(0).contiguous(), _gru_vf_params(self),
                               self.bias is not None, 1, 0.0, torch.is_grad_enabled(), False, True)
        return out, [h[0]]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"units": self.units, "activation": activations.serialize(self.activation),
                       "recurrent_activation": activations.serialize(self.recurrent_activation),
                       "use_bias": self.use_bias, **self._common_config(), "reset_after": self.reset_after,
                       "seed": self.seed})
        return config


def _gru_vf_params(cell: GRUCell) -> list[torch.Tensor]:
    """Keras GRU gate blocks ``z, r, h`` to PyTorch's ``r, z, n`` (reset_after=True math)."""

    def reorder(w: torch.Tensor) -> torch.Tensor:
        z, r, h = w.chunk(3, -1)
        return torch.cat([r, z, h], -1)

    bias = cell.bias
    return _vf_params(reorder(cell.kernel), reorder(cell.recurrent_kernel),
                      reorder(bias[0]) if bias is not None else None,
                      reorder(bias[1]) if bias is not None else None)


# --------------------------------------------------------------------------------------------- RNN layers
class RNN(Layer):
    """Runs a cell over the timesteps of ``(batch, timesteps, features)`` inputs.

    ``RNN(cell)`` takes one of the built-in cells (any Layer with ``call(inputs, states)`` and
    ``state_size`` also works, through a plain per-step loop). Returns the last output
    ``(batch, units)``, or every output ``(batch, timesteps, units)`` with
    ``return_sequences=True``; with ``return_state=True`` a list ``[output, *final_states]``.

    Call arguments: ``initial_state`` (list of ``(batch, state)`` tensors), ``mask`` (boolean
    ``(batch, timesteps)``, False = skip the step), ``training`` (enables dropout).
    """

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        where = f"{type(self).__name__} '{self.name}'"
        if isinstance(cell, (list, tuple)):
            raise ValueError(f"{where}: stacked cells (a list of cells) are not supported by initium; stack "
                             "RNN layers with return_sequences=True instead.")
        if not callable(getattr(cell, "call", None)):
            raise ValueError(f"Argument `cell` should have a `call` method. Received: cell={cell!r}")
        if getattr(cell, "state_size", None) is None:
            raise ValueError(
                "The RNN cell should have a `state_size` attribute (single integer or list of integers, one "
                f"integer per RNN state). Received: cell={cell!r}"
            )
        if stateful:
            raise ValueError(
                f"{where}: stateful=True is not supported by initium (received stateful={stateful!r}). Pass "
                "the state explicitly instead: call the layer with return_state=True and feed the returned "
                "states back as initial_state=... on the next batch."
            )
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)  # accepted for Keras compatibility; the loop is never unrolled
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.states = None
        self.input_spec = InputSpec(ndim=3, hint=_SHAPE_HINT)

    @property
    def state_size(self) -> list[int]:
        s = self.cell.state_size
        return list(s) if isinstance(s, (list, tuple)) else [s]

    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        shape = tuple(sequences_shape)
        if len(shape) != 3:
            raise ValueError(
                f"Input 0 of layer '{self.name}' ({type(self).__name__}) is incompatible with the layer: expected "
                f"ndim=3, found ndim={len(shape)}. Full shape received: {shape}. {_SHAPE_HINT}"
            )
        if shape[-1] is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': the feature axis (last) of the input must be "
                             f"known. Received shape {shape}. {_SHAPE_HINT}")
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build((shape[0], *shape[2:]))
            self.cell.built = True
        self.input_spec = InputSpec(ndim=3, axes={-1: shape[-1]}, hint=_SHAPE_HINT)

    def get_initial_state(self, batch_size: int) -> list[torch.Tensor]:
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            st = fn(batch_size=batch_size)
            return list(st) if isinstance(st, (list, tuple)) else [st]
        return [torch.zeros((batch_size, d), device=self._weight_device()) for d in self.state_size]

    def reset_state(self) -> None:
        """No-op: initium RNNs are never stateful."""

    reset_states = reset_state

    # ------------------------------------------------------------------ call
    def _state_shapes(self, x: torch.Tensor) -> list[tuple]:
        """The shape of each state for the sequences ``x``: ``(batch, state size)``."""
        return [(x.shape[0], d) for d in self.state_size]

    def _initial(self, initial_state: Any, x: torch.Tensor) -> list[torch.Tensor]:
        shapes = self._state_shapes(x)
        if initial_state is None:
            return [torch.zeros(shape, dtype=x.dtype, device=x.device) for shape in shapes]
        given = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(given) != len(shapes):
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects {len(shapes)} initial state tensor(s) of shapes "
                f"{shapes}" + (" ([h, c])" if len(shapes) == 2 else "") + f", but received {len(given)}."
            )
        out = []
        for i, (s, shape) in enumerate(zip(given, shapes)):
            t = s if isinstance(s, torch.Tensor) else torch.as_tensor(np.asarray(s))
            t = t.to(device=x.device, dtype=x.dtype)
            if tuple(t.shape) != tuple(shape):
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': initial state {i} has shape {tuple(t.shape)}, "
                    f"expected {tuple(shape)} (batch, state shape)."
                )
            out.append(t)
        return out

    def call(self, sequences: torch.Tensor, initial_state: Any = None, mask: Any = None,
             training: bool = False) -> Any:
        x = sequences
        if x.shape[1] == 0:
            raise ValueError(f"{type(self).__name__} '{self.name}' received a sequence with 0 timesteps "
                             f"(shape {tuple(x.shape)}); at least one is needed.")
        states = self._initial(initial_state, x)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        cell = self.cell
        try:
            last, outputs, states = self._run(x, states, mask, bool(training))
        finally:
            if isinstance(cell, _Cell):
                cell.reset_dropout_mask()
                cell.reset_recurrent_dropout_mask()
        output = outputs if self.return_sequences else last
        if self.return_state:
            return [output, *states]
        return output

    def _run(self, x: torch.Tensor, states: list[torch.Tensor], mask: Any,
             training: bool) -> tuple[torch.Tensor, Any, list[torch.Tensor]]:
        cell = self.cell
        xs = torch.flip(x, [1]) if self.go_backwards else x
        builtin = isinstance(cell, _Cell)
        dp = rdp = None
        if builtin:
            dp, rdp = cell._masks(xs[:, 0], states[0], training)
            if mask is None and rdp is None and _fused_ok(xs):
                fused = cell._fused(xs, states, dp)
                if fused is not None:
                    outputs, new_states = fused
                    return outputs[:, -1], outputs, new_states
        xt = xs.transpose(0, 1)  # (time, batch, features)
        if builtin:
            xp = cell._project(xt, dp)

            def step(t: int, st: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
                return cell._step(xp[t], st, rdp)
        else:
            single = not isinstance(cell.state_size, (list, tuple))

            def step(t: int, st: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
                out, new = cell(xt[t], st[0] if single else st, training=training)
                return out, list(new) if isinstance(new, (list, tuple)) else [new]

        keep = None
        if mask is not None:
            m = mask if isinstance(mask, torch.Tensor) else torch.as_tensor(np.asarray(mask))
            m = m.to(device=x.device).bool()
            if m.dim() == 3:
                m = m[..., 0]
            if tuple(m.shape) != tuple(x.shape[:2]):
                raise ValueError(f"{type(self).__name__} '{self.name}': the mask has shape {tuple(m.shape)}, "
                                 f"expected (batch, timesteps) = {tuple(x.shape[:2])}.")
            if self.go_backwards:
                m = torch.flip(m, [1])
            # (time, batch, 1, ...): broadcasts over each step's output, vector or feature map
            keep = m.t().reshape(*m.shape[::-1], *[1] * (x.dim() - 2))
        outs: list[torch.Tensor] = []
        prev = None
        out = None
        for t in range(xt.shape[0]):
            out, new = step(t, states)
            if keep is not None:
                k = keep[t]
                if self.zero_output_for_mask:
                    out = torch.where(k, out, torch.zeros((), dtype=out.dtype, device=out.device))
                else:
                    out = torch.where(k, out, prev if prev is not None else torch.zeros_like(out))
                new = [torch.where(k, n, s) for n, s in zip(new, states)]
                prev = out
            states = new
            if self.return_sequences:
                outs.append(out)
        outputs = torch.stack(outs, 1) if self.return_sequences else None
        return out, outputs, states

    # ------------------------------------------------------------------ shapes, masks, config
    def compute_output_shape(self, sequences_shape: Any, initial_state_shape: Any = None) -> Any:
        batch, length = sequences_shape[0], sequences_shape[1]
        size = getattr(self.cell, "output_size", None) or self.state_size[0]
        out = (batch, length, size) if self.return_sequences else (batch, size)
        if self.return_state:
            return [out, *[(batch, d) for d in self.state_size]]
        return out

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None for _ in self.state_size]
        return output_mask

    def _rnn_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"return_sequences": self.return_sequences, "return_state": self.return_state,
                       "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                       "zero_output_for_mask": self.zero_output_for_mask})
        return config

    def get_config(self) -> dict[str, Any]:
        config = self._rnn_config()
        config["cell"] = serialize_layer(self.cell)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "RNN":
        config = dict(config)
        cell = deserialize_layer(config.pop("cell"), custom_objects=custom_objects)
        return cls(cell, **config)


def _cell_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"dtype": kwargs.get("dtype"), "trainable": kwargs.get("trainable", True)}


def _check_use_cudnn(use_cudnn: Any) -> Any:
    if use_cudnn not in ("auto", True, False):
        raise ValueError("Invalid valid received for argument `use_cudnn`. Expected one of {'auto', True, False}. "
                         f"Received: use_cudnn={use_cudnn!r}")
    return use_cudnn


def _where(cls_name: str, kwargs: dict[str, Any]) -> str:
    return f"{cls_name} '{kwargs['name']}'" if kwargs.get("name") else cls_name


class _CellProperties:
    """Read-only views of the cell's arguments on the layer (``lstm.units``), as in Keras."""

    units = property(lambda self: self.cell.units)
    activation = property(lambda self: self.cell.activation)
    use_bias = property(lambda self: self.cell.use_bias)
    kernel_initializer = property(lambda self: self.cell.kernel_initializer)
    recurrent_initializer = property(lambda self: self.cell.recurrent_initializer)
    bias_initializer = property(lambda self: self.cell.bias_initializer)
    kernel_regularizer = property(lambda self: self.cell.kernel_regularizer)
    recurrent_regularizer = property(lambda self: self.cell.recurrent_regularizer)
    bias_regularizer = property(lambda self: self.cell.bias_regularizer)
    kernel_constraint = property(lambda self: self.cell.kernel_constraint)
    recurrent_constraint = property(lambda self: self.cell.recurrent_constraint)
    bias_constraint = property(lambda self: self.cell.bias_constraint)
    dropout = property(lambda self: self.cell.dropout)
    recurrent_dropout = property(lambda self: self.cell.recurrent_dropout)

    def _layer_config(self, keys_before: dict[str, Any], keys_after: dict[str, Any]) -> dict[str, Any]:
        cell = self.cell
        config = self._rnn_config()
        config.update(keys_before)
        config.update({
            "kernel_initializer": initializers.serialize(cell.kernel_initializer),
            "recurrent_initializer": initializers.serialize(cell.recurrent_initializer),
            "bias_initializer": initializers.serialize(cell.bias_initializer),
            "kernel_regularizer": regularizers.serialize(cell.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(cell.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(cell.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(cell.kernel_constraint),
            "recurrent_constraint": constraints.serialize(cell.recurrent_constraint),
            "bias_constraint": constraints.serialize(cell.bias_constraint),
            "dropout": cell.dropout,
            "recurrent_dropout": cell.recurrent_dropout,
        })
        config.update(keys_after)
        return config


class SimpleRNN(_CellProperties, RNN):
    """Fully-connected RNN: ``h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel)``.

    Weights (in ``simple_rnn/simple_rnn_cell/``): ``kernel`` ``(features, units)``, default
    ``glorot_uniform`` (variance ``2 / (features + units)``); ``recurrent_kernel``
    ``(units, units)``, default ``orthogonal`` (gain 1); ``bias`` ``(units,)``, default zeros.

    >>> SimpleRNN(4)(np.zeros((2, 5, 3), "float32")).shape
    torch.Size([2, 4])
    """

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, seed: int | None = None,
                 **kwargs: Any) -> None:
        _check_units(units, _where("SimpleRNN", kwargs))
        cell = SimpleRNNCell(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                             recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                             kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                             bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                             recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                             dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                             name="simple_rnn_cell", **_cell_kwargs(kwargs))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)

    def call(self, sequences: torch.Tensor, initial_state: Any = None, mask: Any = None,
             training: bool = False) -> Any:
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def get_config(self) -> dict[str, Any]:
        # Keras's SimpleRNN config has no "seed" (its cell's has).
        return self._layer_config({"units": self.units, "activation": activations.serialize(self.activation),
                                   "use_bias": self.use_bias}, {})

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "SimpleRNN":
        return cls(**config)


class LSTM(_CellProperties, RNN):
    """Long Short-Term Memory (Hochreiter 1997), gate blocks ``i, f, c, o``.

    Weights (in ``lstm/lstm_cell/``): ``kernel`` ``(features, 4 * units)``, default
    ``glorot_uniform`` (variance ``2 / (features + 4 * units)``); ``recurrent_kernel``
    ``(units, 4 * units)``, default ``orthogonal`` (gain 1); ``bias`` ``(4 * units,)``, default
    zeros plus ones on the forget block (``unit_forget_bias=True``; the config still says
    ``bias_initializer: Zeros``). With ``return_state=True`` it returns ``[output, h, c]``.

    >>> LSTM(4, return_sequences=True)(np.zeros((2, 5, 3), "float32")).shape
    torch.Size([2, 5, 4])
    """

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, use_cudnn: Any = "auto", **kwargs: Any) -> None:
        _check_units(units, _where("LSTM", kwargs))
        cell = LSTMCell(units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                        kernel_initializer=kernel_initializer, unit_forget_bias=unit_forget_bias,
                        recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                        kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                        bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                        recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                        dropout=dropout, recurrent_dropout=recurrent_dropout, name="lstm_cell", seed=seed,
                        implementation=kwargs.pop("implementation", 2), **_cell_kwargs(kwargs))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.use_cudnn = _check_use_cudnn(use_cudnn)

    recurrent_activation = property(lambda self: self.cell.recurrent_activation)
    unit_forget_bias = property(lambda self: self.cell.unit_forget_bias)

    def call(self, sequences: torch.Tensor, initial_state: Any = None, mask: Any = None,
             training: bool = False) -> Any:
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def get_config(self) -> dict[str, Any]:
        return self._layer_config(
            {"units": self.units, "activation": activations.serialize(self.activation),
             "recurrent_activation": activations.serialize(self.recurrent_activation), "use_bias": self.use_bias},
            {"unit_forget_bias": self.unit_forget_bias, "seed": self.cell.seed})

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "LSTM":
        return cls(**config)


class GRU(_CellProperties, RNN):
    """Gated Recurrent Unit (Cho et al. 2014), gate blocks ``z, r, h``.

    Weights (in ``gru/gru_cell/``): ``kernel`` ``(features, 3 * units)``, default
    ``glorot_uniform`` (variance ``2 / (features + 3 * units)``); ``recurrent_kernel``
    ``(units, 3 * units)``, default ``orthogonal`` (gain 1); ``bias`` default zeros, shape
    ``(2, 3 * units)`` with ``reset_after=True`` (default: input and recurrent biases) or
    ``(3 * units,)`` with ``reset_after=False``.

    >>> GRU(4)(np.zeros((2, 5, 3), "float32")).shape
    torch.Size([2, 4])
    """

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 reset_after: bool = True, use_cudnn: Any = "auto", **kwargs: Any) -> None:
        _check_units(units, _where("GRU", kwargs))
        cell = GRUCell(units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                       kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                       bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                       recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                       kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                       bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                       reset_after=reset_after, name="gru_cell", seed=seed,
                       implementation=kwargs.pop("implementation", 2), **_cell_kwargs(kwargs))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.use_cudnn = _check_use_cudnn(use_cudnn)

    recurrent_activation = property(lambda self: self.cell.recurrent_activation)
    reset_after = property(lambda self: self.cell.reset_after)

    def call(self, sequences: torch.Tensor, initial_state: Any = None, mask: Any = None,
             training: bool = False) -> Any:
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def get_config(self) -> dict[str, Any]:
        return self._layer_config(
            {"units": self.units, "activation": activations.serialize(self.activation),
             "recurrent_activation": activations.serialize(self.recurrent_activation), "use_bias": self.use_bias},
            {"reset_after": self.reset_after, "seed": self.cell.seed})

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "GRU":
        return cls(**config)


# --------------------------------------------------------------------------------------------- Bidirectional
_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _remove_prefix(name: str, prefix: str) -> str:
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards, and merges the two outputs.

    ``Bidirectional(LSTM(4))`` builds two fresh layers from ``layer``'s config, named
    ``forward_lstm`` and ``backward_lstm`` (``go_backwards=True``); weights are the forward
    layer's then the backward layer's (``bidirectional/forward_lstm/lstm_cell/kernel``, ...), each
    with the wrapped layer's initializers. ``merge_mode``: ``'concat'`` (default), ``'sum'``,
    ``'mul'``, ``'ave'``, or None (a list ``[forward, backward]``). The backward outputs are
    flipped back to the input's time order before merging. With ``return_sequences`` the masked
    timesteps output zeros (``zero_output_for_mask`` is forced, as in Keras). With
    ``return_state`` the result is ``[output(s)..., *forward_states, *backward_states]``; an
    ``initial_state`` list is split in half between the two directions.
    """

    def __init__(self, layer: Any, merge_mode: str | None = "concat", weights: Any = None,
                 backward_layer: Any = None, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError(
                f"Please initialize `Bidirectional` layer with an `initium.layers.Layer` instance (an RNN such as "
                f"LSTM(...)). Received: {layer!r}"
            )
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"`backward_layer` need to be an `initium.layers.Layer` instance. "
                             f"Received: {backward_layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode!r}. Merge mode should be one of "
                             '{"sum", "mul", "ave", "concat", None}')
        for attr in ("go_backwards", "return_sequences", "return_state"):
            if not hasattr(layer, attr):
                raise ValueError(f"Bidirectional needs a sequence layer with a `{attr}` attribute (an RNN such as "
                                 f"LSTM or GRU). Received: {layer!r}")
        super().__init__(**kwargs)
        config = serialize_layer(layer)
        config["config"]["name"] = f"forward_{_remove_prefix(layer.name, 'forward_')}"
        self.forward_layer = deserialize_layer(config)
        if backward_layer is None:
            config = serialize_layer(layer)
            config["config"]["go_backwards"] = True
            config["config"]["name"] = f"backward_{_remove_prefix(layer.name, 'backward_')}"
            self.backward_layer = deserialize_layer(config)
        else:
            self.backward_layer = backward_layer
        if hasattr(layer, "use_cudnn"):
            self.forward_layer.use_cudnn = layer.use_cudnn
            self.backward_layer.use_cudnn = layer.use_cudnn
        self._verify_layer_config()
        for sub in (self.forward_layer, self.backward_layer):
            if getattr(sub, "zero_output_for_mask", None) is not None:
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = list(weights) if weights else None
        self.stateful = getattr(layer, "stateful", False)
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec

    def _verify_layer_config(self) -> None:
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError(
                "Forward layer and backward layer should have different `go_backwards` value. Received: "
                f"forward_layer.go_backwards {fwd.go_backwards}, backward_layer.go_backwards={bwd.go_backwards}"
            )
        for attr in ("stateful", "return_sequences", "return_state"):
            a, b = getattr(fwd, attr, None), getattr(bwd, attr, None)
            if a != b:
                raise ValueError(
                    "Forward layer and backward layer are expected to have the same value for attribute "
                    f'"{attr}", got "{a}" for forward layer and "{b}" for backward layer'
                )

    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        if not self.forward_layer.built:
            self.forward_layer.build(sequences_shape)
        if not self.backward_layer.built:
            self.backward_layer.build(sequences_shape)
        if self._initial_weights:
            n = len(self._initial_weights)
            self.forward_layer.set_weights(self._initial_weights[: n // 2])
            self.backward_layer.set_weights(self._initial_weights[n // 2:])
            self._initial_weights = None

    def call(self, sequences: torch.Tensor, initial_state: Any = None, mask: Any = None,
             training: bool = False) -> Any:
        fwd_state = bwd_state = None
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            half = len(states) // 2
            fwd_state, bwd_state = states[:half], states[half:]
        y = self.forward_layer(sequences, initial_state=fwd_state, mask=mask, training=training)
        y_rev = self.backward_layer(sequences, initial_state=bwd_state, mask=mask, training=training)
        states_out: list[torch.Tensor] = []
        if self.return_state:
            states_out = [*y[1:], *y_rev[1:]]
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = torch.flip(y_rev, [1])
        mode = self.merge_mode
        if mode == "concat":
            output: Any = torch.cat([y, y_rev], -1)
        elif mode == "sum":
            output = y + y_rev
        elif mode == "ave":
            output = (y + y_rev) / 2
        elif mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            return (output if mode is None else [output]) + states_out
        return output

    def compute_output_shape(self, sequences_shape: Any, initial_state_shape: Any = None) -> Any:
        shape = self.forward_layer.compute_output_shape(sequences_shape)
        state_shapes: list = []
        if self.return_state:
            shape, state_shapes = shape[0], list(shape[1:])
        if self.merge_mode == "concat":
            last = shape[-1] * 2 if shape[-1] is not None else None
            out: Any = [(*shape[:-1], last)]
        elif self.merge_mode is None:
            out = [tuple(shape), tuple(shape)]
        else:
            out = [tuple(shape)]
        if self.return_state:
            return out + state_shapes + state_shapes
        return out[0] if self.merge_mode is not None else out

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if not self.return_sequences:
            return None
        return mask if self.merge_mode is not None else [mask, mask]

    def reset_state(self) -> None:
        raise AttributeError("Layer must be stateful.")

    reset_states = reset_state

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        config["merge_mode"] = self.merge_mode
        config["layer"] = serialize_layer(self.forward_layer)
        config["backward_layer"] = serialize_layer(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "Bidirectional":
        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"], custom_objects=custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            config["backward_layer"] = deserialize_layer(backward, custom_objects=custom_objects)
        return cls(**config)


for _cls in (RNN, SimpleRNNCell, LSTMCell, GRUCell, SimpleRNN, LSTM, GRU, Bidirectional):
    register_layer(_cls)
