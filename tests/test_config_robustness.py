"""Hostile ``config.json`` / ``metadata.json``: loading never raises anything but a ``ValueError``
naming the file, builds nothing outside initium's registries, and refuses deep nesting before
recursing.

The generator below takes real saved models (Keras's fixtures and an initium-saved compiled
functional model) and rewrites one value at a time: a value of the wrong type at every key and
index, an injected ``{"module": "os", "class_name": "system"}``-style object at every dict, and
``os``/``system``/``builtins>eval`` at every ``module``/``class_name``/``registered_name``. CI loads
one variant per distinct key path (~300 loads, a few seconds); ``INITIUM_SLOW=1`` loads them all
(every path x every wrong value x every payload, ~18,000 loads, ~3 minutes).
"""

import base64
import copy
import json
import marshal
import os
import sys
import zipfile

import numpy as np
import pytest

import initium as keras
from initium import layers
from initium.layers.serialization import MAX_JSON_DEPTH, MAX_NESTING, MAX_STRUCTURE_DEPTH

DATA = os.path.join(os.path.dirname(__file__), "data", "keras")
KERAS_FIXTURES = ["mlp", "nested", "two_input", "lstm", "seed_cnn", "batchnorm"]
EXHAUSTIVE = os.environ.get("INITIUM_SLOW") == "1"
# Wrong values: other types, out-of-range numbers, containers. None of them is a size that would
# make a layer allocate gigabytes (10**30 is refused by torch at once), so every load stays fast.
WRONG = ["ten", 5, -1, 0, 2.5, None, True, [], {}, [5], {"a": 1}, 10**30, float("nan")]
PROBE_MODULE = "initium_hostile_probe"  # a module that would leave a marker if anything imported it


# --------------------------------------------------------------------------- the generator
def _paths(obj, prefix=()):
    """Every position in a JSON value, as a tuple of keys and indices (the root is ``()``)."""
    stack = [(obj, prefix)]
    while stack:
        value, path = stack.pop()
        yield path, value
        if isinstance(value, dict):
            stack.extend((v, path + (k,)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, path + (i,)) for i, v in enumerate(value))


def _replaced(config, path, value):
    if not path:
        return value
    out = copy.deepcopy(config)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def _signature(path):
    """A path with its list indices blanked: `layers/3/config/units` and `layers/5/config/units`
    are the same key of the same kind of entry, tried once in the CI sample."""
    return tuple("#" if isinstance(k, int) else k for k in path)


def _payloads(marker):
    code = f"import pathlib; pathlib.Path({str(marker)!r}).write_text('pwned')"
    blob = base64.b64encode(marshal.dumps(compile(code, "<x>", "exec"))).decode()
    return [
        {"module": "os", "class_name": "system", "config": {"command": f"touch {marker}"}, "registered_name": None},
        {"module": "builtins", "class_name": "eval", "config": {"source": code}, "registered_name": "builtins>eval"},
        {"module": "builtins", "class_name": "exec", "config": {"source": code}, "registered_name": "exec"},
        {"module": PROBE_MODULE, "class_name": "Probe", "config": {}, "registered_name": f"{PROBE_MODULE}>Probe"},
        {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
         "config": {"name": "lambda", "function": {"class_name": "__lambda__", "config": {"code": blob}}}},
        {"class_name": "__lambda__", "config": {"code": blob, "defaults": None, "closure": None}},
        {"module": "keras.layers", "class_name": "__class__", "config": {}, "registered_name": "__init__"},
    ]


_NAME_INJECTIONS = {"module": ["os", PROBE_MODULE, "builtins"], "class_name": ["system", "eval", "__import__"],
                    "registered_name": ["builtins>eval", "os>system", f"{PROBE_MODULE}>Probe"]}


def hostile_variants(config, marker, exhaustive=EXHAUSTIVE, seen=None):
    """``(description, config)`` pairs, each one value of ``config`` rewritten (see the module doc).

    Not exhaustive: one variant per new path signature (``seen`` is shared across configs, so a key
    tried in one model is not tried again in the next), the wrong value and payload rotating.
    """
    seen = set() if seen is None else seen
    payloads = _payloads(marker)
    turn = 0
    for path, value in _paths(config):
        sig = _signature(path)
        if not exhaustive and sig in seen:
            continue
        seen.add(sig)
        candidates = [w for w in WRONG if not (type(w) is type(value) and w == value)]
        if isinstance(value, dict):
            candidates += payloads
        if path and path[-1] in _NAME_INJECTIONS and isinstance(value, str):
            candidates += _NAME_INJECTIONS[path[-1]]
        chosen = candidates if exhaustive else [candidates[turn % len(candidates)]]
        turn += 1
        for wrong in chosen:
            yield f"{'/'.join(map(str, path)) or '<root>'} = {json.dumps(wrong)[:60]}", _replaced(config, path, wrong)


# --------------------------------------------------------------------------- loading
def _members(path):
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def _write(path, members, config=None, metadata=None):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            if name == "config.json" and config is not None:
                data = config if isinstance(config, (bytes, str)) else json.dumps(config)
            if name == "metadata.json" and metadata is not None:
                data = metadata if isinstance(metadata, (bytes, str)) else json.dumps(metadata)
            z.writestr(name, data)
    return str(path)


def _outcome(path):
    """None when the file loads, or when it is refused properly; else what went wrong."""
    try:
        keras.models.load_model(path)
    except ValueError as e:
        if path not in str(e):
            return f"ValueError without the file name: {e}"
        if "RecursionError" in str(e):
            return f"a RecursionError reached the loader instead of an explicit bound: {e}"
        if len(str(e)) > 5000:
            return f"a {len(str(e))}-character message: {str(e)[:200]}"
        return None
    except Exception as e:  # noqa: BLE001 - the point of the test
        return f"{type(e).__name__}: {e}"
    return None


@pytest.fixture(scope="module")
def initium_saved(tmp_path_factory):
    """A compiled functional model saved by initium: its config, compile config and provenance."""
    keras.random.set_random_seed(3)
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    x = layers.Concatenate()([layers.Dense(5, activation="relu")(a), b])
    model = keras.Model([a, b], [layers.Dense(2)(x), layers.Dense(1, activation="sigmoid")(x)])
    model.compile(optimizer="adam", loss=["mse", "binary_crossentropy"], metrics=[["mae"], ["accuracy"]])
    path = tmp_path_factory.mktemp("saved") / "initium.keras"
    model.save(str(path))
    return str(path)


@pytest.fixture
def guarded(tmp_path, monkeypatch):
    """A marker that injected code would write, and a probe module that would write it if imported."""
    marker = tmp_path / "marker"
    probe_dir = tmp_path / "probe"
    probe_dir.mkdir()
    (probe_dir / f"{PROBE_MODULE}.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('imported')\nclass Probe: pass\n")
    monkeypatch.syspath_prepend(str(probe_dir))
    yield marker
    assert not marker.exists(), f"hostile config ran code: {marker.read_text()}"
    assert PROBE_MODULE not in sys.modules


def test_every_hostile_config_variant_is_refused_with_a_value_error(initium_saved, guarded, tmp_path):
    sources = [os.path.join(DATA, f"{n}.keras") for n in KERAS_FIXTURES] + [initium_saved]
    seen: set = set()
    failures, count = [], 0
    target = str(tmp_path / "variant.keras")
    for source in sources:
        members = _members(source)
        for what, config in hostile_variants(json.loads(members["config.json"]), guarded, seen=seen):
            count += 1
            problem = _outcome(_write(target, members, config=config))
            if problem:
                failures.append(f"{os.path.basename(source)}: {what}: {problem[:300]}")
    assert count > 200
    assert not failures, f"{len(failures)} of {count} variants:\n" + "\n".join(failures[:20])


@pytest.mark.parametrize("metadata", [
    5, "x", [], None, {"initium": 5}, {"initium": {"init_keys": 5}}, {"keras_version": {"a": [1]}},
    {"initium": {"init_keys": {"layers/dense/vars/0": [[1, 10**30]]}}},
    {"initium": {"init_keys": {"layers/dense/vars/0": [["a", 1]], "vars/0": {"x": 1}}}},
    {"initium": {"init_keys": {"layers/dense/vars/0": [[True, -1]]}}},
    b"\xff\xfe not utf-8", "{not json", "[" * 5000 + "]" * 5000, "[" * (MAX_JSON_DEPTH + 5) + "]" * (MAX_JSON_DEPTH + 5),
], ids=lambda m: repr(m)[:40])
def test_bad_metadata_is_ignored_or_refused_naming_the_file(metadata, initium_saved, tmp_path):
    path = _write(tmp_path / "m.keras", _members(initium_saved), metadata=metadata)
    assert _outcome(path) is None
    if isinstance(metadata, dict):  # well-formed JSON: the model loads, malformed provenance is not trusted
        model = keras.models.load_model(path)
        for v in model.weights:
            assert all(0 <= k < 1 << 64 and type(k) is int for key in v.init_keys for k in key)


# --------------------------------------------------------------------------- located messages
def _mlp():
    return json.loads(_members(os.path.join(DATA, "mlp.keras"))["config.json"])


def _dense_config(config):
    return config["config"]["layers"][1]


@pytest.mark.parametrize("edit, expected", [
    (lambda c: _dense_config(c)["config"].update(units="ten"), r"at Sequential 'mlp' > Dense 'dense'\).*`units`"),
    (lambda c: c["config"].update(layers=5), r"at Sequential 'mlp'\).*'layers' must be a list"),
    (lambda c: _dense_config(c).update(config=[]), r"class 'Dense', 'config' must be a dict"),
    (lambda c: c["config"]["layers"][0]["config"].update(batch_shape="x"), r"InputLayer 'input_layer'\).*'x'"),
    (lambda c: _dense_config(c)["config"].update(trainable="yes"), r"Dense 'dense'\).*'trainable' must be"),
    (lambda c: _dense_config(c)["config"].update(dtype={"config": 5}), r"Dense 'dense'\).*'dtype' must be"),
    (lambda c: _dense_config(c).update(build_config={"input_shape": "x"}),
     r"Dense 'dense' > build_config\).*'build_config\['input_shape'\]' must be a shape"),
    (lambda c: _dense_config(c).update(module=[]), r"'module' must be a string or null"),
    (lambda c: _dense_config(c).update(class_name=5), r"'class_name' must be a string"),
    (lambda c: c["compile_config"].update(optimizer="nope"), r"at compile_config\).*optimizer identifier: nope"),
    (lambda c: c["compile_config"].update(loss=5), r"at compile_config\).*cannot read 5"),
    (lambda c: c.update(config=None), r"(?s)could not be loaded from .*match no layer"),  # an empty Sequential
    (lambda c: c.update(config=5), r"'config' must be a dict or null"),
])
def test_errors_name_the_file_the_layer_and_the_key(edit, expected, tmp_path):
    config = _mlp()
    edit(config)
    path = _write(tmp_path / "m.keras", _members(os.path.join(DATA, "mlp.keras")), config=config)
    with pytest.raises(ValueError, match=expected) as info:
        keras.models.load_model(path)
    assert path in str(info.value)


def test_a_huge_value_is_not_quoted_whole(tmp_path):
    config = _mlp()
    _dense_config(config)["config"]["units"] = "x" * 1_000_000
    path = _write(tmp_path / "m.keras", _members(os.path.join(DATA, "mlp.keras")), config=config)
    with pytest.raises(ValueError, match=r"`units`.*characters \.\.\.\]") as info:
        keras.models.load_model(path)
    assert path in str(info.value) and len(str(info.value)) < 2500


def test_functional_config_keys_are_checked(tmp_path):
    members = _members(os.path.join(DATA, "two_input.keras"))
    base = json.loads(members["config.json"])
    cases = {
        "layers": (lambda c: c["config"].update(layers={"a": 1}), r"'layers' must be a list"),
        "entry name": (lambda c: c["config"]["layers"][2].update(name=5), r"needs a string 'name'"),
        "duplicate": (lambda c: c["config"]["layers"][3].update(name=c["config"]["layers"][2]["name"]),
                      r"two entries named"),
        "nodes": (lambda c: c["config"]["layers"][2].update(inbound_nodes=5), r"'inbound_nodes' must be a list"),
        "history": (lambda c: c["config"]["layers"][2]["inbound_nodes"][0]["args"][0]["config"].update(
            keras_history=["x", -1, 0]), r"\[layer_name, node_index, tensor_index\]"),
        "tensor index": (lambda c: c["config"]["layers"][2]["inbound_nodes"][0]["args"][0]["config"].update(
            keras_history=[c["config"]["layers"][0]["name"], 0, 7]), r"has 1 output\(s\); the config asks for output 7"),
        "outputs": (lambda c: c["config"].update(output_layers=["nowhere", 0, 0]), r"never makes"),
        "inputs": (lambda c: c["config"].update(input_layers=5), r"'input_layers' must be"),
    }
    for what, (edit, expected) in cases.items():
        config = copy.deepcopy(base)
        edit(config)
        path = _write(tmp_path / "f.keras", members, config=config)
        with pytest.raises(ValueError, match=expected) as info:
            keras.models.load_model(path)
        assert path in str(info.value), what


def test_registered_non_layer_classes_and_functions_are_not_built(tmp_path, guarded):
    """A name that resolves (registry or custom_objects) to something that is not a Layer class is
    refused before anything of it is called."""

    @keras.saving.register_keras_serializable(package="Hostile")
    class Sneaky:
        def get_config(self):
            return {}

        @classmethod
        def from_config(cls, config):
            guarded.write_text("Sneaky.from_config ran")
            return layers.Dense(2)

    def not_a_class(config):
        guarded.write_text("function ran")

    members = _members(os.path.join(DATA, "mlp.keras"))
    config = _mlp()
    _dense_config(config).update(class_name="Sneaky", registered_name="Hostile>Sneaky", module=None)
    with pytest.raises(ValueError, match=r"resolves to .*Sneaky.*not a Layer class"):
        keras.models.load_model(_write(tmp_path / "a.keras", members, config=config))
    _dense_config(config).update(class_name="Trojan", registered_name=None)
    with pytest.raises(ValueError, match=r"not a Layer class"):
        keras.models.load_model(_write(tmp_path / "b.keras", members, config=config), custom_objects={"Trojan": not_a_class})


def test_user_calls_keep_the_constructors_exception_types():
    """Keras's semantics: only loading a file normalises errors; deserialize() from code does not."""
    with pytest.raises(TypeError, match="units"):
        layers.Dense()
    with pytest.raises(TypeError, match="units"):
        layers.deserialize({"module": "keras.layers", "class_name": "Dense", "config": {"name": "d"}})
    with pytest.raises(ValueError, match="units"):
        layers.deserialize({"module": "keras.layers", "class_name": "Dense", "config": {"units": "ten"}})


# --------------------------------------------------------------------------- nesting
def _seq(inner, i):
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": f"s{i}", "layers": [inner]}}


def _nested_sequential_config(levels):
    config = {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 2},
              "registered_name": None, "build_config": {"input_shape": [None, 3]}}
    for i in range(levels):
        config = _seq(config, i)
    return config


def _deep(n, leaf=1):
    value = leaf
    for _ in range(n):
        value = [value]
    return value


@pytest.mark.parametrize("text, expected", [
    ("[" * 2000 + "]" * 2000, "too deeply to parse"),
    ("[" * 200_000 + "]" * 200_000, "too deeply to parse"),
    ('{"a":' * 3000 + "1" + "}" * 3000, "too deeply to parse"),
    ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), f"nests lists and dicts {MAX_JSON_DEPTH + 1} deep"),
])
def test_deep_json_is_refused_at_parse_time(text, expected, tmp_path):
    path = _write(tmp_path / "d.keras", _members(os.path.join(DATA, "mlp.keras")), config=text)
    with pytest.raises(ValueError, match=expected) as info:
        keras.models.load_model(path)
    assert path in str(info.value)
    with pytest.raises(ValueError, match=expected):
        keras.models.model_from_json(text)


def test_a_model_nested_past_the_limit_is_refused_before_recursing(tmp_path):
    config = _nested_sequential_config(200)
    path = _write(tmp_path / "deep.keras", _members(os.path.join(DATA, "mlp.keras")), config=config)
    with pytest.raises(ValueError, match=rf"Layers nest more than {MAX_NESTING} levels deep") as info:
        keras.models.load_model(path)
    assert path in str(info.value) and "RecursionError" not in str(info.value)
    assert "(more)" not in str(info.value) and "more)" in str(info.value)  # the path is shortened
    with pytest.raises(ValueError, match=rf"more than {MAX_NESTING} levels"):
        keras.models.model_from_json(json.dumps(_nested_sequential_config(MAX_NESTING + 1)))
    keras.models.model_from_json(json.dumps(_nested_sequential_config(MAX_NESTING)))  # the limit itself is fine


def test_a_legitimately_deep_model_saved_by_initium_loads(tmp_path):
    keras.random.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    for _ in range(MAX_NESTING - 1):
        model = keras.Sequential([model])
    model.build((None, 3))
    path = str(tmp_path / "deep.keras")
    model.save(path)
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(keras.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("where", ["layer_argument", "build_shape", "node_args", "output_layers", "compile_loss"])
def test_deep_values_inside_a_config_are_refused_without_recursion_errors(where, tmp_path):
    """Values nested well past the structure bound but inside the JSON bound, at places the loader
    walks recursively: each is refused by an explicit check, never by a RecursionError (without the
    structure bound, the shape, node-argument, endpoint and compile-config walks do end in one)."""
    deep = _deep(MAX_JSON_DEPTH - 20)
    assert MAX_STRUCTURE_DEPTH < MAX_JSON_DEPTH - 20
    name = "two_input" if where in ("node_args", "output_layers") else "mlp"
    members = _members(os.path.join(DATA, f"{name}.keras"))
    config = json.loads(members["config.json"])
    entry = config["config"]["layers"][2]
    if where == "layer_argument":
        entry["config"]["units"] = deep
    elif where == "build_shape":
        entry["build_config"] = {"input_shape": deep}
    elif where == "node_args":
        entry["inbound_nodes"][0]["args"] = [deep]
    elif where == "output_layers":
        config["config"]["output_layers"] = deep
    else:
        config["compile_config"]["loss"] = deep
    path = _write(tmp_path / "v.keras", members, config=config)
    with pytest.raises(ValueError) as info:
        keras.models.load_model(path)
    assert path in str(info.value) and "RecursionError" not in str(info.value)
