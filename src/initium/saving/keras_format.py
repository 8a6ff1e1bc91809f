"""Keras 3's files: the ``.keras`` archive and ``.weights.h5``, both ways, as data only.

Layout (as Keras 3.15 writes it; tests/data/README.md has the trees of real files):

- ``.keras``: a zip of ``metadata.json``, ``config.json`` and ``model.weights.h5``, stored
  uncompressed, in that order.
- ``model.weights.h5`` / ``.weights.h5``: one group per object, keyed by *attribute path* and
  snake-cased class name, de-duplicated per container with ``_1``, ``_2``, ... (not by layer name):
  ``layers/dense/vars/0`` is the first Dense's kernel, ``layers/lstm/cell/vars/0`` an LSTM's
  kernel, ``layers/sequential/layers/dense/vars/0`` a nested model's layer. Every object gets a
  ``vars`` group (attr ``name`` = the object's name), even with no variables; datasets ``0..n-1``
  are its own variables, trainable first. The optimizer sits in ``optimizer/vars``: iteration
  (int32), learning rate, then its slots in Keras's order.

What loading does, and does not do:

- Classes come only from initium's registry, ``custom_objects`` and registered classes; a
  ``Lambda`` layer or an unknown class or module is refused with the name and the fix. Nothing is
  unpickled, evaluated or imported by a name read from a file.
- A malformed ``config.json`` or ``metadata.json`` (wrong types, deep nesting, a bad
  ``compile_config``) is a ``ValueError`` naming the file and where in the config it failed
  (``initium.layers.serialization``); nesting is bounded before anything recurses.
- Zip entries are read by exact name with size limits (``initium.saving.archive``).
- The HDF5 weights are read as untrusted data (``initium.saving.h5``): links, external raw
  storage, virtual datasets, unknown filters, chunkings that decompress far past a dataset's size,
  group trees nested too deep or linked twice, and non-real dtypes are refused; any damage is a
  ``ValueError`` naming the file and the object. A dataset is read only once its declared shape
  equals the weight's, so loading allocates what the model needs, whatever the file declares. A
  ``.keras``'s ``model.weights.h5`` is read in place from the archive (CRC-checked), not copied.
- Weights are allocated without running the initializers (``skip_initialization``), then filled
  from the file, all or nothing: every layer weight and the optimizer state are checked, and every
  dataset read, before anything of the model or its optimizer is written. An optimizer state saved
  before the optimizer was built (Keras's ``compile`` then ``save``: iteration and learning rate
  only) is skipped with Keras's warning, as Keras does; any other mismatch is an error
  (``skip_mismatch=True`` loads what fits).
- initium adds ``metadata.json["initium"]``: the random generator, its transform version, the
  global seed and each weight's recorded Philox keys, so a loaded model can be re-initialized
  exactly as it was born (``layer.reinitialize(replay=True)``). Keras ignores the key.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import io
import json
import os
import re
import warnings
import zipfile
from typing import Any, Iterator

import numpy as np
import torch

from initium.saving.archive import (MAX_JSON_BYTES, MAX_WEIGHTS_BYTES, Member, SafeArchive, atomic_write,
                                   atomic_write_with)
from initium.saving.h5 import Array, WeightsFile

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "KERAS_FORMAT_VERSION"]

KERAS_FORMAT_VERSION = "3.15.1"  # the Keras release whose layout these files follow (metadata's keras_version)
_CONFIG, _METADATA, _WEIGHTS = "config.json", "metadata.json", "model.weights.h5"


# ------------------------------------------------------------------------------------------- walking
def _snake(name: str) -> str:
    """Keras's ``to_snake_case``: ``BatchNormalization`` -> ``batch_normalization``, ``Conv2D`` -> ``conv2d``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _natural_key(s: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def _own_variables(obj: Any) -> list[torch.Tensor]:
    from initium.layers.layer import Layer

    return list(obj._ordered_own()) if isinstance(obj, Layer) else []


def _stored(obj: Any) -> tuple[list[tuple[str, torch.Tensor]], bool]:
    """``obj``'s ``vars`` datasets as ``(name, tensor)``, and whether the names are the layer's own.

    Keras names them ``0..n-1`` over the own variables; a layer with ``stored_tensors()`` names its
    own (TorchModuleWrapper: its module's ``state_dict``, buffers included, as Keras writes it).
    """
    named = getattr(obj, "stored_tensors", None)
    if callable(named):
        return list(named().items()), True
    return [(str(i), v) for i, v in enumerate(_own_variables(obj))], False


def _walk(obj: Any, path: str, seen: set[int], include_optimizer: bool) -> Iterator[tuple[str, Any]]:
    """Yield ``(path, object)`` for ``obj`` and every saveable under it, with Keras's paths."""
    from initium.layers.layer import Layer

    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield path, obj
    if not isinstance(obj, Layer):
        return
    from initium.models.functional import Functional
    from initium.models.sequential import Sequential

    from initium.models.model import Model

    prefix = f"{path}/" if path else ""
    if isinstance(obj, (Sequential, Functional)):
        yield from _walk_container(obj.layers, f"{prefix}layers", seen, include_optimizer)
    children: list[tuple[str, Any]] = [(name, child) for name, child in obj.named_children() if not name.startswith("_")]
    if isinstance(obj, Model) and not isinstance(obj, (Sequential, Functional)):
        # Keras walks a subclassed model's attributes in sorted order, `layers` (a list) among them:
        # a layer is saved under the first name that reaches it.
        children.append(("layers", torch.nn.ModuleList(obj.layers)))
    # Keras walks private attributes too, after the public ones. Those holding weights are walked here
    # (GroupQueryAttention's `_query_dense`); the others would only add empty groups.
    private = [(name, child) for name, child in obj.named_children()
               if name.startswith("_") and isinstance(child, Layer) and (child.weights or _stored(child)[0])]
    by_name = lambda item: _natural_key(item[0])  # noqa: E731
    for name, child in sorted(children, key=by_name) + sorted(private, key=by_name):
        if isinstance(child, torch.nn.ModuleList):
            yield from _walk_container(list(child), f"{prefix}{name}", seen, include_optimizer)
        elif isinstance(child, Layer):
            yield from _walk(child, f"{prefix}{name}", seen, include_optimizer)
    if include_optimizer and path == "":
        optimizer = getattr(obj, "optimizer", None)
        if optimizer is not None:
            yield "optimizer", optimizer


def _walk_container(items: list, path: str, seen: set[int], include_optimizer: bool) -> Iterator[tuple[str, Any]]:
    used: dict[str, int] = {}
    for item in items:
        # Keras keys a layer by its Python class, which a class may name apart from its public name
        # (`_keras_class_name`: GroupQueryAttention is Keras's GroupedQueryAttention).
        name = _snake(type(item).__dict__.get("_keras_class_name", type(item).__name__))
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        yield from _walk(item, f"{path}/{name}", seen, include_optimizer)


def _entries(model: Any, include_optimizer: bool) -> list[tuple[str, Any]]:
    return list(_walk(model, "", set(), include_optimizer))


def _vars_group(path: str) -> str:
    return f"{path}/vars" if path else "vars"


# ------------------------------------------------------------------------------------------- writing
def _optimizer_arrays(optimizer: Any, model: Any) -> list[np.ndarray]:
    if not optimizer.built:
        optimizer.build([v for v in model.trainable_weights])
    out = []
    for i, v in enumerate(optimizer.variables):
        arr = v.detach().cpu().numpy()
        out.append(arr.astype(np.int32) if i == 0 else arr)  # Keras stores the iteration count as int32
    return out


def _write_h5(model: Any, target: Any, include_optimizer: bool = True) -> None:
    import h5py

    with h5py.File(target, "w") as f:
        for path, obj in _entries(model, include_optimizer):
            group = f.require_group(_vars_group(path))
            group.attrs["name"] = str(getattr(obj, "name", ""))
            if path == "optimizer":
                named = [(str(i), arr) for i, arr in enumerate(_optimizer_arrays(obj, model))]
            else:
                named = [(key, v.detach().cpu().numpy()) for key, v in _stored(obj)[0]]
            for key, arr in named:
                group.create_dataset(key, data=arr)


def _provenance(model: Any) -> dict[str, Any]:
    from initium import random as irandom

    keys: dict[str, list] = {}
    for path, obj in _entries(model, include_optimizer=False):
        for i, v in enumerate(_own_variables(obj)):
            if getattr(v, "init_keys", ()):
                keys[f"{_vars_group(path)}/{i}"] = [list(map(int, k)) for k in v.init_keys]
    from initium.version import __version__

    return {"version": __version__, "generator": irandom.GENERATOR,
            "transform_version": irandom.TRANSFORM_VERSION, "global_seed": irandom.global_seed(),
            "init_keys": keys}


def _json_default(o: Any) -> Any:
    if isinstance(o, tuple):
        return list(o)
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable: {o!r}")


def _check_overwrite(path: str, overwrite: bool) -> None:
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists and overwrite=False.")


def save_model(model: Any, filepath: str | os.PathLike, overwrite: bool = True, zipped: bool | None = None,
               include_optimizer: bool = True) -> None:
    """Write ``model`` as a Keras 3 ``.keras`` archive (atomically: temp file + rename)."""
    from initium.layers.serialization import serialize

    path = os.fspath(filepath)
    if not str(path).endswith(".keras"):
        if str(path).endswith(".h5"):
            raise ValueError(f"Saving to the legacy HDF5 format (`.h5`) is not supported by initium; use a "
                             f"`.keras` path (Keras 3's format). Received: filepath={path}")
        raise ValueError("Invalid filepath extension for saving. Please add a `.keras` extension (Keras 3's "
                         f"native format). Received: filepath={path}")
    if zipped is False:
        raise ValueError("save(zipped=False) (an unzipped directory) is not supported; use a `.keras` file.")
    _check_overwrite(path, overwrite)
    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built yet, so it has no weights to save. Call it on "
                         "data, or build it (model.build(input_shape)), before saving.")
    config = serialize(model)
    config["compile_config"] = model.get_compile_config() if getattr(model, "compiled", False) else None
    config.setdefault("build_config", model.get_build_config() if hasattr(model, "get_build_config") else None)
    metadata = {"keras_version": KERAS_FORMAT_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "initium": _provenance(model)}
    weights = io.BytesIO()
    _write_h5(model, weights, include_optimizer=include_optimizer)
    blobs = [(_METADATA, json.dumps(metadata).encode()),
             (_CONFIG, json.dumps(config, default=_json_default).encode()),
             (_WEIGHTS, weights.getvalue())] + _asset_blobs(model)
    with atomic_write(path) as f:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
            for name, data in blobs:
                zf.writestr(zipfile.ZipInfo(name, date_time=datetime.datetime.now().timetuple()[:6]), data)


def save_weights(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Write the weights (and optimizer state) in Keras 3's ``.weights.h5`` layout, atomically."""
    path = os.fspath(filepath)
    if not str(path).endswith(".weights.h5"):
        raise ValueError(f"The filename must end in `.weights.h5`. Received: filepath={path}")
    _check_overwrite(path, overwrite)
    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built yet, so it has no weights to save.")
    atomic_write_with(path, lambda tmp: _write_h5(model, tmp, include_optimizer=True))


# ------------------------------------------------------------------------------------------- assets
# Keras's ``save_assets``/``load_assets``: a layer's files live in the archive under
# ``assets/<the layer's attribute path>/`` (the path of its weights group, ``layers/string_lookup``),
# written after ``model.weights.h5``. The lookup layers write ``vocabulary.txt``, their vocabulary
# one term per line with the special tokens first and no final newline; TextVectorization writes it
# for itself and for its inner ``_lookup_layer`` (initium.layers.text). Reading finds each file by
# the exact name the model's own paths give (never a name from the archive), bounded in size, and
# strictly UTF-8 (ValueError naming the file otherwise).
_ASSETS = "assets"


def _asset_prefix(path: str) -> str:
    return f"{_ASSETS}/{path}/" if path else f"{_ASSETS}/"


def _asset_blobs(model: Any) -> list[tuple[str, bytes]]:
    """The ``(archive name, bytes)`` of every layer's asset files, in walking order."""
    blobs: dict[str, bytes] = {}
    for path, obj in _entries(model, include_optimizer=False):
        files = obj.asset_files() if callable(getattr(obj, "asset_files", None)) else {}
        for name, text in sorted(files.items()):
            blobs.setdefault(_asset_prefix(path) + name, text.encode("utf-8"))
    return list(blobs.items())


def _load_assets(model: Any, archive: SafeArchive, where: str) -> None:
    """Give each layer with assets its files from ``archive`` (``load_asset_files(read)``)."""
    from initium.layers.text import MAX_VOCABULARY_FILE_BYTES, read_vocabulary_file

    for path, obj in _entries(model, include_optimizer=False):
        if not callable(getattr(obj, "load_asset_files", None)):
            continue

        def read(name: str, prefix: str = _asset_prefix(path)) -> list[str] | None:
            member = prefix + name
            if member not in archive:
                return None
            data = archive.read(member, MAX_VOCABULARY_FILE_BYTES)
            return read_vocabulary_file(member, where=f"`{member}` in {where}", data=data)

        obj.load_asset_files(read)


# ------------------------------------------------------------------------------------------- reading
_OPTIMIZER_VARS = "optimizer/vars"


@contextlib.contextmanager
def _open_h5(source: str | Member, where: str, model: Any) -> Iterator[WeightsFile]:
    """The weights file ``source`` (a path, or a checked archive member) for ``model``, vetted (``initium.saving.h5``).

    Groups may nest as deep as ``model``'s own weight groups (or the reader's default limit).
    """
    depth = max(len(_vars_group(path).split("/")) for path, _ in _entries(model, include_optimizer=False))
    with contextlib.ExitStack() as stack:
        raw = source if isinstance(source, str) else stack.enter_context(source.open())
        yield stack.enter_context(WeightsFile(raw, where, max_depth=depth))


def _preview(items: list, n: int = 8) -> str:
    """The first ``n`` items and their count, for messages about groups that may hold thousands."""
    shown = ", ".join(repr(k) for k in items[:n])
    return f"[{shown}{', ...' if len(items) > n else ''}] ({len(items)} entries)"


def _group_arrays(group: dict[str, Array | None], where: str, gpath: str) -> list[Array]:
    """The datasets ``0..n-1`` of a ``vars`` group, in order (their shapes and dtypes; nothing is read).

    Names are compared as exact strings, never parsed: ``'00'``, ``'²'`` (``str.isdigit`` is True,
    ``int`` fails) or 5,000 digits are simply not ``'0'``.
    """
    names = sorted(group)
    expected = [str(i) for i in range(len(names))]
    if set(names) != set(expected):
        raise ValueError(f"{where}: the group `{gpath}` holds {_preview(names)}; expected datasets named "
                         f"0..{len(names) - 1}.")
    out = []
    for name in expected:
        array = group[name]
        if array is None:
            raise ValueError(f"{where}: `{gpath}/{name}` is a group; expected a numeric array.")
        out.append(array)
    return out


def _named_arrays(group: dict[str, Array | None], where: str, gpath: str, names: list[str]) -> list[Array]:
    """The datasets ``names`` of a ``vars`` group, in that order (a layer that names its own)."""
    for name in names:
        if group[name] is None:
            raise ValueError(f"{where}: `{gpath}/{name}` is a group; expected a numeric array.")
    return [group[name] for name in names]


def _plan_layers(model: Any, f: WeightsFile, where: str) -> tuple[list[tuple[torch.Tensor, Array]], list[str]]:
    """Pair each layer weight with its dataset by shape; what does not fit becomes a problem (nothing read)."""
    plan: list[tuple[torch.Tensor, Array]] = []
    problems: list[str] = []
    expected: set[str] = set()
    for path, obj in _entries(model, include_optimizer=False):
        gpath = _vars_group(path)
        expected.add(gpath)
        stored, own_names = _stored(obj)
        variables = [v for _, v in stored]
        shown = [key if own_names else v.name for key, v in stored]
        label = f"layer '{obj.name}' ({type(obj).__name__}, file group `{gpath}`)"
        group = f.group(gpath)
        if group is None:
            if variables:
                problems.append(f"{label}: the file has no weights for it (expected {len(variables)}: "
                                f"{shown}).")
            continue
        if own_names and sorted(group) != sorted(shown):
            problems.append(f"{label}: expected the datasets {shown}, the file has {_preview(sorted(group))}.")
            continue
        arrays = _named_arrays(group, where, gpath, shown) if own_names else _group_arrays(group, where, gpath)
        if len(arrays) != len(variables):
            problems.append(f"{label}: expected {len(variables)} weights {shown}, "
                            f"the file has {len(arrays)}.")
            continue
        for what, v, array in zip(shown, variables, arrays):
            if array.shape != tuple(v.shape):
                problems.append(f"{label}: weight '{what}' has shape {tuple(v.shape)} in the model but "
                                f"{array.shape} in the file.")
            else:
                plan.append((v, array))
    unmatched = sorted(g for g in f.group_paths() if g.rsplit("/", 1)[-1] == "vars" and f.group(g)
                       and g not in expected and g.split("/", 1)[0] != "optimizer")
    problems += [f"the file has weights at `{g}` that match no layer of model '{model.name}'." for g in unmatched]
    return plan, problems


def _optimizer_shapes(optimizer: Any, model: Any) -> list[tuple[int, ...]]:
    """The shapes of ``optimizer.variables`` once built for ``model``, without building it (a built copy)."""
    if not optimizer.built:
        optimizer = copy.deepcopy(optimizer)
        optimizer.build(list(model.trainable_weights))
    return [tuple(v.shape) for v in optimizer.variables]


def _plan_optimizer(model: Any, f: WeightsFile, where: str) -> tuple[list[Array] | None, str | None, str | None]:
    """The optimizer state to load: ``(arrays, problem, notice)``; arrays is None when nothing is loaded.

    A file saved before its optimizer was built (Keras saves ``compile`` then ``save`` with just the
    iteration count and learning rate) is skipped with Keras's warning text, as Keras does.
    """
    optimizer = getattr(model, "optimizer", None)
    group = f.group(_OPTIMIZER_VARS)
    if optimizer is None or group is None:
        return None, None, None
    arrays = _group_arrays(group, where, _OPTIMIZER_VARS)
    saved = [a.shape for a in arrays]
    shapes = _optimizer_shapes(optimizer, model)
    if saved == shapes:
        return arrays, None, None
    saved_before_build = 0 < len(saved) <= 2 < len(shapes) and saved == shapes[:len(saved)] == [()] * len(saved)
    if saved_before_build:  # only the iteration count and learning rate: Keras's exact warning
        return None, None, (f"Skipping variable loading for optimizer '{optimizer.name}', because it has "
                            f"{len(shapes)} variables whereas the saved optimizer has {len(saved)} variables. ")
    return None, (f"the optimizer state in the file ({len(saved)} variables, shapes {_preview(saved, 4)}) does not "
                  f"match {type(optimizer).__name__} '{optimizer.name}' of this model ({len(shapes)} variables, "
                  f"shapes {_preview(shapes, 4)}). Compile with the optimizer the file was saved with, or load with "
                  "compile=False."), None


def _load_h5(model: Any, f: WeightsFile, where: str, skip_mismatch: bool, load_optimizer: bool) -> None:
    """Check every weight (and the optimizer state) against the file, read what fits, then assign it all.

    Nothing of the model or its optimizer changes unless every check passed (or ``skip_mismatch``)
    and every read succeeded.
    """
    plan, problems = _plan_layers(model, f, where)
    optimizer_arrays, problem, notice = _plan_optimizer(model, f, where) if load_optimizer else (None, None, None)
    problems += [problem] if problem else []
    if problems and not skip_mismatch:
        raise ValueError(f"A total of {len(problems)} objects could not be loaded from {where} into model "
                         f"'{model.name}' (pass skip_mismatch=True to load the rest):\n- " + "\n- ".join(problems))
    values = [(v, f.read(array)) for v, array in plan]
    optimizer_values = [f.read(array) for array in optimizer_arrays] if optimizer_arrays is not None else None
    if notice:
        warnings.warn(notice, stacklevel=4)
    with torch.no_grad():
        for v, arr in values:
            v.copy_(torch.from_numpy(arr).to(dtype=v.dtype, device=v.device))
        if optimizer_values is not None:
            optimizer = model.optimizer
            if not optimizer.built:
                optimizer.build(list(model.trainable_weights))
            for t, arr in zip(optimizer.variables, optimizer_values):
                t.copy_(torch.from_numpy(arr).to(dtype=t.dtype, device=t.device))


def load_weights(model: Any, filepath: str | os.PathLike, skip_mismatch: bool = False) -> None:
    """Fill ``model``'s weights from a ``.weights.h5`` or ``.keras`` file (Keras's or initium's).

    All or nothing: on any error the model and its optimizer are as they were.
    """
    path = os.fspath(filepath)
    if str(path).endswith(".keras"):
        with SafeArchive(path) as archive:
            source: str | Member = archive.member(_WEIGHTS, MAX_WEIGHTS_BYTES)
    elif not str(path).endswith(".weights.h5"):
        raise ValueError(f"File format not supported: filepath={path}. initium reads Keras 3 `.keras` files and "
                         "`.weights.h5` files.")
    elif not os.path.exists(path):
        raise FileNotFoundError(f"No file found at {path}")
    elif os.path.getsize(path) == 0:
        raise ValueError(f"The file {path} is empty; expected a `.weights.h5` HDF5 file.")
    else:
        source = path
    with _open_h5(source, path, model) as f:
        _load_h5(model, f, path, skip_mismatch, load_optimizer=True)


def _parse_json(raw: bytes, name: str, path: str) -> Any:
    from initium.layers.serialization import parse_config_json

    return parse_config_json(raw, f"`{name}` in {path}")


def load_model(filepath: str | os.PathLike, custom_objects: dict[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """Load a ``.keras`` archive written by Keras 3 or initium: architecture, weights, compile state.

    ``safe_mode`` is accepted for Keras compatibility; initium is always safe (``safe_mode=False``
    does not enable anything: no code stored in a file is ever run).
    """
    from initium import backend, initializers, registry
    from initium.layers.serialization import deserialize_file_config

    path = os.fspath(filepath)
    if str(path).endswith(".weights.h5"):
        raise ValueError(f"No model config found in the file at {path}: it holds weights only. Build the model "
                         "and call model.load_weights(path).")
    if not str(path).endswith(".keras"):
        if os.path.isdir(path):
            raise ValueError(f"{path} is a directory. initium loads `.keras` files (Keras 3's format); a "
                             "TensorFlow SavedModel is not supported.")
        raise ValueError(f"File format not supported: filepath={path}. initium loads Keras 3 `.keras` files "
                         "(model.load_weights reads `.weights.h5`).")
    with SafeArchive(path) as archive:
        config = _parse_json(archive.read(_CONFIG, MAX_JSON_BYTES), _CONFIG, path)
        metadata = _parse_json(archive.read(_METADATA, MAX_JSON_BYTES), _METADATA, path) if _METADATA in archive else {}
        weights = archive.member(_WEIGHTS, MAX_WEIGHTS_BYTES)
    with registry.custom_object_scope(custom_objects or {}), initializers.skip_initialization():
        # First on the meta device (shapes, no memory): every weight the config declares must be a
        # dataset of that shape in the file, so a small file cannot make the loader allocate a huge model.
        with backend.device("meta"), backend.preserved_names():
            shadow = deserialize_file_config(config, custom_objects, path)
        with _open_h5(weights, path, shadow) as f:
            _, problems = _plan_layers(shadow, f, path)
        if problems:
            raise ValueError(f"A total of {len(problems)} objects could not be loaded from {path} into model "
                             f"'{shadow.name}':\n- " + "\n- ".join(problems))
        model = deserialize_file_config(config, custom_objects, path)
    compile_config = config.get("compile_config")
    if compile and compile_config:
        _compile_from_file(model, compile_config, path)
    with _open_h5(weights, path, model) as f:
        _load_h5(model, f, path, skip_mismatch=False, load_optimizer=bool(compile and compile_config))
    with SafeArchive(path) as archive:
        _load_assets(model, archive, path)
    _restore_provenance(model, metadata.get("initium") if isinstance(metadata, dict) else None)
    return model


def _compile_from_file(model: Any, compile_config: Any, path: str) -> None:
    """``model.compile_from_config`` on a file's ``compile_config``: failures name the file."""
    from initium.layers.serialization import MAX_STRUCTURE_DEPTH, config_error, structure_depth

    if structure_depth(compile_config) > MAX_STRUCTURE_DEPTH:
        raise ValueError(f"Cannot load {path} (config.json, at compile_config): it nests more than "
                         f"{MAX_STRUCTURE_DEPTH} levels deep; a compile config nests a few.")
    try:
        model.compile_from_config(compile_config)
    except Exception as e:
        raise config_error(path, e, where="compile_config") from e


def _restore_provenance(model: Any, info: Any) -> None:
    """Give each weight the Philox keys it was born with (written by initium's save)."""
    model._loaded_provenance = info if isinstance(info, dict) else None
    if not isinstance(info, dict) or not isinstance(info.get("init_keys"), dict):
        return
    keys = info["init_keys"]
    for path, obj in _entries(model, include_optimizer=False):
        for i, v in enumerate(_own_variables(obj)):
            rec = keys.get(f"{_vars_group(path)}/{i}")
            if isinstance(rec, list) and all(isinstance(k, list) and len(k) == 2 and all(_is_word(n) for n in k)
                                             for k in rec):
                v.init_keys = tuple((a, b) for a, b in rec)


def _is_word(n: Any) -> bool:
    """A Philox key half: an integer in [0, 2**64) (a malformed record is ignored, not trusted)."""
    return type(n) is int and 0 <= n < 1 << 64
