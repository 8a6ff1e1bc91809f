"""Datasets from a folder of files: ``image_dataset_from_directory``, ``text_dataset_from_directory``
and ``audio_dataset_from_directory``, each returning an ``initium.utils.Dataset`` (see
``initium.utils.dataset``) where Keras returns a ``tf.data.Dataset``.

The indexing is Keras's, step for step, so that the same folder and seed give the same files in
the same order and the same training/validation split as Keras:

- ``labels="inferred"``: one class per sub-folder (sorted, hidden ones skipped; ``class_names``
  picks and orders a subset), the files of each found recursively (sorted walk; symbolic links to
  folders followed only with ``follow_links``), label = the sub-folder's index. ``labels`` may
  instead be a list with one integer per file (in sorted path order), or ``None`` (no labels);
- the files (and labels) are shuffled once with ``np.random.RandomState(seed)`` (``seed`` drawn at
  random when ``None``); ``validation_split`` then sends the last ``int(split * n)`` files to the
  validation subset (``subset="both"`` returns ``[training, validation]``; the validation part is
  then not shuffled);
- ``label_mode``: ``"int"`` gives int32 labels of shape ``(batch,)``, ``"categorical"`` float32
  one-hot vectors, ``"binary"`` float32 of shape ``(batch, 1)`` (two classes only), ``None`` no
  labels (the dataset yields ``x`` alone).

Differences from Keras's TensorFlow pipeline: images are decoded with Pillow and resized with
``initium.ops.image.resize`` (Keras's ``format="grain"`` path does the same with ``keras.ops``), so
``interpolation`` is ``"bilinear"``, ``"nearest"`` or ``"bicubic"``; texts are ``str`` (UTF-8) and
``max_length`` counts characters, not bytes; with ``verbose=False`` nothing is printed (Keras still
prints the "Using N files for training." lines). Audio is decoded with Python's ``wave`` (PCM WAV),
``ragged=True`` gives a list of arrays per batch, and ``sampling_rate`` resamples with SciPy's
polyphase filter (Keras needs TensorFlow I/O, whose filter differs).
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from initium.utils.dataset import Dataset

__all__ = ["image_dataset_from_directory", "text_dataset_from_directory", "audio_dataset_from_directory",
           "index_directory"]

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_KERAS_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")
_TORCH_INTERPOLATIONS = ("bilinear", "nearest", "bicubic")
_COLOR_CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}


# --------------------------------------------------------------------------------------- indexing
def index_directory(directory: str | os.PathLike, labels: Any, formats: tuple[str, ...],
                    class_names: list[str] | None = None, shuffle: bool = True, seed: int | None = None,
                    follow_links: bool = False, verbose: bool = True) -> tuple[list[str], Any, list[str] | None]:
    """``(file_paths, labels, class_names)`` for the files under ``directory`` ending in ``formats``
    (case-insensitive), as Keras's ``dataset_utils.index_directory`` finds them."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"`directory` must be an existing folder. Received: directory={directory!r}")
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError("The `class_names` passed did not match the names of the subdirectories of the "
                                 f"target directory. Expected: {subdirs} (or a subset of it), but received: "
                                 f"class_names={class_names}")
            subdirs = list(class_names)
    else:
        if class_names is not None:
            raise ValueError("When `labels=None` (no labels), argument `class_names` cannot be specified."
                             if labels is None else "When argument `labels` is specified, argument `class_names` "
                             "cannot be specified (the `class_names` will be the sorted list of labels).")
        subdirs = [""]
    filenames: list[str] = []
    found_labels: list[int] = []
    for index, subdir in enumerate(subdirs):
        names = _files_under(directory, subdir, formats, follow_links)
        filenames += names
        found_labels += [index] * len(names)
    if labels == "inferred":
        labels, class_names = np.asarray(found_labels, dtype="int32"), subdirs
    elif labels is None:
        class_names = None
    else:
        if len(labels) != len(filenames):
            raise ValueError("Expected the lengths of `labels` to match the number of files in the target directory. "
                             f"len(labels) is {len(labels)} while we found {len(filenames)} files in directory "
                             f"{directory}.")
        class_names = [str(label) for label in sorted(set(labels))]
    if verbose:
        from initium.utils.io_utils import print_msg

        print_msg(f"Found {len(filenames)} files." if labels is None else
                  f"Found {len(filenames)} files belonging to {len(class_names)} classes.")
    paths = [os.path.join(directory, name) for name in filenames]
    if shuffle:
        seed = np.random.randint(1e6) if seed is None else seed
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            labels = list(labels) if not isinstance(labels, np.ndarray) else labels
            np.random.RandomState(seed).shuffle(labels)
    return paths, labels, class_names


def _files_under(directory: str, subdir: str, formats: tuple[str, ...], follow_links: bool) -> list[str]:
    """The matching files under ``directory/subdir``, as paths relative to ``directory``, in
    Keras's order (folders sorted by path, files sorted by name)."""
    top = os.path.join(directory, subdir)
    out = []
    for root, _, files in sorted(os.walk(top, followlinks=follow_links), key=lambda entry: entry[0]):
        for fname in sorted(files):
            if fname.lower().endswith(formats):
                out.append(os.path.join(subdir, os.path.relpath(os.path.join(root, fname), top)))
    return out


# ------------------------------------------------------------------------------- shared argument checks
def _check_common(labels: Any, label_mode: Any, class_names: Any, what: str, validation_split: Any, subset: Any,
                  shuffle: bool, seed: Any) -> None:
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(f"`labels` argument should be a list/tuple of integer labels, of the same size as the "
                             f"number of {what} files in the target directory. If you wish to infer the labels from "
                             'the subdirectory names in the target directory, pass `labels="inferred"`. If you wish '
                             f"to get a dataset that only contains {what}s (no labels), pass `labels=None`. "
                             f"Received: labels={labels}")
        if class_names:
            raise ValueError('You can only pass `class_names` if `labels="inferred"`. Received: '
                             f"labels={labels}, and class_names={class_names}")
    if label_mode not in {"int", "categorical", "binary", None}:
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", or None. '
                         f"Received: label_mode={label_mode}")
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", received: {subset}')
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a `seed` argument, "
                         "to make sure that there is no overlap between the training and validation subset.")


def _check_format(format: str) -> None:
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')


def _label_batch(labels: Any, label_mode: str, num_classes: int) -> np.ndarray:
    """Labels in Keras's form for ``label_mode``."""
    values = np.asarray(labels)
    if label_mode == "binary":
        return values.astype("float32")[:, None]
    if label_mode == "categorical":
        out = np.zeros((len(values), num_classes), dtype="float32")
        valid = (values >= 0) & (values < num_classes)  # tf.one_hot gives a zero row for an out-of-range index
        out[np.flatnonzero(valid), values[valid].astype(np.int64)] = 1.0
        return out
    return values.astype("int32")


def _split(paths: list[str], labels: Any, validation_split: float | None, subset: str) -> tuple[list[str], Any]:
    """Keras's split: the last ``int(validation_split * n)`` files are the validation subset."""
    if not validation_split:
        return paths, labels
    n_val = int(validation_split * len(paths))
    cut = len(paths) - n_val
    part = slice(0, cut) if subset == "training" else slice(cut, len(paths))
    return paths[part], (None if labels is None else labels[part])


def _datasets(paths: list[str], labels: Any, class_names: Any, label_mode: Any, *, load_x: Callable[[list[str]], Any],
              batch_size: Any, shuffle: bool, seed: int, validation_split: Any, subset: Any, directory: str,
              what: str, formats: tuple[str, ...], verbose: bool, keep_paths: bool = True) -> Any:
    """The ``Dataset`` (or ``[training, validation]`` for ``subset="both"``) over ``paths``."""
    from initium.utils.io_utils import print_msg

    def build(part: str | None, shuffled: bool) -> Dataset:
        part_paths, part_labels = _split(paths, labels, validation_split, part) if part else (paths, labels)
        if verbose and part:
            print_msg(f"Using {len(part_paths)} files for {part}.")
        if not part_paths:
            kind = {"training": "training ", "validation": "validation "}.get(part or "", "")
            raise ValueError(f"No {kind}{what} found in directory {directory}. Allowed formats: {formats}")
        num_classes = len(class_names) if class_names else 0

        def load(indices: np.ndarray) -> Any:
            x = load_x([part_paths[i] for i in indices])
            if label_mode is None:
                return x
            return x, _label_batch([part_labels[i] for i in indices], label_mode, num_classes)

        return Dataset(load, len(part_paths), batch_size=batch_size, shuffle=shuffled, seed=seed,
                       class_names=class_names, file_paths=part_paths if keep_paths else None)

    if subset == "both":
        return [build("training", shuffle), build("validation", False)]
    return build(subset, shuffle)


def _prepare(directory: Any, labels: Any, label_mode: Any, class_names: Any, what: str, formats: tuple[str, ...],
             shuffle: bool, seed: Any, validation_split: Any, subset: Any, follow_links: bool,
             verbose: bool) -> tuple[str, list[str], Any, Any, Any, int]:
    """Checks and indexing shared by the three builders: ``(directory, paths, labels, class_names,
    label_mode, seed)``."""
    _check_common(labels, label_mode, class_names, what, validation_split, subset, shuffle, seed)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    seed = np.random.randint(1e6) if seed is None else seed
    directory = os.fspath(directory)
    paths, labels, class_names = index_directory(directory, labels, formats, class_names=class_names, shuffle=shuffle,
                                                 seed=seed, follow_links=follow_links, verbose=verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 class_names. Received: '
                         f"class_names={class_names}")
    return directory, paths, labels, class_names, label_mode, seed


# ------------------------------------------------------------------------------------------ images
def image_dataset_from_directory(directory: str | os.PathLike, labels: Any = "inferred", label_mode: str | None = "int",
                                 class_names: list[str] | None = None, color_mode: str = "rgb",
                                 batch_size: int | None = 32, image_size: Any = (256, 256), shuffle: bool = True,
                                 seed: int | None = None, validation_split: float | None = None,
                                 subset: str | None = None, interpolation: str = "bilinear",
                                 follow_links: bool = False, crop_to_aspect_ratio: bool = False,
                                 pad_to_aspect_ratio: bool = False, data_format: str | None = None,
                                 format: str = "tf", verbose: bool = True) -> Any:
    """Images under ``directory`` (``.bmp``, ``.gif``, ``.jpeg``, ``.jpg``, ``.png``) as a ``Dataset``
    of float32 batches of shape ``(batch, height, width, channels)`` (``channels_first``:
    ``(batch, channels, height, width)``), with labels as the module docstring describes.

    ``image_size`` is ``(height, width)`` (an int means a square); ``color_mode`` is ``"rgb"``,
    ``"rgba"`` or ``"grayscale"``; ``crop_to_aspect_ratio`` resizes the largest centred crop of the
    target's aspect ratio, ``pad_to_aspect_ratio`` pads with zeros instead (only one of the two).
    The dataset's ``class_names`` and ``file_paths`` are set as in Keras.
    """
    if color_mode not in _COLOR_CHANNELS:
        raise ValueError(f'`color_mode` must be one of {{"rgb", "rgba", "grayscale"}}. Received: color_mode={color_mode}')
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(f"Invalid `image_size` value. Expected a tuple of 2 integers. Received: image_size={image_size}")
    interpolation = _check_interpolation(interpolation)
    _check_format(format)
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be set to `True`.")
    from initium.utils.image import _standardize_data_format

    data_format = _standardize_data_format(data_format)
    directory, paths, labels, class_names, label_mode, seed = _prepare(
        directory, labels, label_mode, class_names, "image", IMAGE_FORMATS, shuffle, seed, validation_split, subset,
        follow_links, verbose)
    options = dict(size=tuple(int(s) for s in image_size), channels=_COLOR_CHANNELS[color_mode],
                   interpolation=interpolation, crop=crop_to_aspect_ratio, pad=pad_to_aspect_ratio,
                   data_format=data_format)

    def load_x(batch_paths: list[str]) -> np.ndarray:
        return np.stack([_load_image(p, **options) for p in batch_paths])

    return _datasets(paths, labels, class_names, label_mode, load_x=load_x, batch_size=batch_size, shuffle=shuffle,
                     seed=seed, validation_split=validation_split, subset=subset, directory=directory, what="images",
                     formats=IMAGE_FORMATS, verbose=verbose)


def _check_interpolation(interpolation: str) -> str:
    interpolation = str(interpolation).lower()
    if interpolation not in _KERAS_INTERPOLATIONS:
        raise ValueError(f"Argument `interpolation` should be one of {_KERAS_INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation}")
    if interpolation not in _TORCH_INTERPOLATIONS:
        raise ValueError(f"interpolation={interpolation!r} is one of TensorFlow's resize kernels; initium resizes with "
                         f"torch (as Keras's torch backend does), which supports {_TORCH_INTERPOLATIONS}.")
    return interpolation


def _load_image(path: str, size: tuple[int, int], channels: int, interpolation: str, crop: bool, pad: bool,
                data_format: str) -> np.ndarray:
    """One image file as float32 ``(height, width, channels)`` (or channels first), resized."""
    from initium.ops import image as image_ops
    from initium.utils.image import _convert_mode, _pil

    with _pil().open(path) as img:
        img = _convert_mode(img, {1: "grayscale", 3: "rgb", 4: "rgba"}[channels])
        arr = np.asarray(img, dtype="float32")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    out = image_ops.resize(arr, size, interpolation=interpolation, crop_to_aspect_ratio=crop, pad_to_aspect_ratio=pad,
                           data_format="channels_last").numpy()
    return out.transpose(2, 0, 1) if data_format == "channels_first" else out


# -------------------------------------------------------------------------------------------- text
def text_dataset_from_directory(directory: str | os.PathLike, labels: Any = "inferred", label_mode: str | None = "int",
                                class_names: list[str] | None = None, batch_size: int | None = 32,
                                max_length: int | None = None, shuffle: bool = True, seed: int | None = None,
                                validation_split: float | None = None, subset: str | None = None,
                                follow_links: bool = False, format: str = "tf", verbose: bool = True) -> Any:
    """The ``.txt`` files under ``directory`` as a ``Dataset`` whose ``x`` batches are numpy arrays
    of ``str`` (dtype object), each file's text cut to ``max_length`` characters; labels as the
    module docstring describes. ``class_names`` is set as in Keras."""
    _check_format(format)
    if max_length is not None and (not isinstance(max_length, (int, np.integer)) or max_length < 0):
        raise ValueError(f"`max_length` must be None or a non-negative integer. Received: max_length={max_length!r}")
    directory, paths, labels, class_names, label_mode, seed = _prepare(
        directory, labels, label_mode, class_names, "text", (".txt",), shuffle, seed, validation_split, subset,
        follow_links, verbose)

    def load_x(batch_paths: list[str]) -> np.ndarray:
        out = np.empty(len(batch_paths), dtype=object)
        out[:] = [_read_text(p, max_length) for p in batch_paths]
        return out

    return _datasets(paths, labels, class_names, label_mode, load_x=load_x, batch_size=batch_size, shuffle=shuffle,
                     seed=seed, validation_split=validation_split, subset=subset, directory=directory,
                     what="text files", formats=(".txt",), verbose=verbose, keep_paths=False)


def _read_text(path: str, max_length: int | None) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise ValueError(f"text_dataset_from_directory: {path} is not UTF-8 text ({e}).") from None
    return text if max_length is None else text[:max_length]


# ------------------------------------------------------------------------------------------- audio
def audio_dataset_from_directory(directory: str | os.PathLike, labels: Any = "inferred",
                                 label_mode: str | None = "int", class_names: list[str] | None = None,
                                 batch_size: int | None = 32, sampling_rate: int | None = None,
                                 output_sequence_length: int | None = None, ragged: bool = False,
                                 shuffle: bool = True, seed: int | None = None,
                                 validation_split: float | None = None, subset: str | None = None,
                                 follow_links: bool = False, verbose: bool = True) -> Any:
    """The ``.wav`` files under ``directory`` as a ``Dataset`` of float32 audio in ``[-1, 1)`` of shape
    ``(batch, samples, channels)``.

    Without ``output_sequence_length`` each batch is zero-padded to its longest file (Keras's
    ``padded_batch``); with it every file is cut or zero-padded to that many samples. ``ragged=True``
    yields each batch's audio as a list of ``(samples, channels)`` arrays. ``sampling_rate``
    resamples every file to that rate. ``subset="both"`` returns ``(training, validation)``.
    """
    if ragged and output_sequence_length is not None:
        raise ValueError("Cannot set both `ragged` and `output_sequence_length`")
    if sampling_rate is not None:
        if not isinstance(sampling_rate, int):
            raise ValueError(f"`sampling_rate` should have an integer value. Received: sampling_rate={sampling_rate}")
        if sampling_rate <= 0:
            raise ValueError(f"`sampling_rate` should be higher than 0. Received: sampling_rate={sampling_rate}")
    directory, paths, labels, class_names, label_mode, seed = _prepare(
        directory, labels, label_mode, class_names, "audio", (".wav",), shuffle, seed, validation_split, subset,
        follow_links, verbose)

    def load_x(batch_paths: list[str]) -> Any:
        clips = [_read_wav(p, sampling_rate, output_sequence_length) for p in batch_paths]
        return clips if ragged else _pad_stack(clips)

    out = _datasets(paths, labels, class_names, label_mode, load_x=load_x, batch_size=batch_size, shuffle=shuffle,
                    seed=seed, validation_split=validation_split, subset=subset, directory=directory,
                    what="audio files", formats=(".wav",), verbose=verbose, keep_paths=False)
    return tuple(out) if isinstance(out, list) else out


_PCM_SCALE = {1: 128.0, 2: 32768.0, 3: 8388608.0, 4: 2147483648.0}


def _read_wav(path: str, sampling_rate: int | None, length: int | None) -> np.ndarray:
    """A PCM WAV file as float32 ``(samples, channels)`` in ``[-1, 1)`` (``tf.audio.decode_wav``'s scale)."""
    import wave

    try:
        with wave.open(path, "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise ValueError(f"audio_dataset_from_directory: {path} is not a PCM WAV file ({e}).") from None
    if width == 1:
        ints = np.frombuffer(raw, dtype=np.uint8).astype(np.int32) - 128
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8  # sign-extend 24-bit little-endian
    else:
        ints = np.frombuffer(raw, dtype={2: "<i2", 4: "<i4"}[width])
    audio = (ints.astype(np.float64) / _PCM_SCALE[width]).astype(np.float32).reshape(-1, channels)
    if sampling_rate is not None and sampling_rate != rate:
        import math

        from scipy.signal import resample_poly

        g = math.gcd(sampling_rate, rate)
        audio = resample_poly(audio, sampling_rate // g, rate // g, axis=0).astype(np.float32)
    if length is not None:
        audio = audio[:length]
        audio = np.pad(audio, ((0, length - len(audio)), (0, 0)))
    return audio


def _pad_stack(clips: list[np.ndarray]) -> np.ndarray:
    """Clips zero-padded at the end to the longest one, stacked."""
    longest = max(len(c) for c in clips)
    return np.stack([np.pad(c, ((0, longest - len(c)), (0, 0))) for c in clips])
