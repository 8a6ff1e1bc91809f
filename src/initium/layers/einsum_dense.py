"""EinsumDense: a dense layer whose product is any einsum ``"<input>,<kernel>-><output>"``.

The equation names each axis with a letter; the kernel's axes are the letters after the comma.
``"abc,cd->abd"`` is ``Dense`` over the last axis of a sequence, ``"abc,cde->abde"`` projects
features into ``(heads, head_dim)`` (how ``MultiHeadAttention`` builds its projections), and an
ellipsis stands for axes that pass through: ``"...x,xy->...y"`` (leading axes, the batch among
them) or ``"ab...,bc->ac..."`` (trailing axes).

Weights, as Keras creates them: ``kernel`` (shape from the kernel's letters) and, when
``bias_axes`` names output letters, ``bias``, shaped to broadcast over the output from the first
bias letter on (``"de"`` of ``"abde"`` gives ``(d, e)``; ``"d"`` of ``"abde"`` gives ``(d, 1)``).

Initialization: a ``VarianceScaling`` kernel initializer (Glorot, He, LeCun, ...) without its own
``input_axes``/``output_axes`` gets them from the equation, as in Keras: the kernel letters that
are input letters make the fan-in, the others the fan-out. So ``"abc,cde->abde"`` with 8 features
into 2 heads of 3 has fan_in 8 and fan_out 6, exactly as a Dense 8 -> 6 would.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import torch

from initium import activations, constraints, initializers, regularizers
from initium.layers.layer import InputSpec, Layer
from initium.layers.serialization import register_layer

__all__ = ["EinsumDense"]

KERNEL_BIAS_OPTIONS = ("kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
                       "kernel_constraint", "bias_constraint")
_RESOLVERS = {"initializer": initializers, "regularizer": regularizers, "constraint": constraints}

_FORMS = (  # (pattern, where the ellipsis is)
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), None),
    (re.compile(r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)"), "left"),
    (re.compile(r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\."), "right"),
)


class _Equation(NamedTuple):
    inputs: str
    kernel: str
    output: str
    ellipsis: str | None  # None, "left" or "right"


class _Plan(NamedTuple):
    """What an equation and an input shape make: the weights' shapes and the output's."""

    kernel_shape: tuple[int, ...]
    bias_shape: tuple[int, ...] | None
    output_shape: tuple[int | None, ...]
    input_axes: list[int]  # kernel axes that count into fan_in
    output_axes: list[int]  # kernel axes that count into fan_out


def parse_equation(equation: Any, where: str) -> _Equation:
    """Split ``equation`` into its input, kernel and output letters (``ValueError`` if malformed)."""
    if isinstance(equation, str):
        for pattern, ellipsis in _FORMS:
            found = pattern.fullmatch(equation)
            if found:
                return _Equation(*found.groups(), ellipsis)
    raise ValueError(
        f"Invalid einsum equation {equation!r} ({where}). Equations must be in the form [X],[Y]->[Z], "
        "...[X],[Y]->...[Z], or [X]...,[Y]->[Z]... with letters for axes, e.g. 'abc,cd->abd' (Dense on the "
        "last axis) or '...x,xy->...y'."
    )


class EinsumDense(Layer):
    """``activation(einsum(equation, inputs, kernel) + bias)``.

    Args:
        equation: ``"<input>,<kernel>-><output>"`` in letters, optionally with ``...`` before the
            input and output letters (leading axes pass through) or after them (trailing axes).
        output_shape: the output's sizes without the batch axis and the ellipsis axes: an int for
            one axis, else a tuple; ``None`` for a size taken from the input.
        activation: name or callable (default: none).
        bias_axes: output letters that get a bias (e.g. ``"d"``), or None for no bias.
        kernel_initializer, bias_initializer: initializers (default ``glorot_uniform``, zeros).
        kernel_regularizer, bias_regularizer, activity_regularizer: regularizers.
        kernel_constraint, bias_constraint: constraints.
        lora_rank, lora_alpha, gptq_unpacked_column_size, quantization_config: Keras's LoRA and
            quantization, not supported by initium: must be None.

    >>> layer = EinsumDense("abc,cd->abd", output_shape=(None, 64), bias_axes="d")
    >>> layer(Input(shape=(32, 128))).shape
    (None, 32, 64)
    """

    def __init__(self, equation: str, output_shape: Any, activation: Any = None, bias_axes: str | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, lora_rank: Any = None, lora_alpha: Any = None,
                 gptq_unpacked_column_size: Any = None, quantization_config: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        where = f"EinsumDense '{self.name}'"
        if lora_rank is not None or gptq_unpacked_column_size is not None or quantization_config is not None:
            raise ValueError(f"{where}: LoRA and quantization are not supported by initium (lora_rank, "
                             "gptq_unpacked_column_size and quantization_config must be None).")
        self.equation = equation
        self._parsed = parse_equation(equation, where)
        self.partial_output_shape = _partial_shape(output_shape, where)
        self.bias_axes = _check_bias_axes(bias_axes, self._parsed, where)
        self.activation = activations.get(activation)
        set_kernel_bias_options(self, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                                kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                                kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self.kernel = None
        self.bias = None

    def _plan(self, input_shape: Any) -> _Plan:
        return plan_shapes(self._parsed, self.bias_axes, tuple(input_shape), self.partial_output_shape,
                           f"EinsumDense '{self.name}' (equation {self.equation!r})")

    def build(self, input_shape: Any) -> None:
        plan = self._plan(input_shape)
        self.kernel = self.add_weight(name="kernel", shape=plan.kernel_shape,
                                      initializer=self._kernel_initializer_for(plan),
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if plan.bias_shape is not None:
            self.bias = self.add_weight(name="bias", shape=plan.bias_shape, initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.input_spec = InputSpec(ndim=len(input_shape))

    def _kernel_initializer_for(self, plan: _Plan) -> Any:
        """A VarianceScaling initializer without axes gets the equation's (Keras's rule), so its fans
        are those of the projection and not of the kernel's raw layout."""
        init = self.kernel_initializer
        if not isinstance(init, initializers.VarianceScaling) or (
                init.input_axes is not None and init.output_axes is not None):
            return init
        config = {**init.get_config(), "seed": init.seed, "input_axes": plan.input_axes,
                  "output_axes": plan.output_axes}
        return type(init).from_config(config)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        out = torch.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            out = out + self.bias
        return self.activation(out)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return self._plan(input_shape).output_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "output_shape": self.partial_output_shape,
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            **kernel_bias_config(self),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "quantization_config": None,
        })
        return config


def set_kernel_bias_options(layer: Layer, **options: Any) -> None:
    """Set ``kernel_initializer`` ... ``bias_constraint`` (``KERNEL_BIAS_OPTIONS``) on ``layer``,
    each resolved from any identifier by its module's ``get``."""
    for name, value in options.items():
        setattr(layer, name, _RESOLVERS[name.rsplit("_", 1)[1]].get(value))


def kernel_bias_config(layer: Layer) -> dict[str, Any]:
    """The six ``KERNEL_BIAS_OPTIONS`` of ``layer``, serialized for its config."""
    return {name: _RESOLVERS[name.rsplit("_", 1)[1]].serialize(getattr(layer, name)) for name in KERNEL_BIAS_OPTIONS}


def _partial_shape(output_shape: Any, where: str) -> tuple[int | None, ...]:
    if isinstance(output_shape, int) and not isinstance(output_shape, bool):
        output_shape = (output_shape,)
    try:
        dims = tuple(output_shape)
    except TypeError:
        dims = None
    if dims is None or not all(d is None or (type(d) is int and d > 0) for d in dims):
        raise ValueError(f"{where}: `output_shape` must be an int or a tuple of positive ints and None (the "
                         f"output's sizes after the batch axis). Received: output_shape={output_shape!r}")
    return dims


def _check_bias_axes(bias_axes: Any, eq: _Equation, where: str) -> str | None:
    if bias_axes is None:
        return None
    if not isinstance(bias_axes, str) or not bias_axes:
        raise ValueError(f"{where}: `bias_axes` must be a string of output letters or None. Received: "
                         f"bias_axes={bias_axes!r}")
    missing = [c for c in bias_axes if c not in eq.output]
    if missing:
        raise ValueError(f"{where}: bias dimension {missing[0]!r} was requested, but is not part of the output "
                         f"spec {eq.output!r}. `bias_axes` takes letters of the output, e.g. {eq.output[-1]!r}.")
    return bias_axes


def plan_shapes(eq: _Equation, bias_axes: str | None, input_shape: tuple, partial: tuple, where: str) -> _Plan:
    """The kernel, bias and output shapes for ``input_shape`` (``ValueError`` naming ``where`` when
    the input does not fit the equation)."""
    elided = len(input_shape) - len(eq.inputs)
    if elided < 0 or (eq.ellipsis is None and elided):
        need = f"{len(eq.inputs)}" + (" or more" if eq.ellipsis else "")
        raise ValueError(f"{where}: the input must have rank {need} (one axis per input letter "
                         f"{eq.inputs!r}). Received an input of shape {input_shape}.")
    explicit = len(eq.output) - (1 if eq.ellipsis != "left" else 0)  # sizes `output_shape` gives
    if len(partial) != explicit:
        raise ValueError(f"{where}: `output_shape` needs {explicit} entries (the output letters "
                         f"{eq.output!r} without the batch axis and the ellipsis). Received: output_shape={partial}")
    sizes = dict(zip(eq.inputs, input_shape[elided:] if eq.ellipsis == "left" else input_shape))
    given = dict(zip(eq.output[len(eq.output) - explicit:], partial))
    for letter in eq.output:
        seen = sizes.get(letter)
        wanted = given.get(letter)
        if seen is not None and wanted is not None and seen != wanted:
            raise ValueError(f"{where}: input shape and output shape do not match at shared dimension {letter!r}: "
                             f"the input has {seen}, output_shape says {wanted}.")
        if letter not in eq.inputs and letter not in eq.kernel:
            raise ValueError(f"{where}: dimension {letter!r} is in the output {eq.output!r} but in neither the "
                             f"input {eq.inputs!r} nor the kernel {eq.kernel!r}.")
        sizes[letter] = wanted if wanted is not None else seen
    kernel_shape, input_axes, output_axes = [], [], []
    for i, letter in enumerate(eq.kernel):
        if letter not in eq.output and letter not in eq.inputs:
            raise ValueError(f"{where}: kernel dimension {letter!r} matches neither the input {eq.inputs!r} nor "
                             f"the output {eq.output!r}; every kernel letter must appear in one of them.")
        (output_axes if letter in eq.output else input_axes).append(i)
        kernel_shape.append(_known(sizes.get(letter), letter, "kernel", where))
    bias_shape = None
    if bias_axes is not None:
        first = min(eq.output.index(c) for c in bias_axes)
        bias_shape = tuple(_known(sizes.get(c), c, "bias", where) if c in bias_axes else 1 for c in eq.output[first:])
        if eq.ellipsis == "right":
            bias_shape += (1,) * elided
    output = tuple(sizes[c] for c in eq.output)
    if eq.ellipsis == "left":
        output = (*input_shape[:elided], *output)
    elif eq.ellipsis == "right":
        output = (*output, *input_shape[len(input_shape) - elided:])
    return _Plan(tuple(kernel_shape), bias_shape, output, input_axes, output_axes)


def _known(size: Any, letter: str, what: str, where: str) -> int:
    if size is None:
        raise ValueError(f"{where}: the size of dimension {letter!r} of the {what} is unknown: it is None in "
                         "both the input shape and `output_shape`. Give it in `output_shape`.")
    return size


register_layer(EinsumDense)
