"""``pad_sequences``: a list of variable-length sequences as one rectangular array (Keras's rules)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["pad_sequences"]

_SIDES = ("pre", "post")


def pad_sequences(sequences: Any, maxlen: int | None = None, dtype: Any = "int32", padding: str = "pre",
                  truncating: str = "pre", value: Any = 0.0) -> np.ndarray:
    """Pad (or cut) each sequence to ``maxlen``: an array of shape ``(len(sequences), maxlen, ...)``.

    Args:
        sequences: a list of sequences (lists or arrays); each step may itself be an array, whose
            shape (taken from the first non-empty sequence) every sequence must share.
        maxlen: the output length; ``None`` means the longest sequence.
        dtype: the output dtype; a string dtype (``"str"``, ``"<U8"``) or ``object`` holds strings.
        padding: ``"pre"`` or ``"post"``: where the padding ``value`` goes.
        truncating: ``"pre"`` or ``"post"``: which end of a longer sequence is dropped.
        value: the padding value (a string needs a string or ``object`` dtype).

    >>> pad_sequences([[1, 2, 3], [4]], maxlen=2)
    array([[2, 3],
           [0, 4]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"`sequences` must be iterable (a list of sequences). Received: {type(sequences).__name__}")
    for arg, side in (("padding", padding), ("truncating", truncating)):
        if side not in _SIDES:
            raise ValueError(f'{arg.capitalize()} type "{side}" not understood: `{arg}` must be "pre" or "post".')
    lengths, sample_shape = _lengths_and_step_shape(sequences)
    if maxlen is None:
        if not lengths:
            raise ValueError("pad_sequences: `sequences` is empty, so `maxlen` cannot be inferred. Pass maxlen=N.")
        maxlen = max(lengths)
    elif isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError(f"pad_sequences: `maxlen` must be None or a non-negative integer. Received: maxlen={maxlen!r}")
    is_str_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_str_dtype:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
                         "You should set `dtype=object` for variable length strings.")
    out = np.full((len(sequences), int(maxlen)) + sample_shape, value, dtype=dtype)
    if maxlen == 0:
        return out
    for idx, seq in enumerate(sequences):
        if not len(seq):
            continue
        kept = np.asarray(seq[-maxlen:] if truncating == "pre" else seq[:maxlen], dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(f"Shape of sample {kept.shape[1:]} of sequence at position {idx} is different from "
                             f"expected shape {sample_shape}")
        if padding == "post":
            out[idx, :len(kept)] = kept
        else:
            out[idx, -len(kept):] = kept
    return out


def _lengths_and_step_shape(sequences: Any) -> tuple[list[int], tuple[int, ...]]:
    """Each sequence's length, and the shape of one step (from the first non-empty sequence)."""
    lengths: list[int] = []
    step_shape: tuple[int, ...] | None = None
    for seq in sequences:
        try:
            lengths.append(len(seq))
        except TypeError:
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: {seq!r}") from None
        if step_shape is None and len(seq):
            step_shape = np.asarray(seq).shape[1:]
    return lengths, step_shape or ()
