"""Convolutional LSTMs: ``ConvLSTM1D``, ``ConvLSTM2D``, ``ConvLSTM3D`` (Shi et al. 2015).

An LSTM whose input and recurrent transformations are convolutions: the state ``h`` and the carry
``c`` are feature maps, not vectors. Keras 3 layout and semantics:

- inputs are ``(batch, time, *spatial, channels)`` (``channels_last``, the default) or
  ``(batch, time, channels, *spatial)``; outputs and states are ``(batch, *out_spatial, filters)``
  (or channels first), ``out_spatial`` being what a convolution with the layer's ``kernel_size``,
  ``strides``, ``padding`` and ``dilation_rate`` makes of the input's spatial shape. The spatial
  shape must be known when the layer is built (Keras's rule); the time axis may be None.
- The weights live in a cell sub-layer (``conv_lstm2d/conv_lstm_cell/kernel``): ``kernel``
  ``(*kernel_size, channels, 4 * filters)``, ``recurrent_kernel`` ``(*kernel_size, filters,
  4 * filters)``, ``bias`` ``(4 * filters,)``, gate blocks ``i, f, c, o`` on the last axis; with
  ``unit_forget_bias=True`` (default) the forget block of the bias starts at one.
- The recurrent convolution always uses stride 1, no dilation and 'same' padding, so the state
  keeps its shape from step to step.
- Dropout (training only, ``0 < rate < 1``) draws four masks per call, one per gate, shaped like
  one timestep of the input (``dropout``) or like the state (``recurrent_dropout``), and reuses them
  at every timestep, as Keras does.
- Masking, ``go_backwards``, ``return_sequences``, ``return_state`` and ``initial_state`` work as
  in :class:`initium.layers.LSTM` (the shared :class:`~initium.layers.recurrent.RNN` loop runs
  them); ``stateful=True`` is refused the same way, ``unroll`` is accepted and ignored.

How it runs: the input convolution of every timestep is one batched convolution (time folded into
the batch), then each step does one recurrent convolution.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from initium import activations, backend, initializers
from initium.layers.conv import (_CONV, _channels, _spatial, _to_channels_first, _to_channels_last, _torch_kernel,
                                 _with_spatial, check_fits, check_rank, conv_output_length, data_format_arg,
                                 pad_input, padding_arg, positive_count, tuple_arg)
from initium.layers.layer import InputSpec
from initium.layers.recurrent import (RNN, _Cell, _cell_kwargs, _CellProperties, _UnitForgetBias, _where,
                                      lstm_update)
from initium.layers.serialization import register_layer

__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]

_SPATIAL_NAMES = {1: "steps", 2: "rows, cols", 3: "depth, rows, cols"}


def _conv_args(where: str, rank: int, filters: Any, kernel_size: Any, strides: Any, padding: Any,
               data_format: Any, dilation_rate: Any) -> dict[str, Any]:
    """The convolution arguments, checked and normalized as Keras stores them."""
    args = {"filters": positive_count(where, "filters", filters),
            "kernel_size": tuple_arg(where, "kernel_size", kernel_size, rank),
            "strides": tuple_arg(where, "strides", strides, rank),
            "padding": padding_arg(where, padding, ("valid", "same")),
            "data_format": data_format_arg(where, data_format),
            "dilation_rate": tuple_arg(where, "dilation_rate", dilation_rate, rank)}
    if max(args["strides"]) > 1 and max(args["dilation_rate"]) > 1:
        raise ValueError(
            f"{where}: `strides > 1` is not compatible with `dilation_rate > 1`. Received: strides="
            f"{args['strides']} and dilation_rate={args['dilation_rate']}. Pass strides=1 or dilation_rate=1."
        )
    return args


def _input_hint(cls_name: str, rank: int, data_format: str) -> str:
    dims = _SPATIAL_NAMES[rank]
    layout = (f"(batch, time, {dims}, channels)" if data_format == "channels_last"
              else f"(batch, time, channels, {dims})")
    return f"{cls_name} expects inputs of rank {rank + 3}: {layout} with data_format='{data_format}'."


def _check_step_shape(where: str, step_shape: Sequence[Any], data_format: str) -> int:
    """Keras's build-time rules for one timestep's shape: static spatial axes, known channels."""
    if any(n is None for n in _spatial(step_shape, data_format)):
        raise ValueError(
            f"{where}: ConvLSTM layers need static spatial dimensions (only batch and time may be None). "
            f"Received a timestep of shape {tuple(step_shape)} with data_format='{data_format}'. Give the "
            "Input its full spatial shape."
        )
    channels = _channels(step_shape, data_format)
    if channels is None:
        raise ValueError(
            f"{where}: the channel axis of the inputs must be known. Received a timestep of shape "
            f"{tuple(step_shape)} with data_format='{data_format}'."
        )
    return int(channels)


# --------------------------------------------------------------------------------------------- the cell
class ConvLSTMCell(_Cell):
    """One step of a convolutional LSTM (Keras's ``ConvLSTMCell``, not exported by Keras either).

    ``call(x_t, [h, c])`` with ``x_t`` ``(batch, *spatial, channels)`` (or channels first):
    ``z = conv(x_t, kernel, strides, padding, dilation) + bias + conv(h, recurrent_kernel, 'same')``,
    then the LSTM update on the gate blocks ``i, f, c, o`` of ``z``'s channels.

    Weights: ``kernel`` ``(*kernel_size, channels, 4 * filters)``, default ``glorot_uniform``
    (fan_in = prod(kernel_size) * channels, fan_out = prod(kernel_size) * 4 * filters);
    ``recurrent_kernel`` ``(*kernel_size, filters, 4 * filters)``, default ``orthogonal`` (on the
    matrix flattened to ``(prod(kernel_size) * filters, 4 * filters)``); ``bias`` ``(4 * filters,)``,
    default zeros, plus ones on the forget block with ``unit_forget_bias=True``.
    """

    _gates = 4

    def __init__(self, rank: int, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        where = f"{type(self).__name__} '{self.name}'"
        if rank not in (1, 2, 3):
            raise ValueError(f"{where}: rank {rank!r} convolutions are not implemented; rank must be 1, 2 or 3.")
        self.rank = rank
        conv = _conv_args(where, rank, filters, kernel_size, strides, padding, data_format, dilation_rate)
        self._init_common(conv["filters"], activation, use_bias, kernel_initializer, recurrent_initializer,
                          bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                          kernel_constraint, recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed)
        self.filters = self.units
        self.kernel_size = conv["kernel_size"]
        self.strides = conv["strides"]
        self.padding = conv["padding"]
        self.data_format = conv["data_format"]
        self.dilation_rate = conv["dilation_rate"]
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.dropout_mask_count = 4  # Keras: always one mask per gate
        # counted from the end: the same axis for one timestep (batch, ...) and a sequence (time, batch, ...)
        self._channel_axis = -1 if self.data_format == "channels_last" else -(rank + 1)
        self._sample_shape: tuple | None = None  # one timestep without the batch, set by build

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        channels = _check_step_shape(f"{type(self).__name__} '{self.name}'", shape, self.data_format)
        check_fits(self, _spatial(shape, self.data_format), self.kernel_size, self.dilation_rate, self.strides,
                   self.padding)
        init = _UnitForgetBias(self.bias_initializer, self.filters) if self.unit_forget_bias else self.bias_initializer
        self._add_kernels(channels, (4 * self.filters,), init, window=self.kernel_size)
        self._sample_shape = shape[1:]

    # ------------------------------------------------------------------ shapes and states
    def state_shape(self, step_shape: Sequence[Any]) -> tuple:
        """The shape of ``h`` (and ``c``) for a timestep of shape ``step_shape`` (batch included)."""
        spatial = [conv_output_length(n, k, s, d, self.padding) for n, k, s, d in
                   zip(_spatial(step_shape, self.data_format), self.kernel_size, self.strides, self.dilation_rate)]
        return _with_spatial(step_shape, spatial, self.filters, self.data_format)

    def get_initial_state(self, batch_size: int | None = None) -> list[torch.Tensor]:
        if self._sample_shape is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': build the cell before asking for its initial "
                             "state (its shape depends on the input's spatial shape).")
        shape = self.state_shape((batch_size, *self._sample_shape))
        dtype, dev = backend.torch_dtype(self.compute_dtype), self._weight_device()
        return [torch.zeros(shape, dtype=dtype, device=dev) for _ in range(2)]

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return self.state_shape(tuple(input_shape))

    # ------------------------------------------------------------------ math
    def _conv(self, x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None, strides: Sequence[int],
              padding: str, dilation: Sequence[int]) -> torch.Tensor:
        """A convolution of samples ``(*lead, *sample)`` in the layer's data_format, any leading axes."""
        rank = self.rank
        lead = x.shape[: x.dim() - rank - 1]
        flat = x.reshape(-1, *x.shape[len(lead):])
        if self._channel_axis == -1:
            flat = _to_channels_first(flat, rank)
        flat, pad = pad_input(flat, padding, self.kernel_size, strides, dilation)
        y = _CONV[rank](flat, _torch_kernel(kernel, rank), bias, strides, pad, dilation)
        if self._channel_axis == -1:
            y = _to_channels_last(y, rank)
        return y.reshape(*lead, *y.shape[1:])

    def _gated_conv(self, x: torch.Tensor, masks: list[torch.Tensor] | None, kernel: torch.Tensor,
                    bias: torch.Tensor | None, **conv: Any) -> torch.Tensor:
        """``conv(x, kernel)``, or with dropout one convolution per gate of ``x * mask[g]`` by the
        gate's block of the kernel (and bias), concatenated on the channel axis."""
        if masks is None:
            return self._conv(x, kernel, bias, **conv)
        biases = bias.chunk(4) if bias is not None else [None] * 4
        blocks = [self._conv(x * m, k, b, **conv) for m, k, b in zip(masks, kernel.chunk(4, -1), biases)]
        return torch.cat(blocks, self._channel_axis)

    def _project(self, x: torch.Tensor, dp: list[torch.Tensor] | None) -> torch.Tensor:
        """The input convolution (with the bias) of ``x`` ``(..., batch, *sample)``, every step at once."""
        return self._gated_conv(x, dp, self.kernel, self.bias, strides=self.strides, padding=self.padding,
                                dilation=self.dilation_rate)

    def _step(self, xp: torch.Tensor, states: list[torch.Tensor], rdp: Any) -> tuple[torch.Tensor, list]:
        h, c = states
        ones = (1,) * self.rank
        z = xp + self._gated_conv(h, rdp, self.recurrent_kernel, None, strides=ones, padding="same", dilation=ones)
        return lstm_update(z, c, self.activation, self.recurrent_activation, self._channel_axis)

    @property
    def state_size(self) -> list[int]:
        """The channels of ``h`` and ``c`` (their full shapes come from :meth:`state_shape`)."""
        return [self.filters, self.filters]

    def get_config(self) -> dict[str, Any]:
        # Keras's cell config has no "rank" (so its from_config fails); ours keeps it to round-trip.
        config = super().get_config()
        config.update({"rank": self.rank, "filters": self.filters, **self._conv_config(),
                       "activation": activations.serialize(self.activation),
                       "recurrent_activation": activations.serialize(self.recurrent_activation),
                       "use_bias": self.use_bias, "unit_forget_bias": self.unit_forget_bias,
                       **self._common_config(), "seed": self.seed})
        return config

    def _conv_config(self) -> dict[str, Any]:
        return {"kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate}


# --------------------------------------------------------------------------------------------- the layers
class _ConvLSTM(_CellProperties, RNN):
    """Base of ConvLSTM1D/2D/3D (see :class:`ConvLSTM2D`)."""

    rank = 2

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, unroll: bool = False, **kwargs: Any) -> None:
        name = type(self).__name__
        conv = _conv_args(_where(name, kwargs), self.rank, filters, kernel_size, strides, padding, data_format,
                          dilation_rate)
        cell = ConvLSTMCell(self.rank, **conv, activation=activation, recurrent_activation=recurrent_activation,
                            use_bias=use_bias, kernel_initializer=kernel_initializer,
                            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
                            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                            bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                            seed=seed, name="conv_lstm_cell", **_cell_kwargs(kwargs))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self._hint = _input_hint(name, self.rank, cell.data_format)
        self.input_spec = InputSpec(ndim=self.rank + 3, hint=self._hint)

    filters = property(lambda self: self.cell.filters)
    kernel_size = property(lambda self: self.cell.kernel_size)
    strides = property(lambda self: self.cell.strides)
    padding = property(lambda self: self.cell.padding)
    data_format = property(lambda self: self.cell.data_format)
    dilation_rate = property(lambda self: self.cell.dilation_rate)
    recurrent_activation = property(lambda self: self.cell.recurrent_activation)
    unit_forget_bias = property(lambda self: self.cell.unit_forget_bias)

    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        shape = check_rank(self, sequences_shape, self.rank + 1)  # rank + 3 axes: batch, time, spatial, channels
        step = (shape[0], *shape[2:])
        channels = _check_step_shape(f"{type(self).__name__} '{self.name}'", step, self.data_format)
        if not self.cell.built:
            self.cell.build(step)
            self.cell.built = True
        axis = -1 if self.data_format == "channels_last" else 2
        self.input_spec = InputSpec(ndim=self.rank + 3, axes={axis: channels}, hint=self._hint)

    def _state_shapes(self, x: torch.Tensor) -> list[tuple]:
        shape = self.cell.state_shape((x.shape[0], *x.shape[2:]))
        return [shape, shape]

    def call(self, sequences: torch.Tensor, initial_state: Any = None, mask: Any = None,
             training: bool = False) -> Any:
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def compute_output_shape(self, sequences_shape: Any, initial_state_shape: Any = None) -> Any:
        shape = tuple(sequences_shape)
        state = self.cell.state_shape((shape[0], *shape[2:]))
        out = (shape[0], shape[1], *state[1:]) if self.return_sequences else state
        return [out, state, state] if self.return_state else out

    def get_config(self) -> dict[str, Any]:
        return self._layer_config(
            {"filters": self.filters, **self.cell._conv_config(), "activation": activations.serialize(self.activation),
             "recurrent_activation": activations.serialize(self.recurrent_activation), "use_bias": self.use_bias},
            {"unit_forget_bias": self.unit_forget_bias, "seed": self.cell.seed})

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "_ConvLSTM":
        return cls(**config)


class ConvLSTM1D(_ConvLSTM):
    """1-D convolutional LSTM: ``(batch, time, steps, channels)`` -> ``(batch, new_steps, filters)``
    (``(batch, time, new_steps, filters)`` with ``return_sequences=True``). Arguments as :class:`ConvLSTM2D`
    with one spatial axis; kernels ``(k, channels, 4 * filters)`` and ``(k, filters, 4 * filters)``.
    """

    rank = 1


class ConvLSTM2D(_ConvLSTM):
    """2-D convolutional LSTM (Shi et al. 2015): ``(batch, time, rows, cols, channels)`` ->
    ``(batch, new_rows, new_cols, filters)``, or every step ``(batch, time, new_rows, new_cols,
    filters)`` with ``return_sequences=True``; ``channels_first`` puts channels before the spatial axes.

    Weights (in ``conv_lstm2d/conv_lstm_cell/``): ``kernel`` ``(kh, kw, channels, 4 * filters)``,
    default ``glorot_uniform`` (variance 2 / (fan_in + fan_out), fan_in = kh·kw·channels, fan_out =
    kh·kw·4·filters); ``recurrent_kernel`` ``(kh, kw, filters, 4 * filters)``, default ``orthogonal``
    (gain 1, on the kernel flattened to ``(kh·kw·filters, 4·filters)``); ``bias`` ``(4 * filters,)``,
    default zeros plus ones on the forget block (``unit_forget_bias=True``; the config still says
    ``bias_initializer: Zeros``). With ``return_state=True`` it returns ``[output, h, c]``.

    Args:
        filters: positive int, the channels of the output and of each gate.
        kernel_size, strides, dilation_rate: int or tuple of 2 ints, for the input convolution
            (``strides > 1`` cannot be combined with ``dilation_rate > 1``). The recurrent
            convolution uses the same kernel size with stride 1, no dilation and 'same' padding.
        padding: ``'valid'`` (default) or ``'same'`` (odd total padding: the extra cell at the end).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        activation (default ``tanh``), recurrent_activation (default ``sigmoid``), use_bias,
        initializers, regularizers, constraints, unit_forget_bias: as in :class:`LSTM`.
        dropout, recurrent_dropout, seed: dropout of the input / state feature maps, one mask per
            gate drawn once per call (training only).
        return_sequences, return_state, go_backwards, stateful (only False), unroll (ignored).

    >>> ConvLSTM2D(4, 3, padding="same")(np.zeros((2, 5, 8, 8, 1), "float32")).shape
    torch.Size([2, 8, 8, 4])
    """

    rank = 2


class ConvLSTM3D(_ConvLSTM):
    """3-D convolutional LSTM: ``(batch, time, depth, rows, cols, channels)`` -> ``(batch, new_depth,
    new_rows, new_cols, filters)``. Arguments as :class:`ConvLSTM2D` with three spatial axes; kernels
    ``(kd, kh, kw, channels, 4 * filters)`` and ``(kd, kh, kw, filters, 4 * filters)``.
    """

    rank = 3


for _cls in (ConvLSTM1D, ConvLSTM2D, ConvLSTM3D):
    register_layer(_cls)
