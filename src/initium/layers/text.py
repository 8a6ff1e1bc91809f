"""String and categorical lookup layers: ``StringLookup``, ``IntegerLookup``, ``TextVectorization``
and ``Hashing``, with Keras 3.15.1's arguments, configs, vocabulary order and hash bins, and no
TensorFlow (Keras needs it for these four; initium computes them with Python, NumPy and torch).

Strings on a torch body
    torch has no string tensors, so text travels as NumPy arrays of Python ``str`` (dtype
    ``object``): the layers take ``str``, ``bytes`` (decoded with ``encoding``), lists and arrays
    of either, of any shape; an ``Input(dtype="string")`` hands a model's raw text to them, and
    ``fit``/``predict`` keep text arrays on the host. What the layers return is a torch tensor:
    ``int64`` indices in ``"int"`` mode, ``float32`` (``floatx``) encodings otherwise, as Keras's
    output specs declare. (Keras's TensorFlow path returns int64 one-hot/multi-hot/count arrays
    from the lookup layers; the values are the same.) An inverse ``StringLookup`` returns a NumPy
    array of ``str``.

Vocabularies
    Given (``vocabulary=`` a list, an array or a path to a text file of one term per line), or
    learned with ``adapt(data)`` from an array, a list, or an iterable of batches. Learned terms
    are ordered as Keras orders them: by count, most frequent first, ties broken by the term
    itself, highest first (byte order for strings, numeric order for integers). The vocabulary
    starts with the mask token (``"int"`` mode, when set) and the OOV slots.

Hashing
    Out-of-vocabulary terms over several OOV slots, and ``Hashing``'s bins, use the functions of
    ``initium.layers.string_hash``: FarmHash Fingerprint64 (``tf.strings.to_hash_bucket_fast``) or,
    with a ``salt``, SipHash-2-4 (``to_hash_bucket_strong``); integers are hashed as their decimal
    text, as Keras does. So bins are Keras's bins.

Saving
    As Keras: a vocabulary given as a list stays in the config; a learned one (or one read from a
    file) is written as the asset ``vocabulary.txt`` under the layer's path in the ``.keras``
    archive (``asset_files``/``load_asset_files``, called by ``initium.saving.keras_format``);
    ``tf_idf`` weights are the weights-file dataset ``idf_weights``. A vocabulary path in a loaded
    config is refused (a file outside the archive, Keras's CVE-2025-12058).
"""

from __future__ import annotations

import collections
import numbers
import os
import re
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import torch

from initium import backend
from initium.layers.layer import Layer
from initium.layers.preprocessing import _encode_categorical, _label, _refuse_sparse
from initium.layers.serialization import register_layer
from initium.layers.string_hash import fingerprint64, siphash64
from initium.layers.symbolic import KerasTensor

__all__ = ["StringLookup", "IntegerLookup", "TextVectorization", "Hashing"]

VOCABULARY_ASSET = "vocabulary.txt"
MAX_VOCABULARY_FILE_BYTES = 256 << 20  # a vocabulary file (given path or archive asset): 256 MiB

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
_ALIASES = {"binary": "multi_hot", "tf-idf": "tf_idf"}
_PUNCTUATION = str.maketrans("", "", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_WHITESPACE = re.compile("[ \t\n\v\f\r]+")  # TensorFlow splits on ASCII whitespace only


def _check_choice(layer: Layer, arg: str, value: Any, allowed: Sequence[str], extra: str = "") -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"Unknown value for `{arg}` argument of layer {_label(layer)}. Allowed values are: "
                         f"{tuple(allowed)}{extra}. Received: {arg}={value!r}")


# ============================================================================ data conversion
def _decode(value: Any, encoding: str) -> Any:
    return value.decode(encoding) if isinstance(value, (bytes, np.bytes_)) else value


def as_text(value: Any, encoding: str = "utf-8") -> np.ndarray:
    """``value`` (a str, bytes, nested lists or an array of them) as an object array of ``str``."""
    if isinstance(value, torch.Tensor):
        raise TypeError(f"Expected strings, received a torch tensor of dtype {value.dtype} (torch has no string "
                        "tensors). Pass a NumPy array or a list of str.")
    arr = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
    if arr.dtype.kind in "SUO":
        out = np.empty(arr.shape, dtype=object)
        flat = out.reshape(-1)
        for i, item in enumerate(arr.reshape(-1).tolist()):
            item = _decode(item, encoding)
            if not isinstance(item, str):
                raise TypeError(f"Expected strings, received an item of type {type(item).__name__}: {item!r}.")
            flat[i] = item
        return out
    raise TypeError(f"Expected strings, received an array of dtype {arr.dtype}.")


def _as_integers(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise TypeError(f"Expected integers, received non-integer floats: {arr.reshape(-1)[:5].tolist()}")
    elif arr.dtype.kind not in "iub":
        raise TypeError(f"Expected integers, received an array of dtype {arr.dtype}.")
    return arr.astype(np.int64)


def _is_text(value: Any) -> bool:
    """Whether ``value`` holds strings (a str, bytes, or lists/arrays of them), judged by its first item."""
    if isinstance(value, torch.Tensor):
        return False
    arr = value if isinstance(value, np.ndarray) else np.asarray(value, dtype=object)
    if arr.dtype.kind in "SU":
        return True
    return arr.dtype.kind == "O" and arr.size > 0 and isinstance(arr.reshape(-1)[0], (str, bytes, np.str_, np.bytes_))


def _adapt_batches(layer: Layer, data: Any, steps: int | None) -> Iterator[Any]:
    """The batches ``adapt`` reads: an array or list is one batch (a 1-D one a column of samples);
    any other iterable yields batches (an ``(x, y)`` pair contributes ``x``); ``steps`` caps them."""
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1):
        raise ValueError(f"{_label(layer)}: `steps` of adapt() must be a positive integer or None. Received: "
                         f"steps={steps!r}")
    if isinstance(data, (str, bytes)):
        raise TypeError(f"{_label(layer)}: adapt() received a single {type(data).__name__}; pass a list or array of "
                        "samples, e.g. adapt([text]).")
    if isinstance(data, (list, tuple, np.ndarray, torch.Tensor)):
        arr = layer._convert_inputs(data)
        if arr.ndim == 1:
            arr = arr[:, None]
        yield arr
        return
    if not hasattr(data, "__iter__"):
        raise TypeError(f"{_label(layer)}: adapt() cannot read data of type {type(data).__name__}. Pass an array, "
                        "a list, or an iterable of batches.")
    for i, batch in enumerate(data):
        if steps is not None and i >= steps:
            return
        if isinstance(batch, tuple) and len(batch) in (2, 3):
            batch = batch[0]
        yield batch


# ============================================================================ the lookup core
def _vocab_list(layer: "_IndexLookup", vocabulary: Any) -> list:
    """A given vocabulary (list, tuple, array, tensor) as a list of terms of the layer's kind."""
    if isinstance(vocabulary, torch.Tensor):
        vocabulary = vocabulary.detach().cpu().numpy()
    arr = np.asarray(vocabulary, dtype=object) if not isinstance(vocabulary, np.ndarray) else vocabulary
    if arr.ndim != 1:
        raise ValueError(f"{_label(layer)}: `vocabulary` must be 1-D (a list of terms). Received shape {arr.shape}.")
    try:
        return layer._terms(arr).tolist()
    except TypeError as e:
        raise TypeError(f"{_label(layer)}: `vocabulary` terms: {e}") from None


def read_vocabulary_file(path: str, where: str | None = None, data: bytes | None = None) -> list[str]:
    """The lines of a vocabulary file (trailing empty lines dropped), bounded and strictly UTF-8.

    ``data`` is the file's bytes when already read (an archive member); ``where`` names it in errors.
    """
    where = where or path
    if data is None:
        if not os.path.isfile(path):
            raise ValueError(f"Vocabulary file {path} does not exist.")
        if os.path.getsize(path) > MAX_VOCABULARY_FILE_BYTES:
            raise ValueError(f"Vocabulary file {where} is larger than {MAX_VOCABULARY_FILE_BYTES} bytes.")
        with open(path, "rb") as f:
            data = f.read(MAX_VOCABULARY_FILE_BYTES + 1)
    if len(data) > MAX_VOCABULARY_FILE_BYTES:
        raise ValueError(f"Vocabulary file {where} is larger than {MAX_VOCABULARY_FILE_BYTES} bytes.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"Vocabulary file {where} is not valid UTF-8 (byte {e.start}: {e.reason}).") from None
    lines = text.splitlines()
    while lines and lines[-1] == "":
        lines.pop()
    return lines


class _IndexLookup(Layer):
    """What StringLookup and IntegerLookup share (Keras's ``IndexLookup``): the vocabulary, its
    special tokens, adapt's counting, the lookup and the encodings."""

    _vocabulary_dtype = "string"

    def __init__(self, max_tokens: int | None, num_oov_indices: int, mask_token: Any, oov_token: Any,
                 vocabulary: Any = None, idf_weights: Any = None, invert: bool = False, output_mode: str = "int",
                 sparse: bool = False, pad_to_max_tokens: bool = False, oov_method: str = "floormod",
                 name: str | None = None, salt: Any = None, **kwargs: Any) -> None:
        frozen_size = kwargs.pop("vocabulary_size", None)
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword argument(s) passed to {type(self).__name__}: {kwargs}")
        super().__init__(name=name)
        output_mode = _ALIASES.get(output_mode, output_mode) if isinstance(output_mode, str) else output_mode
        self._validate(max_tokens, num_oov_indices, pad_to_max_tokens, output_mode, invert, sparse, idf_weights,
                       oov_method)
        self.max_tokens, self.num_oov_indices = max_tokens, int(num_oov_indices)
        self.mask_token, self.oov_token = mask_token, oov_token
        self.invert, self.output_mode, self.sparse = invert, output_mode, sparse
        self.pad_to_max_tokens, self.oov_method = pad_to_max_tokens, oov_method
        self.salt = self._check_salt(salt)
        self.input_vocabulary = vocabulary if not isinstance(vocabulary, str) else None
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = has_input_vocabulary
        self._frozen_vocab_size = frozen_size
        self._tokens: list | None = None  # the learned or given terms, special tokens excluded
        self._index: dict = {}
        self.idf_weights: torch.Tensor | None = None
        self.reset_state()
        if output_mode == "tf_idf":
            if has_input_vocabulary and idf_weights is None:
                raise ValueError(f"{_label(self)}: when specifying the `vocabulary` argument, in TF-IDF output "
                                 "mode, the `idf_weights` argument must also be provided.")
            if frozen_size is not None and vocabulary is None:  # a loaded layer: the weights file fills it
                self.idf_weights = torch.zeros(max_tokens if pad_to_max_tokens else frozen_size,
                                               dtype=backend.torch_dtype(backend.floatx()))
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    # ------------------------------------------------------------------ arguments
    def _validate(self, max_tokens: Any, num_oov: Any, pad: bool, output_mode: Any, invert: bool, sparse: bool,
                  idf_weights: Any, oov_method: Any) -> None:
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, numbers.Integral)
                                       or max_tokens <= 1):
            raise ValueError(f"{_label(self)}: if set, `max_tokens` must be greater than 1. "
                             f"Received: max_tokens={max_tokens!r}")
        if pad and max_tokens is None:
            raise ValueError(f"{_label(self)}: if pad_to_max_tokens is True, must set `max_tokens`. "
                             f"Received: max_tokens={max_tokens}")
        if isinstance(num_oov, bool) or not isinstance(num_oov, numbers.Integral) or num_oov < 0:
            raise ValueError(f"{_label(self)}: `num_oov_indices` must be greater than or equal to 0. "
                             f"Received: num_oov_indices={num_oov!r}")
        _check_choice(self, "oov_method", oov_method, ("floormod", "farmhash"))
        _check_choice(self, "output_mode", output_mode, _MODES)
        if invert and output_mode != "int":
            raise ValueError(f"{_label(self)}: `output_mode` must be `'int'` when `invert` is true. "
                             f"Received: output_mode={output_mode}")
        if sparse and output_mode == "int":
            raise ValueError(f"{_label(self)}: `sparse` may only be true if `output_mode` is `'one_hot'`, "
                             f"`'multi_hot'`, `'count'` or `'tf_idf'`. Received: sparse={sparse} and "
                             f"output_mode={output_mode}")
        _refuse_sparse(self, sparse)
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{_label(self)}: `idf_weights` should only be set if `output_mode` is `'tf_idf'`. "
                             f"Received: idf_weights={idf_weights} and output_mode={output_mode}")

    def _check_salt(self, salt: Any) -> list[int] | None:
        if salt is None:
            return None
        if self._vocabulary_dtype != "string" and self.oov_method != "farmhash":
            raise ValueError(f"{_label(self)}: `salt` can only be used when `oov_method='farmhash'`. "
                             f"Received: oov_method={self.oov_method}")
        return _salt_pair(self, salt)

    # ------------------------------------------------------------------ indices
    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def _special_tokens(self) -> list:
        return [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices

    # ------------------------------------------------------------------ vocabulary
    def vocabulary_size(self) -> int:
        """The size of the vocabulary, mask and OOV slots included."""
        return len(self._tokens or ()) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary: a term's position is its index (special tokens first, unless excluded)."""
        tokens = list(self._tokens or ())
        return self._special_tokens() + tokens if include_special_tokens else tokens

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Replace the vocabulary (a list, array, tensor, or a path to a file of one term per line)
        and, in ``tf_idf`` mode, the idf weights (one per term)."""
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{_label(self)}: `idf_weights` must be set if output_mode is 'tf_idf'.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"{_label(self)}: `idf_weights` should only be set if output_mode is `'tf_idf'`. "
                             f"Received: output_mode={self.output_mode} and idf_weights={idf_weights}")
        if isinstance(vocabulary, (str, os.PathLike)):
            if self.output_mode == "tf_idf":
                raise ValueError(f"{_label(self)}: output_mode `'tf_idf'` does not support loading a vocabulary "
                                 "from file.")
            vocabulary = self._terms(np.array(read_vocabulary_file(os.fspath(vocabulary)), dtype=object)).tolist()
        else:
            vocabulary = _vocab_list(self, vocabulary)
        if not vocabulary:
            raise ValueError(f"{_label(self)}: cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        specials = self._special_tokens()
        found_specials = vocabulary[:len(specials)] == specials
        tokens = vocabulary[len(specials):] if found_specials else vocabulary
        self._check_tokens(tokens, specials)
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            self._set_idf(idf_weights, len(vocabulary), found_specials)

    def _check_tokens(self, tokens: list, specials: list) -> None:
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError(f"{_label(self)}: the passed vocabulary has at least one repeated term. Please uniquify "
                             f"your dataset. The repeated terms are: {repeated}")
        for what, token, used in (("mask", self.mask_token, True), ("OOV", self.oov_token, self.invert)):
            if used and token is not None and token in tokens:
                raise ValueError(f"{_label(self)}: found reserved {what} token {token!r} at unexpected location in "
                                 "`vocabulary`. Note that passed `vocabulary` does not need to include the OOV and "
                                 "mask tokens. Either remove all mask and OOV tokens, or include them only at the "
                                 f"start of the vocabulary in precisely this order: {specials}.")
        size = self._token_start_index() + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(f"{_label(self)}: attempted to set a vocabulary larger than the maximum vocab size. "
                             f"Received vocabulary size is {size}; `max_tokens` is {self.max_tokens}.")

    def _set_tokens(self, tokens: list) -> None:
        start = self._token_start_index()
        self._tokens = list(tokens)
        self._index = {t: start + i for i, t in enumerate(self._tokens)}
        size = self.vocabulary_size()
        if (self.output_mode != "int" and not self.pad_to_max_tokens and self._frozen_vocab_size is not None
                and size != self._frozen_vocab_size and self.built):
            raise RuntimeError(f"{_label(self)}: when using `output_mode={self.output_mode}` and "
                               "`pad_to_max_tokens=False`, the vocabulary size cannot be changed after the layer is "
                               f"called. Old vocab size is {self._frozen_vocab_size}, new vocab size is {size}")
        self._frozen_vocab_size = size

    def _set_idf(self, idf_weights: Any, vocab_length: int, found_specials: bool) -> None:
        if isinstance(idf_weights, torch.Tensor):
            idf_weights = idf_weights.detach().cpu().numpy()
        weights = np.asarray(idf_weights, dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"{_label(self)}: TF-IDF data must be a 1-index array. Received shape {weights.shape}.")
        if len(weights) != vocab_length:
            raise ValueError(f"{_label(self)}: `idf_weights` must be the same length as vocabulary. "
                             f"len(idf_weights) is {len(weights)}; len(vocabulary) is {vocab_length}")
        front = 0 if found_specials else self._token_start_index()
        back = self.max_tokens - front - len(weights) if self.pad_to_max_tokens else 0
        weights = np.pad(weights, (front, back), constant_values=(np.average(weights) if front else 0, 0))
        self.idf_weights = torch.tensor(weights, dtype=backend.torch_dtype(backend.floatx()))

    # ------------------------------------------------------------------ adapt
    def reset_state(self) -> None:
        self._counts: collections.Counter = collections.Counter()
        self._document_counts: collections.Counter = collections.Counter()
        self._num_documents = 0

    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learn the vocabulary (and, in ``tf_idf`` mode, the idf weights) from ``data``: an array or
        list of terms (each row a document), or an iterable of such batches; ``steps`` caps the batches."""
        self.reset_state()
        for batch in _adapt_batches(self, data, steps):
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data: Any) -> None:
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static vocabulary via `vocabulary` "
                             "argument or `set_vocabulary()` method.")
        arr = self._convert_inputs(data)
        documents = [arr.reshape(-1).tolist()] if arr.ndim <= 1 else [row.reshape(-1).tolist() for row in arr]
        self.count_documents(documents)

    def count_documents(self, documents: Iterable[Sequence]) -> None:
        """Add the terms of ``documents`` (sequences of terms) to adapt's counts."""
        for doc in documents:
            self._counts.update(doc)
            if self.output_mode == "tf_idf":
                self._document_counts.update(set(doc))
                self._num_documents += 1

    def finalize_state(self) -> None:
        if self._has_input_vocabulary or not self._counts:
            return
        for special in (self.mask_token, self.oov_token):
            self._counts.pop(special, None)
        # most frequent first; ties: the term itself, highest first (Keras's reversed lexsort)
        ranked = sorted(self._counts.items(), key=lambda item: (item[1], self._sort_key(item[0])), reverse=True)
        if self.max_tokens:
            ranked = ranked[:max(self.max_tokens - self._token_start_index(), 0)]
        self._set_tokens([t for t, _ in ranked])
        if self.output_mode == "tf_idf":
            counts = np.array([self._document_counts[t] for t, _ in ranked], dtype=np.float64)
            idf = np.log(1 + self._num_documents / (1 + counts)).astype(np.float32)
            mean = float(np.mean(idf)) if idf.size else 0.0
            back = self.max_tokens - self.vocabulary_size() if self.pad_to_max_tokens else 0
            idf = np.pad(idf, (self._token_start_index(), back), constant_values=(mean, 0))
            self.idf_weights = torch.tensor(idf, dtype=backend.torch_dtype(backend.floatx()))
        self.reset_state()

    @staticmethod
    def _sort_key(token: Any) -> Any:
        return token.encode("utf-8") if isinstance(token, str) else token

    # ------------------------------------------------------------------ calling
    def _convert_inputs(self, x: Any) -> np.ndarray:
        raise NotImplementedError

    def _terms(self, arr: np.ndarray) -> np.ndarray:
        """Terms of this layer's kind (str or int) from an array of given vocabulary entries."""
        return self._convert_inputs(arr)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and not isinstance(args[0], KerasTensor):
            args = (self._convert_inputs(args[0]) if not self.invert else _as_integers(args[0]), *args[1:])
        return super().__call__(*args, **kwargs)

    def _require_vocabulary(self) -> None:
        if self._tokens is None and not (self.output_mode != "int" and self.pad_to_max_tokens):
            raise RuntimeError(f"{_label(self)} has no vocabulary yet (output_mode={self.output_mode!r}): you must set "
                               "the layer's vocabulary before calling it. Either pass a `vocabulary` argument to the "
                               "layer, or call `adapt()` with some sample data.")

    def call(self, inputs: Any) -> Any:
        self._require_vocabulary()
        if self.invert:
            return self._invert(inputs)
        indices = self.lookup(inputs)
        if self.output_mode == "int":
            return torch.from_numpy(indices)
        return self.encode(indices)

    def lookup(self, terms: np.ndarray) -> np.ndarray:
        """The int64 indices of ``terms`` (masks 0 in ``"int"`` mode, -1 otherwise, to be dropped)."""
        flat = terms.reshape(-1).tolist()
        missing = -1
        out = np.fromiter((self._index.get(t, missing) for t in flat), dtype=np.int64, count=len(flat))
        oov = out == missing
        if self.mask_token is not None:
            masked = np.fromiter((t == self.mask_token for t in flat), dtype=bool, count=len(flat))
            oov &= ~masked
            out[masked] = 0 if self.output_mode == "int" else -1
        if oov.any():
            out[oov] = self._oov_indices([flat[i] for i in np.flatnonzero(oov)])
        return out.reshape(terms.shape)

    def _oov_indices(self, terms: list) -> np.ndarray:
        start = self._oov_start_index()
        if self.num_oov_indices == 0:
            raise ValueError(f"{_label(self)}: when `num_oov_indices=0` all inputs should be in vocabulary, found OOV "
                             f"values {terms[:10]}, consider setting `num_oov_indices=1`.")
        if self.num_oov_indices == 1:
            return np.full(len(terms), start, dtype=np.int64)
        if isinstance(terms[0], str) or self.oov_method == "farmhash":
            buckets = [_bucket(t, self.num_oov_indices, self.salt, "utf-8") for t in terms]
            return np.asarray(buckets, dtype=np.int64) + start
        return np.asarray(terms, dtype=np.int64) % self.num_oov_indices + start

    def encode(self, indices: np.ndarray) -> torch.Tensor:
        """``indices`` (masked terms -1) encoded per ``output_mode`` in floatx."""
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        dtype = backend.torch_dtype(backend.floatx())
        idx = torch.from_numpy(np.where(indices < 0, depth, indices))
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        out = _encode_categorical(idx, mode, depth + 1, dtype)[..., :depth]  # the extra bin takes masked terms
        if self.output_mode == "tf_idf":
            out = out * self.idf_weights.to(dtype)
        return out

    def _invert(self, indices: np.ndarray) -> Any:
        vocab = self.get_vocabulary()
        masked = self.mask_token is not None
        flat = [vocab[i] if self._token_start_index() <= i < len(vocab) else
                (self.mask_token if masked and i == 0 else self.oov_token) for i in indices.reshape(-1).tolist()]
        return self._inverted(flat, indices.shape)

    def _inverted(self, flat: list, shape: tuple) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------ shapes, config, saving
    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        if self.output_mode == "one_hot":
            return (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (depth,)
        return shape[:-1] + (depth,)

    def compute_output_spec(self, inputs: Any, *args: Any, **kwargs: Any) -> KerasTensor:
        if self.invert:
            dtype = self._vocabulary_dtype
        else:
            dtype = "int64" if self.output_mode == "int" else backend.floatx()
        return KerasTensor(self.compute_output_shape(inputs.shape), dtype=dtype)

    def build(self, input_shape: Any = None) -> None:
        self.built = True

    def get_build_config(self) -> dict[str, Any]:
        return {}

    def build_from_config(self, config: Any) -> None:
        self.built = True

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                "mask_token": self.mask_token, "output_mode": self.output_mode, "sparse": self.sparse,
                "pad_to_max_tokens": self.pad_to_max_tokens, "vocabulary_dtype": self._vocabulary_dtype,
                "idf_weights": _listify(self.input_idf_weights), "vocabulary": _listify(self.input_vocabulary),
                "vocabulary_size": self._frozen_vocab_size, "oov_method": self.oov_method, "salt": self.salt}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "_IndexLookup":
        config = dict(config)
        if isinstance(config.get("vocabulary"), str):
            raise ValueError(f"{cls.__name__} config names the vocabulary file {config['vocabulary']!r}: loading a "
                             "vocabulary file outside of the model archive is refused (it could read any file of "
                             "this machine). Keras saves vocabularies in the config or as an archive asset.")
        return cls(**config)

    def stored_tensors(self) -> dict[str, torch.Tensor]:
        """The weights-file datasets (Keras's ``save_own_variables``): ``idf_weights`` in ``tf_idf`` mode."""
        return {"idf_weights": self.idf_weights} if self.output_mode == "tf_idf" and self.idf_weights is not None \
            else {}

    def asset_files(self) -> dict[str, str]:
        """Keras's ``save_assets``: the vocabulary as ``vocabulary.txt``, unless the config holds it."""
        if self.input_vocabulary is not None:
            return {}
        return {VOCABULARY_ASSET: "\n".join(str(w) for w in self.get_vocabulary())}

    def load_asset_files(self, read: Callable[[str], list[str] | None]) -> None:
        """Keras's ``load_assets``: ``read(name)`` gives the asset's lines (None when it is absent)."""
        if self.input_vocabulary is not None:
            return
        lines = read(VOCABULARY_ASSET)
        if lines is None:
            raise ValueError(f"{_label(self)}: the archive has no `{VOCABULARY_ASSET}` asset for this layer, whose "
                             "vocabulary is not in its config.")
        values = self._terms(np.array(lines, dtype=object)).tolist()
        frozen = self._frozen_vocab_size
        self._frozen_vocab_size = None
        self.set_vocabulary(values, idf_weights=self.idf_weights if self.output_mode == "tf_idf" else None)
        if frozen is not None and self._frozen_vocab_size != frozen:
            raise ValueError(f"{_label(self)}: the `{VOCABULARY_ASSET}` asset holds {self._frozen_vocab_size} terms, "
                             f"the config says vocabulary_size={frozen}.")


def _listify(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return value.tolist() if isinstance(value, np.ndarray) else (list(value) if isinstance(value, tuple) else value)


def _salt_pair(layer: Layer, salt: Any) -> list[int]:
    if isinstance(salt, (tuple, list)) and len(salt) == 2 and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in salt):
        return [int(s) for s in salt]
    if isinstance(salt, numbers.Integral) and not isinstance(salt, bool):
        return [int(salt), int(salt)]
    raise ValueError(f"The `salt` argument for {_label(layer)} can only be a tuple of size 2 integers, or a single "
                     f"integer. Received: salt={salt!r}.")


def _bucket(term: Any, buckets: int, salt: list[int] | None, encoding: str) -> int:
    """The hash bucket of one term (its text's bytes; an integer as its decimal text)."""
    data = term.encode(encoding) if isinstance(term, str) else str(int(term)).encode()
    value = siphash64(salt[0], salt[1], data) if salt is not None else fingerprint64(data)
    return value % buckets


# ============================================================================ StringLookup
class StringLookup(_IndexLookup):
    """Maps strings to indices of a vocabulary (``"int"``) or to vectors over it (``"one_hot"``,
    ``"multi_hot"``, ``"count"``, ``"tf_idf"``); ``invert=True`` maps indices back to strings.
    See the module docstring for inputs, vocabulary order, hashing and saving.

    >>> StringLookup(vocabulary=["a", "b", "c", "d"])([["a", "c", "d"], ["d", "z", "b"]])
    tensor([[1, 3, 4], [4, 0, 2]])
    """

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1, mask_token: str | None = None,
                 oov_token: str = "[UNK]", vocabulary: Any = None, idf_weights: Any = None, invert: bool = False,
                 output_mode: str = "int", pad_to_max_tokens: bool = False, sparse: bool = False,
                 encoding: str = "utf-8", name: str | None = None, salt: Any = None, **kwargs: Any) -> None:
        kwargs.pop("vocabulary_dtype", None)
        self.encoding = encoding
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, sparse=sparse, pad_to_max_tokens=pad_to_max_tokens, name=name,
                         salt=salt, **kwargs)

    def _convert_inputs(self, x: Any) -> np.ndarray:
        try:
            return as_text(x, self.encoding)
        except TypeError as e:
            raise TypeError(f"{_label(self)}: {e}") from None

    def _inverted(self, flat: list, shape: tuple) -> np.ndarray:
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out.reshape(shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["vocabulary_dtype"]
        return {**config, "encoding": self.encoding}


# ============================================================================ IntegerLookup
class IntegerLookup(_IndexLookup):
    """Maps integers to indices of a vocabulary (or to vectors over it), as ``StringLookup`` does
    for strings; the OOV token is -1 by default. ``invert=True`` maps indices back to integers.

    >>> IntegerLookup(vocabulary=[12, 36, 1138, 42])(np.array([[12, 1138, 42], [42, 1000, 36]]))
    tensor([[1, 3, 4], [4, 0, 2]])
    """

    _vocabulary_dtype = "int64"

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1, mask_token: int | None = None,
                 oov_token: int = -1, vocabulary: Any = None, vocabulary_dtype: str = "int64", idf_weights: Any = None,
                 invert: bool = False, output_mode: str = "int", sparse: bool = False, pad_to_max_tokens: bool = False,
                 oov_method: str = "floormod", salt: Any = None, name: str | None = None, **kwargs: Any) -> None:
        if vocabulary_dtype != "int64":
            raise ValueError("Only `vocabulary_dtype='int64'` is supported at this time. Received: "
                             f"vocabulary_dtype={vocabulary_dtype}")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=None if mask_token is None else int(mask_token),
                         oov_token=None if oov_token is None else int(oov_token), vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, oov_method=oov_method, salt=salt, name=name, **kwargs)

    def _convert_inputs(self, x: Any) -> np.ndarray:
        try:
            return _as_integers(x)
        except TypeError as e:
            raise TypeError(f"{_label(self)}: {e}") from None

    def _terms(self, arr: np.ndarray) -> np.ndarray:
        if arr.dtype.kind in "OU" and arr.size and isinstance(arr.reshape(-1)[0], str):
            try:
                return np.array([int(v) for v in arr.tolist()], dtype=np.int64)
            except ValueError as e:
                raise ValueError(f"{_label(self)}: vocabulary terms must be integers; {e}") from None
        return _as_integers(np.array(arr.tolist()) if arr.dtype == object else arr)

    def _inverted(self, flat: list, shape: tuple) -> torch.Tensor:
        return torch.tensor(flat, dtype=torch.int64).reshape(shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if config["vocabulary"] is not None:
            config["vocabulary"] = [int(v) for v in config["vocabulary"]]
        return config


# ============================================================================ TextVectorization
def _ngrams(tokens: list[str], widths: Sequence[int]) -> list[str]:
    """All n-grams of ``tokens`` for each width in turn, words joined by a space (TF's ``ngrams``)."""
    return [" ".join(tokens[i:i + n]) for n in widths for i in range(len(tokens) - n + 1)]


class TextVectorization(Layer):
    """Turns text into token indices or token vectors: standardize each string, split it into
    tokens, form n-grams, then look the tokens up in a vocabulary (an inner ``StringLookup`` whose
    mask token is ``""``, so index 0 is padding and 1 is ``"[UNK]"``).

    ``standardize``: ``"lower_and_strip_punctuation"`` (default), ``"lower"``,
    ``"strip_punctuation"``, ``None`` or a callable taking and returning a NumPy array of ``str``
    (Keras's contract on non-TensorFlow backends). As TensorFlow's ``strings.lower``, lowering
    touches ASCII letters only; punctuation is ASCII punctuation. ``split``: ``"whitespace"``
    (ASCII whitespace runs), ``"character"`` (Unicode code points), ``None``, or a callable taking
    the 1-D array of standardized strings and returning one token list per string. ``ngrams``: an
    integer ``n`` (all widths 1..n) or a tuple of widths.

    ``output_mode="int"`` gives int64 ``(batch, output_sequence_length)`` indices (padded with 0 or
    truncated; without a length, padded to the batch's longest); ``"multi_hot"``, ``"count"`` and
    ``"tf_idf"`` give float32 ``(batch, vocabulary size)``. ``ragged``/``sparse`` are TensorFlow-only
    and refused. Inputs: a string, or a batch of shape ``(batch,)`` or ``(batch, 1)``.

    >>> layer = TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    >>> layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    >>> layer([["foo qux bar"], ["qux baz"]])
    tensor([[4, 1, 3, 0], [1, 2, 0, 0]])
    """

    _STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
    _SPLIT = ("whitespace", "character")

    def __init__(self, max_tokens: int | None = None, standardize: Any = "lower_and_strip_punctuation",
                 split: Any = "whitespace", ngrams: Any = None, output_mode: str = "int",
                 output_sequence_length: int | None = None, pad_to_max_tokens: bool = False, vocabulary: Any = None,
                 idf_weights: Any = None, sparse: bool = False, ragged: bool = False, encoding: str = "utf-8",
                 name: str | None = None, **kwargs: Any) -> None:
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        super().__init__(name=name, **kwargs)
        _refuse_sparse(self, sparse)
        if ragged:
            raise ValueError(f"{_label(self)}: `ragged=True` can only be used with the TensorFlow backend (initium "
                             f"has no ragged tensors). Received: ragged={ragged!r}. Use output_sequence_length to "
                             "get fixed-length sequences.")
        for arg, value, allowed in (("standardize", standardize, self._STANDARDIZE), ("split", split, self._SPLIT)):
            if value is not None and not callable(value):
                _check_choice(self, arg, value, allowed, extra=", None or a callable")
        output_mode = _ALIASES.get(output_mode, output_mode) if isinstance(output_mode, str) else output_mode
        _check_choice(self, "output_mode", output_mode, _MODES)
        self._ngrams = self._check_ngrams(ngrams)
        self._check_sequence_length(output_mode, output_sequence_length)
        self._ngrams_arg = ngrams
        self._standardize, self._split = standardize, split
        self._output_mode, self._output_sequence_length = output_mode, output_sequence_length
        self._ragged, self._encoding = ragged, encoding
        self._lookup_layer = StringLookup(max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
                                          pad_to_max_tokens=pad_to_max_tokens, mask_token="",
                                          output_mode=output_mode, sparse=sparse,
                                          has_input_vocabulary=has_input_vocabulary, encoding=encoding,
                                          vocabulary_size=vocabulary_size)
        self.built = True

    def _check_ngrams(self, ngrams: Any) -> tuple[int, ...] | None:
        def whole(n: Any) -> bool:
            return isinstance(n, int) and not isinstance(n, bool)

        if not (ngrams is None or whole(ngrams) or isinstance(ngrams, tuple) and all(whole(n) for n in ngrams)):
            raise ValueError(f"{_label(self)}: `ngrams` must be None, an integer, or a tuple of integers. "
                             f"Received: ngrams={ngrams!r}")
        return tuple(range(1, ngrams + 1)) if whole(ngrams) else ngrams

    def _check_sequence_length(self, output_mode: str, length: Any) -> None:
        if output_mode == "int" and not (length is None or isinstance(length, int) and not isinstance(length, bool)
                                         and length > 0):
            raise ValueError(f"{_label(self)}: `output_sequence_length` must be either None or a positive integer "
                             f"when `output_mode` is 'int'. Received: output_sequence_length={length!r}")
        if output_mode != "int" and length is not None:
            raise ValueError(f"{_label(self)}: `output_sequence_length` must not be set if `output_mode` is not "
                             f"'int'. Received output_sequence_length={length}.")

    # ------------------------------------------------------------------ the vocabulary (the inner lookup's)
    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        """The vocabulary: ``""`` (padding) and ``"[UNK]"`` first in ``"int"`` mode, then the terms."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary from text: an array or list of strings, or an iterable of batches."""
        self.reset_state()
        for batch in _adapt_batches(self, data, steps):
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data: Any) -> None:
        if self._lookup_layer._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static vocabulary via `vocabulary` "
                             "argument or `set_vocabulary()` method.")
        self._lookup_layer.count_documents(self._token_rows(self._convert_inputs(data)))

    def finalize_state(self) -> None:
        self._lookup_layer.finalize_state()

    def reset_state(self) -> None:
        self._lookup_layer.reset_state()

    # ------------------------------------------------------------------ preprocessing
    def _convert_inputs(self, x: Any) -> np.ndarray:
        try:
            return as_text(x, self._encoding)
        except TypeError as e:
            raise TypeError(f"{_label(self)}: {e}") from None

    def _standardized(self, text: np.ndarray) -> np.ndarray:
        mode = self._standardize
        if callable(mode):
            out = mode(text.astype(str) if text.size else text)
            return self._convert_inputs(np.asarray(out))
        if mode in ("lower", "lower_and_strip_punctuation"):
            text = np.vectorize(lambda s: s.translate(_ASCII_LOWER), otypes=[object])(text) if text.size else text
        if mode in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = np.vectorize(lambda s: s.translate(_PUNCTUATION), otypes=[object])(text) if text.size else text
        return text

    def _token_rows(self, text: np.ndarray) -> list[list[str]]:
        """One token list per sample: standardized, split and n-grammed."""
        text = self._standardized(text)
        if self._split is None:
            rows = [[t] for t in text.reshape(-1).tolist()] if text.ndim <= 1 else [r.tolist() for r in text]
        else:
            if text.ndim > 1:
                if text.shape[-1] != 1:
                    raise ValueError(f"{_label(self)}: when using `TextVectorization` to tokenize strings, the input "
                                     "rank must be 1 or the last shape dimension must be 1. Received: "
                                     f"inputs.shape={text.shape} with rank={text.ndim}")
                text = text[..., 0]
            rows = self._split_rows(text.reshape(-1))
        return [_ngrams(r, self._ngrams) for r in rows] if self._ngrams is not None else rows

    def _split_rows(self, text: np.ndarray) -> list[list[str]]:
        if self._split == "whitespace":
            return [[t for t in _WHITESPACE.split(s) if t] for s in text.tolist()]
        if self._split == "character":
            return [list(s) for s in text.tolist()]
        rows = self._split(text.astype(str) if text.size else text)
        return [[_decode(t, self._encoding) for t in row] for row in rows]

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and not isinstance(args[0], KerasTensor):
            args = (self._convert_inputs(args[0]), *args[1:])
        return super().__call__(*args, **kwargs)

    def call(self, inputs: np.ndarray) -> torch.Tensor:
        lookup = self._lookup_layer
        if lookup._tokens is None and not (self._output_mode != "int" and lookup.pad_to_max_tokens):
            raise RuntimeError(f"{_label(self)} has no vocabulary yet: call `adapt()` on some sample text, or pass "
                               "`vocabulary=` (a list of terms or a vocabulary file), before calling the layer.")
        rows = self._token_rows(inputs if inputs.ndim else inputs.reshape(1))
        width = self._output_sequence_length  # set in "int" mode only
        if width is None:
            width = max((len(r) for r in rows), default=0)
        grid = np.full((len(rows), width), "", dtype=object)  # "" is the mask token: 0, or dropped
        for i, row in enumerate(rows):
            row = row[:width]
            grid[i, :len(row)] = row
        indices = lookup.lookup(grid)
        out = torch.from_numpy(indices) if self._output_mode == "int" else lookup.encode(indices)
        return out if inputs.ndim else out[0]

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if self._output_mode == "int":
            return (shape[0] if shape else None, self._output_sequence_length)
        if self._split is None:
            shape = shape + (1,) if len(shape) <= 1 else shape
        else:  # a (batch, 1) input is squeezed before splitting (Keras's own shape keeps the 1, its output not)
            shape = (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (None,)
        return self._lookup_layer.compute_output_shape(shape)

    def compute_output_spec(self, inputs: Any, *args: Any, **kwargs: Any) -> KerasTensor:
        dtype = "int64" if self._output_mode == "int" else backend.floatx()
        return KerasTensor(self.compute_output_shape(inputs.shape), dtype=dtype)

    def build(self, input_shape: Any = None) -> None:
        self.built = True

    # ------------------------------------------------------------------ config and saving
    def get_config(self) -> dict[str, Any]:
        lookup = self._lookup_layer
        return {**super().get_config(), "max_tokens": lookup.max_tokens, "standardize": self._standardize,
                "split": self._split, "ngrams": self._ngrams_arg, "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length,
                "pad_to_max_tokens": lookup.pad_to_max_tokens, "sparse": lookup.sparse, "ragged": self._ragged,
                "vocabulary": _listify(lookup.input_vocabulary), "idf_weights": _listify(lookup.input_idf_weights),
                "encoding": self._encoding, "vocabulary_size": self.vocabulary_size()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "TextVectorization":
        config = dict(config)
        if isinstance(config.get("vocabulary"), str):
            raise ValueError(f"{cls.__name__} config names the vocabulary file {config['vocabulary']!r}: loading a "
                             "vocabulary file outside of the model archive is refused.")
        for arg in ("standardize", "split"):
            if config.get(arg) is not None and not isinstance(config[arg], str):
                raise ValueError(f"{cls.__name__} config: a custom `{arg}` callable ({config[arg]!r}) cannot be "
                                 "rebuilt from a file by initium; construct the layer in code.")
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)

    def stored_tensors(self) -> dict[str, torch.Tensor]:
        return self._lookup_layer.stored_tensors()

    def asset_files(self) -> dict[str, str]:
        """Keras writes the vocabulary twice: for this layer and for its inner ``_lookup_layer``."""
        own = self._lookup_layer.asset_files()
        return {**own, **{f"_lookup_layer/{k}": v for k, v in own.items()}}

    def load_asset_files(self, read: Callable[[str], list[str] | None]) -> None:
        self._lookup_layer.load_asset_files(read)


# ============================================================================ Hashing
class Hashing(Layer):
    """Hashes strings or integers into ``num_bins`` bins: FarmHash Fingerprint64 modulo the bins,
    or SipHash-2-4 keyed by ``salt`` (an integer, or a pair); integers (and floats, truncated to
    integers) are hashed as their decimal text, as Keras does. With ``mask_value``, that value goes
    to bin 0 and the others to bins 1..num_bins-1. ``output_mode``: ``"int"`` (int64 by default),
    ``"one_hot"``, ``"multi_hot"``, ``"count"`` (float32).

    >>> Hashing(num_bins=3)([["A"], ["B"], ["C"], ["D"], ["E"]])
    tensor([[1], [0], [1], [1], [2]])
    """

    _MODES = ("int", "one_hot", "multi_hot", "count")

    def __init__(self, num_bins: int, mask_value: Any = None, salt: Any = None, output_mode: str = "int",
                 sparse: bool = False, **kwargs: Any) -> None:
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else backend.floatx()
        super().__init__(**kwargs)
        if num_bins is None or isinstance(num_bins, bool) or not isinstance(num_bins, numbers.Integral) \
                or num_bins <= 0:
            raise ValueError(f"{_label(self)}: the `num_bins` for `Hashing` cannot be `None` or non-positive values. "
                             f"Received: num_bins={num_bins!r}.")
        if output_mode == "int" and self.dtype not in ("int32", "int64"):
            raise ValueError(f"{_label(self)}: when `output_mode=\"int\"`, `dtype` should be an integer type, 'int32' "
                             f"or 'int64'. Received: dtype={kwargs['dtype']!r}")
        if not isinstance(output_mode, str) or output_mode not in self._MODES:
            raise ValueError(f"{_label(self)}: invalid value for argument `output_mode`. Expected one of "
                             f"{self._MODES}. Received: output_mode={output_mode!r}")
        if sparse and output_mode == "int":
            raise ValueError(f"{_label(self)}: `sparse` may only be true if `output_mode` is `\"one_hot\"`, "
                             f"`\"multi_hot\"`, or `\"count\"`. Received: sparse={sparse} and output_mode={output_mode}")
        _refuse_sparse(self, sparse)
        self.num_bins, self.mask_value = int(num_bins), mask_value
        self.output_mode, self.sparse = output_mode, sparse
        self.strong_hash = salt is not None
        self.salt = None if salt is None else _salt_pair(self, salt)
        self.built = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and not isinstance(args[0], KerasTensor):
            args = (self._values(args[0]), *args[1:])
        return super().__call__(*args, **kwargs)

    @staticmethod
    def _values(x: Any) -> np.ndarray:
        """Inputs as an object array of str, or an int64 array (floats truncated)."""
        if _is_text(x):
            return as_text(x)
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
        arr = np.asarray(x)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"Hashing expects strings or numbers; received an array of dtype {arr.dtype}.")
        return arr.astype(np.int64)

    def _bins(self, values: np.ndarray) -> np.ndarray:
        bins = self.num_bins
        flat = values.reshape(-1).tolist()
        masked = None
        if self.mask_value is not None and bins > 1:  # bin 0 is the mask's
            bins -= 1
            masked = np.fromiter((v == self.mask_value for v in flat), dtype=bool, count=len(flat))
        out = np.fromiter((_bucket(v, bins, self.salt, "utf-8") for v in flat), dtype=np.int64, count=len(flat))
        if masked is not None:
            out = np.where(masked, 0, out + 1)
        return out.reshape(values.shape)

    def call(self, inputs: np.ndarray) -> torch.Tensor:
        if self.output_mode == "one_hot" and inputs.ndim and inputs.shape[-1] == 1:
            inputs = inputs[..., 0]
        indices = torch.from_numpy(self._bins(inputs))
        if self.output_mode == "int":
            return indices.to(backend.torch_dtype(self.dtype))
        return _encode_categorical(indices, self.output_mode, self.num_bins, backend.torch_dtype(self.dtype))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        return shape[:-1] + (self.num_bins,) if shape else (self.num_bins,)

    def compute_output_spec(self, inputs: Any, *args: Any, **kwargs: Any) -> KerasTensor:
        return KerasTensor(self.compute_output_shape(inputs.shape), dtype=self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                "output_mode": self.output_mode, "sparse": self.sparse}


for _cls in (StringLookup, IntegerLookup, TextVectorization, Hashing):
    register_layer(_cls)
