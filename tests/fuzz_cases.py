"""Hostile and damaged Keras files, and a subprocess that loads them under a memory cap.

Used by tests/test_fuzz_files.py. :func:`generate` writes a corpus under a directory and returns
its cases; :func:`run_cases` loads them in batches, each batch in a fresh ``python`` process
(``python tests/fuzz_cases.py CASES.json``) whose address space is capped (``RLIMIT_AS``) at the
size it has after importing torch and initium plus :data:`MARGIN`, and which reports one JSON line
per case. A case that hangs or crashes its process is reported as such and the batch resumes after
it in a new process.

A case is a dict: ``name``, ``file`` (the input), ``op`` (``"weights"``: ``target.load_weights(file)``
into the model loaded from ``target``; ``"model"``: ``load_model(file)``), ``expect`` (``"error"``: must
be refused; ``"clean"``: must load; ``"any"``: either), and optionally ``marker`` (a path that must
not exist afterwards: code injection). The contract checked for every case: a clean load or a
``ValueError`` that names the file; after an error, the target's weights and optimizer state are
bit-identical to before; after a clean load, no weight holds the bytes of :data:`SENTINEL` (the
content of every file that a hostile input points at).
"""

from __future__ import annotations

import io
import json
import os
import random
import select
import subprocess
import sys
import zipfile
import zlib

import numpy as np

MARGIN = 1 << 30  # address space allowed above the worker's own after imports (the models are tiny)
SENTINEL_BYTE = b"K"  # a palindromic byte: its float32 (13323083.0) reads the same in either byte order
SENTINEL = SENTINEL_BYTE * (1 << 16)
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "data", "keras")
KERNEL, BIAS = "layers/dense/vars/0", "layers/dense/vars/1"  # in every base file: Dense(3) on 4 (or 8) inputs


# =========================================================================================== helpers
def _h5(build) -> bytes:
    """The bytes of an in-memory HDF5 file made by ``build(f)``."""
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        build(f)
    return buf.getvalue()


def _mutate_h5(raw: bytes, mutate) -> bytes:
    """A copy of the HDF5 file ``raw`` after ``mutate(f)`` (opened read-write)."""
    import h5py

    buf = io.BytesIO(raw)
    with h5py.File(buf, "r+") as f:
        mutate(f)
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _members(keras_path: str) -> dict[str, bytes]:
    with zipfile.ZipFile(keras_path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _flip(raw: bytes, at: int, value: int) -> bytes:
    out = bytearray(raw)
    out[at] ^= value or 0xFF
    return bytes(out)


def replace(name, make):
    """A mutation that replaces dataset (or group) ``name`` by ``make(f, name)``."""
    def mutate(f):
        del f[name]
        make(f, name)
    return mutate


def nested_groups(depth):
    """A mutation that adds a chain of ``depth`` nested groups ``g/g/...``."""
    def mutate(f):
        g = f
        for _ in range(depth):
            g = g.create_group("g")
    return mutate


def one_chunk_kernel(nbytes):
    """A maker of a right-shaped (4, 3) kernel stored in one gzip chunk that inflates to ``nbytes`` zeros."""
    def make(f, name):
        side = int((nbytes // 4) ** 0.5)
        ds = f.create_dataset(name, shape=(4, 3), maxshape=(None, None), chunks=(side, side), dtype="f4",
                              compression="gzip")
        packer, zeros = zlib.compressobj(1), bytes(1 << 20)
        parts = [packer.compress(zeros) for _ in range(side * side * 4 // len(zeros))]
        parts.append(packer.compress(bytes(side * side * 4 % len(zeros))) + packer.flush())
        ds.id.write_direct_chunk((0, 0), b"".join(parts))
    return make


# =========================================================================================== bases
def _bases(root: str) -> dict[str, dict[str, str]]:
    """Clean files to damage: one written by initium (Adam state built), two by real Keras."""
    import initium as keras
    from initium import layers

    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.BatchNormalization(), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).standard_normal((8, 4)).astype("float32")
    model.fit(x, x[:, :2], epochs=1, batch_size=8, verbose=0)
    ours = {"keras": os.path.join(root, "base.keras"), "weights": os.path.join(root, "base.weights.h5")}
    model.save(ours["keras"])
    model.save_weights(ours["weights"])
    out = {"initium": ours}
    for name in ("batchnorm", "nested"):
        out[name] = {"keras": os.path.join(FIXTURES, f"{name}.keras"),
                     "weights": os.path.join(FIXTURES, f"{name}.weights.h5")}
    return out


def _sentinels(root: str) -> dict[str, str]:
    """Files a hostile input points at: raw bytes, an HDF5 file of them, and a FIFO nobody writes to."""
    import h5py

    raw = os.path.join(root, "sentinel.bin")
    with open(raw, "wb") as f:
        f.write(SENTINEL)
    h5 = os.path.join(root, "sentinel.h5")
    values = np.frombuffer(SENTINEL, dtype="<f4")
    with h5py.File(h5, "w") as f:
        f["kernel"] = values[:12].reshape(4, 3)
        f["vars/0"] = values[:12].reshape(4, 3)
        f["vars/1"] = values[:3]
    fifo = os.path.join(root, "fifo")
    os.mkfifo(fifo)
    return {"raw": raw, "h5": h5, "fifo": fifo}


# =========================================================================================== h5 cases
def _hostile_h5(s: dict[str, str], giant_chunk: int) -> dict[str, tuple[object, str]]:
    """name -> (mutation of the initium base weights file, expectation)."""
    import h5py

    def external(target, size):
        return lambda f, n: f.create_dataset(n, shape=(4, 3), dtype="<f4", external=[(target, 0, size)])

    def virtual(f, n):
        layout = h5py.VirtualLayout(shape=(4, 3), dtype="<f4")
        layout[:] = h5py.VirtualSource(s["h5"], "kernel", shape=(4, 3))
        f.create_virtual_dataset(n, layout)

    def long_rows(f, n):  # chunks far longer than the dataset: many chunks of mostly padding
        f.create_dataset(n, data=np.ones((4, 3), "f4"), maxshape=(None, None), chunks=(1, 1 << 20),
                         compression="gzip")

    def cycle(f):
        f["layers/dense/loop"] = f["layers"]

    def shared(f):
        f["layers/dense/vars/0_copy"] = f[KERNEL]

    def dtype_as(dt, data=None):
        return lambda f, n: f.create_dataset(n, data=np.zeros((4, 3), dt) if data is None else data)

    def strings(f, n):
        f.create_dataset(n, data=np.array([["a"] * 3] * 4, dtype=object), dtype=h5py.string_dtype())

    def compound(f, n):
        f.create_dataset(n, data=np.zeros((4, 3), dtype=[("a", "<f4"), ("b", "<i4")]))

    def key(name):
        def mutate(f):
            f.move(KERNEL, f"layers/dense/vars/{name}")
        return mutate

    def group_for_dataset(f, n):
        f.create_group(n)

    def scaleoffset(f, n):
        f.create_dataset(n, data=np.zeros((4, 3), "f4"), scaleoffset=2)

    huge = (10 ** 12,)
    return {
        "external_storage_file": (replace(KERNEL, external(s["raw"], 48)), "error"),
        "external_storage_proc": (replace(KERNEL, external("/proc/self/environ", 48)), "error"),
        "external_storage_fifo": (replace(KERNEL, external(s["fifo"], 48)), "error"),
        "external_link_dataset": (replace(KERNEL, lambda f, n: f.__setitem__(n, h5py.ExternalLink(s["h5"], "kernel"))),
                                  "error"),
        "external_link_group": (replace("layers/dense/vars", lambda f, n: f.__setitem__(
            n, h5py.ExternalLink(s["h5"], "vars"))), "error"),
        "soft_link_inside": (replace(BIAS, lambda f, n: f.__setitem__(n, h5py.SoftLink(
            "/layers/batch_normalization/vars/0"))), "error"),
        "soft_link_dangling": (replace(KERNEL, lambda f, n: f.__setitem__(n, h5py.SoftLink("/nowhere"))), "error"),
        "soft_link_root_cycle": (lambda f: f.__setitem__("layers/dense/up", h5py.SoftLink("/")), "error"),
        "virtual_dataset": (replace(KERNEL, virtual), "error"),
        "gzip_huge_declared": (replace(KERNEL, lambda f, n: f.create_dataset(
            n, shape=(600_000_000,), dtype="f4", chunks=(1 << 20,), compression="gzip")), "error"),
        "declared_1e12": (replace(KERNEL, lambda f, n: f.create_dataset(n, shape=huge, dtype="f4",
                                                                         chunks=(1 << 16,))), "error"),
        "giant_chunk": (replace(KERNEL, one_chunk_kernel(giant_chunk)), "error"),
        "long_row_chunks": (replace(KERNEL, long_rows), "error"),
        "unknown_filter_scaleoffset": (replace(KERNEL, scaleoffset), "error"),
        "nested_groups_3000": (nested_groups(3000), "error"),
        "nested_groups_40": (nested_groups(40), "clean"),  # a stray group tree within the depth limit is ignored
        "hard_link_cycle": (cycle, "error"),
        "hard_link_shared": (shared, "error"),
        "big_endian_float": (replace(KERNEL, dtype_as(">f4")), "clean"),
        "big_endian_double": (replace(KERNEL, dtype_as(">f8")), "clean"),
        "int_kernel": (replace(KERNEL, dtype_as("<i2")), "clean"),
        "bool_kernel": (replace(KERNEL, dtype_as("?")), "clean"),
        "long_double": (replace(KERNEL, dtype_as(np.longdouble)), "error"),
        "complex": (replace(KERNEL, dtype_as("<c8")), "error"),
        "string": (replace(KERNEL, strings), "error"),
        "compound": (replace(KERNEL, compound), "error"),
        "null_dataspace": (replace(KERNEL, lambda f, n: f.create_dataset(n, data=h5py.Empty("f4"))), "error"),
        "scalar_for_vector": (replace(BIAS, lambda f, n: f.create_dataset(n, data=np.float32(1))), "error"),
        "group_for_dataset": (replace(KERNEL, group_for_dataset), "error"),
        "dataset_for_group": (replace("layers/dense/vars", lambda f, n: f.create_dataset(n, data=[1.0])), "error"),
        "key_superscript_two": (key("\u00b2"), "error"),
        "key_leading_zero": (key("00"), "error"),
        "key_negative": (key("-1"), "error"),
        "key_space": (key(" 0"), "error"),
        "key_fullwidth_digit": (key("\uff10"), "error"),
        "key_huge_number": (key("9" * 5000), "error"),
        "key_unicode_name": (lambda f: f.move("layers/dense", "layers/d\u00e9nse \u2603"), "error"),
        "extra_vars_group": (lambda f: f.create_dataset("layers/ghost/vars/0", data=[1.0]), "error"),
        "optimizer_wrong_shapes": (replace("optimizer/vars/3", dtype_as("<f4", np.zeros((7,), "f4"))), "error"),
        "optimizer_missing_var": (lambda f: f.__delitem__("optimizer/vars/13"), "error"),
        "optimizer_unbuilt_state": (_unbuilt_optimizer, "clean"),
        "large_attribute": (lambda f: f["layers"].attrs.create("junk", np.zeros(4000, "f8")), "clean"),
    }


def _split_driver(root: str, weights: str) -> bytes:
    """The metadata half of a file written with HDF5's split driver: its raw data lives in another file."""
    import h5py

    stem = os.path.join(root, "split")
    with h5py.File(weights, "r") as src, h5py.File(stem, "w", driver="split") as f:
        for name in src:
            src.copy(name, f)
    return _bytes(stem + "-m.h5")


def _unbuilt_optimizer(f):
    """What Keras writes when a compiled model is saved before its optimizer is built."""
    for k in list(f["optimizer/vars"]):
        if k not in ("0", "1"):
            del f[f"optimizer/vars/{k}"]


# =========================================================================================== config cases
def _layer(cls, **config):
    return {"module": "keras.layers", "class_name": cls, "config": config, "registered_name": None}


def _sequential(layers, name="sequential", batch_shape=(None, 4)):
    inp = _layer("InputLayer", batch_shape=list(batch_shape), dtype="float32", name="input_layer")
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": name, "layers": [inp, *layers]}, "build_config": {"input_shape": list(batch_shape)}}


def _config_cases(base_config: dict, marker: str) -> dict[str, object]:
    """name -> config.json content (a dict, or raw bytes)."""
    os_system = {"module": "os", "class_name": "system", "config": {"command": f"touch {marker}"},
                 "registered_name": "os.system"}
    dense = base_config["config"]["layers"][1]

    def with_dense(**changes):
        cfg = json.loads(json.dumps(base_config))
        cfg["config"]["layers"][1]["config"].update(changes)
        return cfg

    deep_list = b"[" * 2000 + b"]" * 2000
    deep_dict = b'{"a":' * 2000 + b"1" + b"}" * 2000
    nested_seq = _layer("Dense", units=2, name="d")
    for i in range(200):
        nested_seq = {**_sequential([nested_seq], name=f"s{i}"), "module": "keras"}
    return {
        "config_is_list": [], "config_is_string": "Sequential", "config_is_number": 7,
        "class_name_number": {"class_name": 5, "config": {}},
        "config_config_list": {"class_name": "Sequential", "config": []},
        "layers_is_string": {"class_name": "Sequential", "config": {"name": "s", "layers": "dense"}},
        "layer_entry_number": {"class_name": "Sequential", "config": {"name": "s", "layers": [3]}},
        "units_string": with_dense(units="3"), "units_negative": with_dense(units=-1),
        "units_float": with_dense(units=2.5), "units_huge": with_dense(units=10 ** 12),
        "units_bool": with_dense(units=True), "activation_number": with_dense(activation=3),
        "batch_shape_huge": _sequential([dense], batch_shape=(None, 10 ** 12)),
        "batch_shape_string": _sequential([dense], batch_shape="x"),
        "compile_config_string": {**base_config, "compile_config": "adam"},
        "compile_optimizer_number": {**base_config, "compile_config": {**(base_config.get("compile_config") or {}),
                                                                       "optimizer": 5}},
        "json_nested_list_2000": deep_list, "json_nested_dict_2000": deep_dict,
        "sequential_nested_200": nested_seq,
        "inject_os_system_layer": _sequential([os_system]),
        "inject_os_system_activation": with_dense(activation=os_system),
        "inject_builtins_eval": with_dense(kernel_initializer={"module": "builtins", "class_name": "eval",
                                                               "config": {"source": f"open({marker!r}, 'w')"}}),
        "inject_subprocess_popen": _sequential([{"module": "subprocess", "class_name": "Popen",
                                                 "config": {"args": ["touch", marker]}, "registered_name": None}]),
        "inject_lambda": _sequential([{"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
                                       "config": {"name": "l", "function": {"class_name": "__lambda__",
                                                                            "config": {"code": "AAAA"}}}}]),
        "inject_initium_internal": _sequential([{"module": "initium.saving.keras_format", "class_name": "load_model",
                                                 "config": {"filepath": marker}, "registered_name": None}]),
    }


# =========================================================================================== the corpus
def generate(root: str, slow: bool = False) -> list[dict]:
    """Write the corpus under ``root`` and return its cases, the memory-cap canary first.

    ``slow``: hundreds of byte flips over whole files and a 1 GiB chunk; otherwise a few flips in
    each file's first 4 KiB (where HDF5 keeps its metadata) and a 64 MiB chunk.
    """
    os.makedirs(root, exist_ok=True)
    bases = _bases(root)
    sentinels = _sentinels(root)
    marker = os.path.join(root, "MARKER")
    cases: list[dict] = [{"name": "canary", "file": os.path.join(root, "canary"), "op": "canary", "target": None,
                          "expect": "capped", "marker": marker}]

    def add(name, data, op, target, expect="any", ext=None):
        ext = ext or (".keras" if op == "model" or data[:2] == b"PK" else ".weights.h5")
        path = os.path.join(root, f"{name}{ext}")
        with open(path, "wb") as f:
            f.write(data)
        cases.append({"name": name, "file": path, "op": op, "target": target, "expect": expect, "marker": marker})

    def add_both(name, h5_bytes, base, expect="any"):
        """A weights file alone, and the same bytes as the `model.weights.h5` of the base archive."""
        add(f"{name}.h5", h5_bytes, "weights", base["keras"], expect, ".weights.h5")
        archive = _zip({**_members(base["keras"]), "model.weights.h5": h5_bytes})
        add(f"{name}.keras_weights", archive, "weights", base["keras"], expect, ".keras")
        add(f"{name}.keras_model", archive, "model", None, expect, ".keras")

    ours = bases["initium"]
    raw_h5 = _bytes(ours["weights"])
    for name, (mutate, expect) in _hostile_h5(sentinels, (1 << 30) if slow else (64 << 20)).items():
        add_both(name, _mutate_h5(raw_h5, mutate), ours, expect)

    add_both("split_driver", _split_driver(root, ours["weights"]), ours, "error")

    members = _members(ours["keras"])
    base_config = json.loads(members["config.json"])
    for name, config in _config_cases(base_config, marker).items():
        data = config if isinstance(config, bytes) else json.dumps(config).encode()
        add(f"config.{name}", _zip({**members, "config.json": data}), "model", None)
    add("metadata.list", _zip({**members, "metadata.json": b"[]"}), "model", None, "clean")

    rng = random.Random(20240611)
    n_flips = 400 if slow else 6
    for base_name, base in bases.items():
        h5_bytes, zipped = _bytes(base["weights"]), _bytes(base["keras"])
        keras_members = _members(base["keras"])
        cuts = sorted({1, 8, 96, 512, 2048, len(h5_bytes) // 2, len(h5_bytes) - 1})
        for cut in cuts if slow or base_name == "initium" else cuts[2:4]:
            add(f"truncate.{base_name}.h5.{cut}", h5_bytes[:cut], "weights", base["keras"], "error", ".weights.h5")
            add(f"truncate.{base_name}.keras.{cut}", zipped[: cut * len(zipped) // len(h5_bytes)], "model", None,
                "error", ".keras")
            add(f"truncate.{base_name}.inner.{cut}", _zip({**keras_members, "model.weights.h5": h5_bytes[:cut]}),
                "weights", base["keras"], "error", ".keras")
        for _ in range(n_flips):
            at, value = rng.randrange(min(len(h5_bytes), 4096) if not slow else len(h5_bytes)), rng.randrange(256)
            flipped = _flip(h5_bytes, at, value)
            add(f"flip.{base_name}.h5.{at}_{value}", flipped, "weights", base["keras"], "any", ".weights.h5")
            add(f"flip.{base_name}.inner.{at}_{value}", _zip({**keras_members, "model.weights.h5": flipped}),
                "model", None, "any", ".keras")
        for entry in ("config.json", "metadata.json"):
            text = keras_members[entry]
            for _ in range(n_flips // 2 if not slow else 60):
                at, value = rng.randrange(len(text)), rng.randrange(256)
                add(f"flip.{base_name}.{entry}.{at}_{value}", _zip({**keras_members, entry: _flip(text, at, value)}),
                    "model", None)
    return cases


# =========================================================================================== running
def run_cases(cases: list[dict], per_case_s: float = 60.0, batch: int = 250) -> list[dict]:
    """Every case's result, loading each batch in a fresh capped process; hangs and crashes reported."""
    results: list[dict] = []
    pending = list(cases)
    while pending:
        chunk, pending = pending[:batch], pending[batch:]
        done, why = _run_batch(chunk, per_case_s, len(results))
        results += done
        if len(done) < len(chunk):  # the process died or hung on chunk[len(done)]: resume after it
            results.append({"name": chunk[len(done)]["name"], "outcome": "died", "detail": why})
            pending = chunk[len(done) + 1:] + pending
    return results


def _run_batch(chunk: list[dict], per_case_s: float, serial: int) -> tuple[list[dict], str]:
    """Run ``chunk`` in one worker process: the results it reported, and why it stopped early (if it did).

    The worker prints a line per case; ``per_case_s`` seconds without one (after a start-up allowance)
    is a hang, and the worker is killed.
    """
    spec = os.path.join(os.path.dirname(chunk[0]["file"]), f".batch_{serial}.json")
    with open(spec, "w") as f:
        json.dump(chunk, f)
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "1", "KERAS_BACKEND": "torch"}
    done: list[dict] = []
    with open(spec + ".err", "w+b") as err, subprocess.Popen([sys.executable, os.path.abspath(__file__), spec],
                                                             stdout=subprocess.PIPE, stderr=err, env=env) as proc:
        wait = per_case_s + 120  # the first case also waits for torch's import
        while True:
            ready, _, _ = select.select([proc.stdout], [], [], wait)
            if not ready:
                proc.kill()
                proc.wait()
                return done, f"no result within {per_case_s:.0f} s (a hang)"
            line = proc.stdout.readline()
            if not line:
                break
            done.append(json.loads(line))
            wait = per_case_s
        proc.wait()
        err.seek(0)
        return done, f"exit status {proc.returncode}: {err.read().decode(errors='replace')[-2000:]}"


# =========================================================================================== the worker
def _cap_memory() -> int:
    """Cap this process's address space at its current size plus MARGIN; return that baseline (bytes)."""
    import resource

    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + MARGIN, vm + MARGIN))
    return vm


_TARGETS: dict[str, tuple] = {}  # target path -> (model, its state as loaded): loaded once per worker


def _target(path: str | None):
    """The model to load into, restored to its state as loaded from ``path`` (so each case starts alike)."""
    import torch

    import initium as keras

    if path is None:
        return None
    if path not in _TARGETS:
        model = keras.models.load_model(path)
        with torch.no_grad():  # move every weight and optimizer variable off the file's values, so a write shows
            for t in _state(model, clone=False):
                if isinstance(t, torch.Tensor):
                    t.add_(1)
        _TARGETS[path] = (model, _state(model))
    model, state = _TARGETS[path]
    with torch.no_grad():
        for live, saved in zip(_state(model, clone=False), state):
            if isinstance(live, torch.Tensor):
                live.copy_(saved)
    return model


def _state(model, clone: bool = True) -> list:
    if model is None:
        return []
    tensors = list(model.weights)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        tensors += list(optimizer.variables)
    tensors = [t.detach().clone() if clone else t for t in tensors]
    return tensors + ([bool(optimizer.built)] if optimizer is not None else [])


def _same(a: list, b: list) -> bool:
    import torch

    return len(a) == len(b) and all(torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y for x, y in zip(a, b))


def _holds_sentinel(model) -> bool:
    """Whether two adjacent values of any weight read as the sentinel's bytes, in any numeric dtype."""
    candidates = {float(np.frombuffer(SENTINEL[:8], dt)[0]) for dt in
                  ("<f4", ">f4", "<f8", "<f2", "<i4", "<i8", "<i2", "u1", "i1", "<u2", "<u4", "<u8")}
    for t in _state(model):
        if hasattr(t, "numel") and t.numel() > 1:
            flat = t.detach().double().flatten().numpy()
            hit = np.isin(flat, list(candidates))
            if (hit[:-1] & hit[1:]).any():
                return True
    return False


def _run_one(case: dict) -> dict:
    import warnings

    import initium as keras

    if case["op"] == "canary":  # proves the cap holds: twice the margin cannot be allocated
        try:
            bytearray(2 * MARGIN)
            return {"name": case["name"], "outcome": "uncapped"}
        except MemoryError:
            return {"name": case["name"], "outcome": "capped"}
    target = _target(case["target"]) if case["op"] == "weights" else None
    before = _state(target)
    result = {"name": case["name"]}
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            if target is not None:
                target.load_weights(case["file"])
                loaded = target
            else:
                loaded = keras.models.load_model(case["file"])
        result.update(outcome="clean", sentinel=_holds_sentinel(loaded))
    except ValueError as e:
        result.update(outcome="error", names_file=case["file"] in str(e), untouched=_same(before, _state(target)),
                      detail=str(e)[:400])
    except Exception as e:  # noqa: BLE001 - a raw error is the finding being recorded
        result.update(outcome="raw", detail=f"{type(e).__name__}: {str(e)[:400]}")
    result["marker"] = os.path.exists(case["marker"])
    return result


def _worker(spec: str) -> None:
    import torch

    import initium  # noqa: F401 - imported before measuring the baseline

    torch.set_num_threads(1)
    import h5py  # noqa: F401

    with open(spec) as f:
        cases = json.load(f)
    baseline = _cap_memory()
    for case in cases:
        result = _run_one(case)
        result["baseline"] = baseline
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))
    _worker(sys.argv[1])
