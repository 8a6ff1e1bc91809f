"""A save behaves like ``open(path, "w")`` to anyone looking at the file system, yet stays atomic.

- mode: a new file gets 0666 minus the umask (Keras's saves give the same), an existing file keeps
  its mode;
- a symlink stays a link: its target is replaced (atomically, via a temporary beside the target);
- a writer killed mid-save leaves ``.NAME.<pid>.<host>.<random>.tmp``; the next save of that target
  removes it once the writer is gone, and never touches the temporary of a live process (nor one
  written on another host, where the process id says nothing);
- ``overwrite=False`` and a missing directory still raise.
"""

import os
import stat
import subprocess
import sys

import numpy as np
import pytest
import torch

import initium as keras
from initium import layers
from initium.saving import archive, keras_format

SAVES = {"save": "m.keras", "save_weights": "m.weights.h5"}


def _model(seed=0):
    keras.random.set_random_seed(seed)
    return keras.Sequential([keras.Input((4,)), layers.Dense(2)])


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _temporaries(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith(".tmp"))


@pytest.fixture
def umask():
    """Set the process umask for one test and put the old one back."""
    old = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(old)


@pytest.mark.parametrize("what", list(SAVES))
@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)],
                         ids=["umask022", "umask077", "umask002"])
def test_a_new_file_gets_the_umask_mode_like_open(what, mask, expected, umask, tmp_path):
    umask(mask)
    path = tmp_path / SAVES[what]
    getattr(_model(), what)(str(path))
    with open(tmp_path / "reference", "w"):
        pass
    assert _mode(path) == expected == _mode(tmp_path / "reference")


@pytest.mark.parametrize("what", list(SAVES))
def test_overwriting_keeps_the_existing_files_mode(what, umask, tmp_path):
    umask(0o022)
    path = tmp_path / SAVES[what]
    getattr(_model(), what)(str(path))
    os.chmod(path, 0o640)
    getattr(_model(1), what)(str(path))
    assert _mode(path) == 0o640
    os.chmod(path, 0o604)
    getattr(_model(2), what)(str(path))
    assert _mode(path) == 0o604


@pytest.mark.parametrize("relative", [False, True])
def test_saving_through_a_symlink_updates_the_target_and_keeps_the_link(relative, umask, tmp_path):
    umask(0o022)
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir(), link_dir.mkdir()
    target, link = real_dir / "m.keras", link_dir / "m.keras"
    _model(0).save(str(target))
    os.chmod(target, 0o640)
    pointer = os.path.relpath(target, link_dir) if relative else str(target)
    os.symlink(pointer, link)
    model = _model(1)
    model.save(str(link))
    assert os.path.islink(link) and os.readlink(link) == pointer
    assert _mode(target) == 0o640
    x = np.ones((3, 4), "float32")
    back = keras.models.load_model(str(target))
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))
    assert _temporaries(real_dir) == [] and _temporaries(link_dir) == []
    with pytest.raises(FileExistsError):
        model.save(str(link), overwrite=False)


def test_a_failed_save_through_a_symlink_leaves_target_and_link(tmp_path, monkeypatch):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target, link = real_dir / "w.weights.h5", tmp_path / "w.weights.h5"
    model = _model()
    model.save_weights(str(target))
    os.symlink(target, link)
    before = target.read_bytes()
    real_write = keras_format._write_h5

    def exploding(model, out, include_optimizer=True):
        real_write(model, out, include_optimizer)
        raise RuntimeError("killed mid-save")

    monkeypatch.setattr(keras_format, "_write_h5", exploding)
    with torch.no_grad():
        model.layers[0].kernel.add_(1.0)
    with pytest.raises(RuntimeError, match="killed mid-save"):
        model.save_weights(str(link))
    assert os.path.islink(link) and target.read_bytes() == before
    assert _temporaries(real_dir) == [] and _temporaries(tmp_path) == []


# A child that saves a model and blocks after the archive is complete but before the rename (its
# first fsync), so that the parent can kill it with the full-size temporary file on disk.
_BLOCKED_WRITER = """
import os, sys, time
import initium as keras
real_fsync = os.fsync
def fsync_then_block(fd):
    real_fsync(fd)
    print("ready", flush=True)
    time.sleep(600)
os.fsync = fsync_then_block
keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(sys.argv[1])
"""


def test_a_killed_writer_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    path = tmp_path / "m.keras"
    _model(0).save(str(path))
    before = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", _BLOCKED_WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
    finally:
        child.kill()
        child.wait()
    left = _temporaries(tmp_path)
    assert len(left) == 1 and left[0].startswith(f".m.keras.{child.pid}.{archive._host_tag()}.")
    assert os.path.getsize(tmp_path / left[0]) > 0.9 * len(before)  # the whole archive was written
    assert path.read_bytes() == before  # the kill came before the rename
    model = _model(1)
    model.save(str(path))
    assert _temporaries(tmp_path) == []
    x = np.ones((2, 4), "float32")
    np.testing.assert_array_equal(keras.models.load_model(str(path)).predict(x, verbose=0), model.predict(x, verbose=0))


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("what", list(SAVES))
def test_only_temporaries_of_dead_writers_of_the_same_target_are_removed(what, tmp_path):
    name, host = SAVES[what], archive._host_tag()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        dead = f".{name}.{_dead_pid()}.{host}.0123abcd.tmp"
        live = f".{name}.{sleeper.pid}.{host}.0123abcd.tmp"
        mine = f".{name}.{os.getpid()}.{host}.0123abcd.tmp"
        other_host = f".{name}.{_dead_pid()}.{'0' * 8 if host != '0' * 8 else '1' * 8}.0123abcd.tmp"
        other_target = f".other.keras.{_dead_pid()}.{host}.0123abcd.tmp"
        not_ours = f".{name}.tmp"  # not the pattern a writer uses: left alone
        for n in (dead, live, mine, other_host, other_target, not_ours):
            (tmp_path / n).write_bytes(b"partial")
        getattr(_model(), what)(str(tmp_path / name))
        assert _temporaries(tmp_path) == sorted([live, mine, other_host, other_target, not_ours])
    finally:
        sleeper.kill()
        sleeper.wait()


def test_process_alive():
    assert archive._process_alive(os.getpid())
    assert not archive._process_alive(_dead_pid())
    assert not archive._process_alive(0) and not archive._process_alive(-5)


@pytest.mark.parametrize("what", list(SAVES))
def test_overwrite_false_and_missing_directory_still_raise(what, tmp_path):
    path = tmp_path / SAVES[what]
    model = _model()
    getattr(model, what)(str(path))
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=False"):
        getattr(model, what)(str(path), overwrite=False)
    assert path.read_bytes() == before
    with pytest.raises(FileNotFoundError, match="does not exist"):
        getattr(model, what)(str(tmp_path / "missing" / SAVES[what]))
    assert not (tmp_path / "missing").exists()
    assert _temporaries(tmp_path) == []
