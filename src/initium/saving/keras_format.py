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
- Zip entries are read by exact name with size limits (``initium.saving.archive``).
- Weights are allocated without running the initializers (``skip_initialization``), then filled
  from the file; every shape is checked before any weight is written.
- initium adds ``metadata.json["initium"]``: the random generator, its transform version, the
  global seed and each weight's recorded Philox keys, so a loaded model can be re-initialized
  exactly as it was born (``layer.reinitialize(replay=True)``). Keras ignores the key.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import re
import zipfile
from typing import Any, Iterator

import numpy as np
import torch

from initium.saving.archive import MAX_JSON_BYTES, MAX_WEIGHTS_BYTES, SafeArchive, atomic_write, atomic_write_with

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
    for name, child in sorted(children, key=lambda item: _natural_key(item[0])):
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
        name = _snake(type(item).__name__)
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
                arrays = _optimizer_arrays(obj, model)
            else:
                arrays = [v.detach().cpu().numpy() for v in _own_variables(obj)]
            for i, arr in enumerate(arrays):
                group.create_dataset(str(i), data=arr)


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
             (_WEIGHTS, weights.getvalue())]
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


# ------------------------------------------------------------------------------------------- reading
def _open_h5(source: Any, where: str) -> Any:
    import h5py

    try:
        return h5py.File(source, "r")
    except (OSError, ValueError) as e:
        raise ValueError(f"Cannot read the weights in {where}: not a valid HDF5 file (truncated, corrupted or "
                         f"a different format). ({e})") from None


def _read_group(group: Any, where: str, gpath: str) -> list[np.ndarray]:
    import h5py

    keys = list(group.keys())
    if not all(k.isdigit() for k in keys):
        raise ValueError(f"{where}: the group `{gpath}` holds entries {keys}; expected datasets named 0, 1, ...")
    keys.sort(key=int)
    if keys != [str(i) for i in range(len(keys))]:
        raise ValueError(f"{where}: the group `{gpath}` has datasets {keys}; expected 0..{len(keys) - 1}.")
    out = []
    for k in keys:
        ds = group[k]
        if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "biuf":
            raise ValueError(f"{where}: `{gpath}/{k}` is not a numeric array.")
        out.append(ds[()])
    return out


def _load_h5(model: Any, f: Any, where: str, skip_mismatch: bool, load_optimizer: bool) -> None:
    """Check every weight of ``model`` against the file, then (only if all agree) assign them."""
    import h5py

    entries = _entries(model, include_optimizer=load_optimizer)
    plan: list[tuple[torch.Tensor, np.ndarray]] = []
    problems: list[str] = []
    expected_groups = set()
    optimizer_arrays = None
    for path, obj in entries:
        gpath = _vars_group(path)
        expected_groups.add(gpath)
        if path == "optimizer":
            if gpath in f:
                optimizer_arrays = _read_group(f[gpath], where, gpath)
            continue
        variables = _own_variables(obj)
        label = f"layer '{obj.name}' ({type(obj).__name__}, file group `{gpath}`)"
        group = f.get(gpath)
        if group is None or not isinstance(group, h5py.Group):
            if variables:
                problems.append(f"{label}: the file has no weights for it (expected {len(variables)}: "
                                f"{[v.name for v in variables]}).")
            continue
        arrays = _read_group(group, where, gpath)
        if len(arrays) != len(variables):
            problems.append(f"{label}: expected {len(variables)} weights {[v.name for v in variables]}, "
                            f"the file has {len(arrays)}.")
            continue
        for v, arr in zip(variables, arrays):
            if tuple(arr.shape) != tuple(v.shape):
                problems.append(f"{label}: weight '{v.name}' has shape {tuple(v.shape)} in the model but "
                                f"{tuple(arr.shape)} in the file.")
            else:
                plan.append((v, arr))
    extra = []

    def visit(name: str, node: Any) -> None:
        if isinstance(node, h5py.Group) and name.split("/")[-1] == "vars" and len(node) and name not in expected_groups:
            if not name.startswith("optimizer"):
                extra.append(name)

    f.visititems(visit)
    for name in extra:
        problems.append(f"the file has weights at `{name}` that match no layer of model '{model.name}'.")
    if problems and not skip_mismatch:
        raise ValueError(f"A total of {len(problems)} objects could not be loaded from {where} into model "
                         f"'{model.name}' (pass skip_mismatch=True to load the rest):\n- " + "\n- ".join(problems))
    with torch.no_grad():
        for v, arr in plan:
            v.copy_(torch.from_numpy(np.ascontiguousarray(arr)).to(dtype=v.dtype, device=v.device))
    if optimizer_arrays is not None and load_optimizer and getattr(model, "optimizer", None) is not None:
        _load_optimizer(model, optimizer_arrays, where, skip_mismatch)


def _load_optimizer(model: Any, arrays: list[np.ndarray], where: str, skip_mismatch: bool) -> None:
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build([v for v in model.trainable_weights])
    targets = optimizer.variables
    shapes_ok = len(targets) == len(arrays) and all(tuple(t.shape) == tuple(a.shape) for t, a in zip(targets, arrays))
    if not shapes_ok:
        if skip_mismatch:
            return
        raise ValueError(f"{where}: the optimizer state in the file ({len(arrays)} variables) does not match "
                         f"{type(optimizer).__name__} '{optimizer.name}' of this model ({len(targets)} variables). "
                         "Compile with the optimizer the file was saved with, or load with compile=False.")
    with torch.no_grad():
        for t, a in zip(targets, arrays):
            t.copy_(torch.as_tensor(np.asarray(a)).to(dtype=t.dtype, device=t.device))


def load_weights(model: Any, filepath: str | os.PathLike, skip_mismatch: bool = False) -> None:
    """Fill ``model``'s weights from a ``.weights.h5`` or ``.keras`` file (Keras's or initium's)."""
    path = os.fspath(filepath)
    if str(path).endswith(".keras"):
        with SafeArchive(path) as archive:
            data = archive.read(_WEIGHTS, MAX_WEIGHTS_BYTES)
        with _open_h5(io.BytesIO(data), path) as f:
            _load_h5(model, f, path, skip_mismatch, load_optimizer=True)
        return
    if not str(path).endswith(".weights.h5"):
        raise ValueError(f"File format not supported: filepath={path}. initium reads Keras 3 `.keras` files and "
                         "`.weights.h5` files.")
    if not os.path.exists(path):
        raise FileNotFoundError(f"No file found at {path}")
    if os.path.getsize(path) == 0:
        raise ValueError(f"The file {path} is empty; expected a `.weights.h5` HDF5 file.")
    with _open_h5(path, path) as f:
        _load_h5(model, f, path, skip_mismatch, load_optimizer=True)


def _parse_json(raw: bytes, name: str, path: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"`{name}` in {path} is not valid JSON ({e}).") from None


def load_model(filepath: str | os.PathLike, custom_objects: dict[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """Load a ``.keras`` archive written by Keras 3 or initium: architecture, weights, compile state.

    ``safe_mode`` is accepted for Keras compatibility; initium is always safe (``safe_mode=False``
    does not enable anything: no code stored in a file is ever run).
    """
    from initium import initializers, registry
    from initium.layers.serialization import deserialize

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
        weights = archive.read(_WEIGHTS, MAX_WEIGHTS_BYTES)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"`config.json` in {path} is not a model config (expected a dict with 'class_name').")
    try:
        with registry.custom_object_scope(custom_objects or {}), initializers.skip_initialization():
            model = deserialize(config, custom_objects=custom_objects)
    except (ValueError, TypeError) as e:
        raise type(e)(f"Cannot load {path}: {e}") from None
    except (KeyError, AttributeError, IndexError) as e:
        raise ValueError(f"Cannot load {path}: its config is malformed ({type(e).__name__}: {e}).") from None
    if not model.built:
        raise ValueError(f"Cannot load {path}: the model could not be built from its config (no input shape).")
    compile_config = config.get("compile_config")
    if compile and compile_config:
        model.compile_from_config(compile_config)
    with _open_h5(io.BytesIO(weights), path) as f:
        _load_h5(model, f, path, skip_mismatch=False, load_optimizer=bool(compile and compile_config))
    _restore_provenance(model, metadata.get("initium") if isinstance(metadata, dict) else None)
    return model


def _restore_provenance(model: Any, info: Any) -> None:
    """Give each weight the Philox keys it was born with (written by initium's save)."""
    model._loaded_provenance = info if isinstance(info, dict) else None
    if not isinstance(info, dict) or not isinstance(info.get("init_keys"), dict):
        return
    keys = info["init_keys"]
    for path, obj in _entries(model, include_optimizer=False):
        for i, v in enumerate(_own_variables(obj)):
            rec = keys.get(f"{_vars_group(path)}/{i}")
            if isinstance(rec, list) and all(isinstance(k, list) and len(k) == 2 and
                                             all(isinstance(n, int) for n in k) for k in rec):
                v.init_keys = tuple((int(a), int(b)) for a, b in rec)
