"""``initium.datasets`` loaders against tiny local fixtures in Keras's file formats.

The fixtures are built by ``tests/data/make_dataset_fixtures.py`` into a temporary folder and served
by an HTTP server on 127.0.0.1; each loader's ``ORIGIN`` (and hash) is pointed at it and
``KERAS_HOME`` at a temporary folder, so every test really downloads through ``get_file`` and no
test touches the internet. Where Keras's own loader can run on the same file (all but CIFAR-10,
which hard-codes 50,000 images), its output is the oracle: ``keras.src.datasets.<name>.get_file``
is replaced by one that returns our cached copy.
"""

from __future__ import annotations

import functools
import http.server
import importlib
import inspect
import io
import pickle
import sys
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

import initium
from initium.datasets import _common

keras = pytest.importorskip("keras")
sys.path.insert(0, str(Path(__file__).parent / "data"))
import make_dataset_fixtures  # noqa: E402

LOADERS = ["boston_housing", "california_housing", "cifar10", "cifar100", "fashion_mnist", "imdb", "mnist", "reuters"]


# ----------------------------------------------------------------------------------------- fixtures
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("fixtures")
    manifest = make_dataset_fixtures.build(root)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/", manifest
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def local(served, tmp_path, monkeypatch):
    """Point every loader at the local server (with the fixtures' hashes) and the cache at tmp_path."""
    root, base, manifest = served
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    D = initium.datasets
    for module, name in ((D.cifar10, "cifar-10-python.tar.gz"), (D.cifar100, "cifar-100-python.tar.gz"),
                         (D.mnist, "mnist.npz"), (D.imdb, "imdb.npz"), (D.reuters, "reuters.npz"),
                         (D.boston_housing, "boston_housing.npz"), (D.california_housing, "california_housing.npz")):
        monkeypatch.setattr(module, "ORIGIN", base + name)
        monkeypatch.setattr(module, "FILE_HASH", manifest[name]["sha256"])
    for module, name in ((D.imdb, "imdb_word_index.json"), (D.reuters, "reuters_word_index.json")):
        monkeypatch.setattr(module, "WORD_INDEX_ORIGIN", base + name)
        monkeypatch.setattr(module, "WORD_INDEX_HASH", manifest[name]["md5"])
    monkeypatch.setattr(D.fashion_mnist, "ORIGIN_FOLDER", base)
    return tmp_path / "keras_home" / "datasets"


def _keras_on(monkeypatch, name, path):
    """Keras's loader ``name``, its ``get_file`` returning ``path`` (our cached copy)."""
    module = importlib.import_module(f"keras.src.datasets.{name}")
    monkeypatch.setattr(module, "get_file", lambda *args, **kwargs: str(path))
    return module


# ----------------------------------------------------------------------------------------- coverage
def test_every_keras_dataset_exists_with_keras_signatures():
    for name in (n for n in dir(keras.datasets) if not n.startswith("_")):
        ours, theirs = getattr(initium.datasets, name), getattr(keras.datasets, name)
        for fn in (n for n in dir(theirs) if not n.startswith("_")):
            assert hasattr(ours, fn), f"initium.datasets.{name}.{fn} is missing"
            assert inspect.signature(getattr(ours, fn)).parameters.keys() == \
                inspect.signature(getattr(theirs, fn)).parameters.keys()
            defaults = [p.default for p in inspect.signature(getattr(theirs, fn)).parameters.values()]
            assert [p.default for p in inspect.signature(getattr(ours, fn)).parameters.values()] == defaults


@pytest.mark.parametrize("name", LOADERS)
def test_urls_and_hashes_are_kerases(name):
    source = Path(importlib.import_module(f"keras.src.datasets.{name}").__file__).read_text()
    module = getattr(initium.datasets, name)
    facts = [getattr(module, a) for a in ("FILE_HASH", "WORD_INDEX_HASH") if hasattr(module, a)]
    urls = [getattr(module, a) for a in ("ORIGIN", "WORD_INDEX_ORIGIN") if hasattr(module, a)]
    if name == "fashion_mnist":
        urls = [module.ORIGIN_FOLDER] + list(module.FILES)
    for fact in facts:
        assert fact in source
    for url in urls:  # Keras builds most URLs from a folder and a name
        folder, _, file = url.rpartition("/")
        assert (url in source) or (folder + "/" in source and (file in source or not file))


# ------------------------------------------------------------------------------------------ loaders
def test_cifar10(local, monkeypatch):
    (x_train, y_train), (x_test, y_test) = initium.datasets.cifar10.load_data()
    assert x_train.shape == (10, 32, 32, 3) and x_test.shape == (3, 32, 32, 3)
    assert x_train.dtype == y_train.dtype == np.uint8 and y_train.shape == (10, 1) and y_test.shape == (3, 1)
    assert y_train.max() < 10
    raw = _common.load_cifar_batch(local / "cifar-10-batches-py-target" / "cifar-10-batches-py" / "data_batch_2")
    assert np.array_equal(x_train[2], raw[0][0].transpose(1, 2, 0)) and y_train[2, 0] == raw[1][0]
    from keras.src.datasets.cifar import load_batch

    kx, ky = load_batch(str(local / "cifar-10-batches-py-target" / "cifar-10-batches-py" / "test_batch"))
    assert np.array_equal(x_test, kx.transpose(0, 2, 3, 1)) and y_test[:, 0].tolist() == list(ky)
    initium.config.set_image_data_format("channels_first")
    try:
        assert initium.datasets.cifar10.load_data()[0][0].shape == (10, 3, 32, 32)
    finally:
        initium.config.set_image_data_format("channels_last")


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100_matches_keras(label_mode, local, monkeypatch):
    (x_train, y_train), (x_test, y_test) = initium.datasets.cifar100.load_data(label_mode)
    assert x_train.shape == (6, 32, 32, 3) and y_train.shape == (6, 1) and y_train.max() < (100 if label_mode == "fine" else 20)
    kmod = _keras_on(monkeypatch, "cifar100", local / "cifar-100-python-target")
    (kx, ky), (kxt, kyt) = kmod.load_data(label_mode)
    for ours, theirs in ((x_train, kx), (y_train, ky), (x_test, kxt), (y_test, kyt)):
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    with pytest.raises(ValueError, match="label_mode"):
        initium.datasets.cifar100.load_data("medium")


def test_fashion_mnist_matches_keras(local, monkeypatch):
    (x_train, y_train), (x_test, y_test) = initium.datasets.fashion_mnist.load_data()
    assert (x_train.shape, x_test.shape, y_train.shape) == ((5, 28, 28), (3, 28, 28), (5,))
    folder = local / "fashion-mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(initium.datasets.fashion_mnist.FILES)
    module = importlib.import_module("keras.src.datasets.fashion_mnist")
    monkeypatch.setattr(module, "get_file", lambda fname, **kwargs: str(folder / fname))
    (kx, ky), (kxt, kyt) = module.load_data()
    for ours, theirs in ((x_train, kx), (y_train, ky), (x_test, kxt), (y_test, kyt)):
        assert ours.dtype == theirs.dtype == np.uint8 and np.array_equal(ours, theirs)


def test_mnist_downloads_by_name_and_reads_local_files(local, monkeypatch, tmp_path):
    (x_train, y_train), (x_test, _) = initium.datasets.mnist.load_data()
    assert (local / "mnist.npz").is_file()
    assert x_train.shape == (5, 28, 28) and x_train.dtype == np.uint8 and x_test.shape == (3, 28, 28)
    kmod = _keras_on(monkeypatch, "mnist", local / "mnist.npz")
    assert np.array_equal(kmod.load_data()[0][0], x_train)
    copy = tmp_path / "elsewhere" / "m.npz"
    copy.parent.mkdir()
    copy.write_bytes((local / "mnist.npz").read_bytes())
    assert np.array_equal(initium.datasets.mnist.load_data(copy)[0][1], y_train)  # a local file: no download
    with pytest.raises(FileNotFoundError, match="No MNIST data"):
        initium.datasets.mnist.load_data(tmp_path / "missing" / "mnist.npz")


def test_mnist_reads_an_idx_folder(local, tmp_path):
    (x_train, y_train), (x_test, y_test) = initium.datasets.mnist.load_data()
    folder = tmp_path / "idx"
    folder.mkdir()
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    for key, stem in initium.datasets.mnist._IDX.items():
        data = make_dataset_fixtures._idx(arrays[key])
        (folder / (stem + (".gz" if key.startswith("x") else ""))).write_bytes(
            make_dataset_fixtures._gzip(data) if key.startswith("x") else data)
    (a, b), (c, d) = initium.datasets.mnist.load_data(folder)
    assert all(np.array_equal(u, v) for u, v in ((a, x_train), (b, y_train), (c, x_test), (d, y_test)))


IMDB_OPTIONS = [{}, {"num_words": 10}, {"num_words": 12, "skip_top": 4}, {"maxlen": 9}, {"seed": 7},
                {"start_char": None, "index_from": 0}, {"oov_char": None, "num_words": 8},
                {"start_char": 5, "oov_char": 3, "index_from": 6, "num_words": 20}]


@pytest.mark.parametrize("options", IMDB_OPTIONS, ids=str)
def test_imdb_matches_keras(options, local, monkeypatch):
    (x_train, y_train), (x_test, y_test) = initium.datasets.imdb.load_data(**options)
    kmod = _keras_on(monkeypatch, "imdb", local / "imdb.npz")
    (kx, ky), (kxt, kyt) = kmod.load_data(**options)
    assert x_train.dtype == object and x_train.ndim == 1
    assert [list(s) for s in x_train] == [list(s) for s in kx] and [list(s) for s in x_test] == [list(s) for s in kxt]
    assert np.array_equal(y_train, ky) and np.array_equal(y_test, kyt) and set(np.unique(y_train)) <= {0, 1}
    top = options.get("num_words")
    if top:
        assert max(max(s) for s in x_train) < max(top, options.get("oov_char") or 0, options.get("start_char") or 0) + 1


def test_imdb_errors_and_word_index(local):
    with pytest.raises(ValueError, match="maxlen=2"):
        initium.datasets.imdb.load_data(maxlen=2)
    with pytest.raises(TypeError, match="nb_words"):
        initium.datasets.imdb.load_data(nb_words=10)
    index = initium.datasets.imdb.get_word_index()
    assert index["word1"] == 1 and len(index) == make_dataset_fixtures.IMDB_VOCAB


@pytest.mark.parametrize("options", IMDB_OPTIONS[:6] + [{"test_split": 0.5}, {"maxlen": 6, "test_split": 0.3}], ids=str)
def test_reuters_matches_keras(options, local, monkeypatch):
    (x_train, y_train), (x_test, y_test) = initium.datasets.reuters.load_data(**options)
    kmod = _keras_on(monkeypatch, "reuters", local / "reuters.npz")
    (kx, ky), (kxt, kyt) = kmod.load_data(**options)
    assert [list(s) for s in x_train] == [list(s) for s in kx] and [list(s) for s in x_test] == [list(s) for s in kxt]
    assert np.array_equal(y_train, ky) and np.array_equal(y_test, kyt) and y_train.max() < 46
    assert len(initium.datasets.reuters.get_label_names()) == 46
    assert initium.datasets.reuters.get_label_names() == keras.datasets.reuters.get_label_names()
    assert initium.datasets.reuters.get_word_index()["word3"] == 3


@pytest.mark.parametrize("name,kwargs", [("boston_housing", {}), ("boston_housing", {"test_split": 0.5, "seed": 1}),
                                         ("california_housing", {}), ("california_housing", {"version": "small"}),
                                         ("california_housing", {"test_split": 0.0})])
def test_housing_matches_keras(name, kwargs, local, monkeypatch):
    (x_train, y_train), (x_test, y_test) = getattr(initium.datasets, name).load_data(**kwargs)
    kmod = _keras_on(monkeypatch, name, local / f"{name}.npz")
    (kx, ky), (kxt, kyt) = kmod.load_data(**kwargs)
    for ours, theirs in ((x_train, kx), (y_train, ky), (x_test, kxt), (y_test, kyt)):
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    if kwargs.get("version") == "small":
        assert len(x_train) + len(x_test) == 600


@pytest.mark.parametrize("name", ["boston_housing", "california_housing"])
def test_housing_argument_errors_come_before_any_download(name, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(ValueError, match="test_split"):
        getattr(initium.datasets, name).load_data(test_split=1.0)
    if name == "california_housing":
        with pytest.raises(ValueError, match="version"):
            initium.datasets.california_housing.load_data(version="medium")
    assert not (tmp_path / "datasets").exists() or not list((tmp_path / "datasets").iterdir())


def test_a_cached_file_is_used_without_the_network(local, monkeypatch):
    initium.datasets.boston_housing.load_data()
    monkeypatch.setattr(initium.datasets.boston_housing, "ORIGIN", "http://127.0.0.1:9/unreachable.npz")
    assert initium.datasets.boston_housing.load_data()[0][0].shape == (16, 13)


def test_a_tampered_download_is_refused(local, monkeypatch):
    monkeypatch.setattr(initium.datasets.imdb, "FILE_HASH", "0" * 64)
    with pytest.raises(ValueError, match="hash does not match"):
        initium.datasets.imdb.load_data()
    assert not (local / "imdb.npz").exists()


# ------------------------------------------------------------------------------- safe deserialization
class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def test_the_unpickler_refuses_code(tmp_path):
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps({b"data": _Evil(), b"labels": [1]}, protocol=3))
    with pytest.raises(pickle.UnpicklingError, match=r"Refusing to load `(posix|os|nt)\.system`"):
        _common.load_cifar_batch(path)
    assert _common.SafeUnpickler(io.BytesIO(pickle.dumps({"a": [1, b"x", 2.5]}))).load() == {"a": [1, b"x", 2.5]}


def test_a_malicious_cifar_archive_is_refused(served, tmp_path, monkeypatch):
    root, base, _ = served
    members = {f"cifar-10-batches-py/data_batch_{i}": pickle.dumps({b"data": _Evil(), b"labels": []}, protocol=3)
               for i in range(1, 6)}
    (root / "evil-cifar.tar.gz").write_bytes(make_dataset_fixtures._tar_gz(members))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(initium.datasets.cifar10, "ORIGIN", base + "evil-cifar.tar.gz")
    monkeypatch.setattr(initium.datasets.cifar10, "FILE_HASH", None)
    with pytest.raises(pickle.UnpicklingError, match=r"Refusing to load `(posix|os|nt)\.system`"):
        initium.datasets.cifar10.load_data()


def test_object_arrays_with_code_are_refused(tmp_path):
    evil = np.empty(1, dtype=object)
    evil[0] = _Evil()
    path = tmp_path / "evil.npz"
    np.savez(path, x=evil, y=np.zeros(1))
    with pytest.raises(pickle.UnpicklingError, match=r"Refusing to load `(posix|os|nt)\.system`"):
        _common.load_npz(path)
    good = tmp_path / "good.npz"
    np.savez(good, x=np.arange(3))
    assert np.array_equal(_common.load_npz(good)["x"], np.arange(3))


def test_cifar_batches_missing_keys_are_named(tmp_path):
    path = tmp_path / "b"
    path.write_bytes(pickle.dumps({b"data": np.zeros((1, 3072), np.uint8)}, protocol=3))
    with pytest.raises(ValueError, match="labels"):
        _common.load_cifar_batch(path)


def test_fixture_generator_is_deterministic(tmp_path):
    assert make_dataset_fixtures.build(tmp_path / "a") == make_dataset_fixtures.build(tmp_path / "b")


def test_fixture_tarballs_have_keras_layout(served):
    root, _, _ = served
    with tarfile.open(root / "cifar-10-python.tar.gz") as tar:
        names = tar.getnames()
    assert "cifar-10-batches-py/data_batch_5" in names and "cifar-10-batches-py/test_batch" in names
