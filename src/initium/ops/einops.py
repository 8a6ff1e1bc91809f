"""``keras.ops.rearrange``: einops-style axis rearrangement.

A pattern names the input axes left of ``->`` and the output axes right of it; parentheses group
axes into one (``"b (h w) c -> b h w c"`` splits, ``"b h w c -> b (h w) c"`` merges). A grouped
input axis needs the lengths of all but one of its parts as keyword arguments (``h=4``); the
remaining part is inferred. Rearranging is a reshape (split), a transpose, and a reshape (merge).
Keras's pattern language is einops' without ellipsis, anonymous (``1``/``()``) axes or repeats.
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch

from initium.ops.core import convert_to_tensor
from initium.ops.operation import keras_op

__all__ = ["rearrange"]

_TOKEN = re.compile(r"\(|\)|\w+|\S+")


def _parse_side(text: str, pattern: str) -> list[list[str]]:
    """``"b (h w) c"`` -> ``[["b"], ["h", "w"], ["c"]]``."""
    groups: list[list[str]] = []
    current: list[str] | None = None
    for token in _TOKEN.findall(text):
        if token == "(":
            if current is not None:
                raise ValueError(f"ops.rearrange: nested parentheses are not supported. Received pattern={pattern!r}")
            current = []
        elif token == ")":
            if not current:
                raise ValueError(f"ops.rearrange: unbalanced or empty parentheses. Received pattern={pattern!r}")
            groups.append(current)
            current = None
        elif re.fullmatch(r"\w+", token):
            if current is not None:
                current.append(token)
            else:
                groups.append([token])
        else:
            raise ValueError(f"ops.rearrange: unsupported token {token!r} (axis names are letters, digits and '_'; "
                             f"ellipsis is not supported). Received pattern={pattern!r}")
    if current is not None:
        raise ValueError(f"ops.rearrange: unbalanced parentheses. Received pattern={pattern!r}")
    return groups


def _parse(pattern: str) -> tuple[list[list[str]], list[list[str]]]:
    sides = pattern.split("->")
    if len(sides) != 2:
        raise ValueError(f"ops.rearrange: the pattern must have the form 'input axes -> output axes'. "
                         f"Received pattern={pattern!r}")
    inputs, outputs = (_parse_side(side, pattern) for side in sides)
    names_in = [n for g in inputs for n in g]
    names_out = [n for g in outputs for n in g]
    for names, side in ((names_in, "input"), (names_out, "output")):
        if len(set(names)) != len(names):
            raise ValueError(f"ops.rearrange: an axis name is repeated on the {side} side. "
                             f"Received pattern={pattern!r}")
    if set(names_in) != set(names_out):
        raise ValueError(f"ops.rearrange: the input and output sides must name the same axes; only on one side: "
                         f"{sorted(set(names_in) ^ set(names_out))}. Received pattern={pattern!r}")
    return inputs, outputs


def _axis_sizes(groups: list[list[str]], shape: tuple, lengths: dict, pattern: str) -> dict[str, int]:
    """The size of every named input axis, inferring at most one unknown part per group."""
    if len(groups) != len(shape):
        raise ValueError(f"ops.rearrange: the pattern names {len(groups)} input axes but the tensor has rank "
                         f"{len(shape)} (shape {shape}). Received pattern={pattern!r}")
    sizes: dict[str, int] = {}
    for group, dim in zip(groups, shape):
        if len(group) == 1:
            sizes[group[0]] = dim
            continue
        unknown = [n for n in group if n not in lengths]
        known = math.prod(int(lengths[n]) for n in group if n in lengths)
        if len(unknown) > 1:
            raise ValueError(f"ops.rearrange: cannot infer the sizes of {unknown} in the group ({' '.join(group)}); "
                             f"pass all but one of them as keyword arguments (e.g. {unknown[0]}=...).")
        if unknown and known and dim % known == 0:
            lengths = {**lengths, unknown[0]: dim // known}
        if any(n not in lengths for n in group) or math.prod(int(lengths[n]) for n in group) != dim:
            raise ValueError(f"ops.rearrange: the group ({' '.join(group)}) cannot split an axis of size {dim} with "
                             f"the lengths {({n: lengths.get(n) for n in group})}.")
        sizes.update({n: int(lengths[n]) for n in group})
    return sizes


@keras_op("Rearrange", "einops")
def rearrange(tensor: Any, pattern: str, **axes_lengths: Any) -> torch.Tensor:
    """``tensor`` with its axes split, transposed and merged as ``pattern`` says (see the module docstring)."""
    tensor = convert_to_tensor(tensor)
    inputs, outputs = _parse(pattern)
    sizes = _axis_sizes(inputs, tuple(tensor.shape), axes_lengths, pattern)
    order = [n for g in inputs for n in g]
    split = tensor.reshape([sizes[n] for n in order]) if len(order) != tensor.dim() else tensor
    moved = split.permute([order.index(n) for g in outputs for n in g])
    return moved.reshape([math.prod(sizes[n] for n in g) for g in outputs])
