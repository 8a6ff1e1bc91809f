"""The `initium` command."""

import subprocess
import sys

import pytest

from initium import cli, initializers


def run(capsys, *argv):
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def test_catalog_lists_every_initializer(capsys):
    code, out = run(capsys, "initializers")
    assert code == 0
    for cls in initializers.BUILTINS:
        assert cls.__name__ in out
    for alias in ("he_normal", "zero", "normal", "glorot_uniform"):
        assert alias in out
    assert "philox4x64-10" in out


def test_draw_compares_expected_and_observed(capsys):
    code, out = run(capsys, "initializers", "he_normal", "--shape", "256,128", "--seed", "1")
    assert code == 0
    assert "0.0883883" in out  # expected std sqrt(2/256)
    assert "fan_in=256" in out and "fan_out=128" in out and "observed" in out


def test_bad_name_suggests(capsys):
    code = cli.main(["initializers", "he_normall"])
    err = capsys.readouterr().err
    assert code == 2 and "initium: error: Could not interpret initializer identifier: 'he_normall'. Did you mean 'he_normal'?" in err


def test_bad_shape_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["initializers", "he_normal", "--shape", "a,b"])
    assert e.value.code == 2
    assert "--shape must be integers separated by commas" in capsys.readouterr().err


def test_module_entry_point_runs():
    r = subprocess.run([sys.executable, "-m", "initium", "initializers", "orthogonal", "--shape", "8,4"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Orthogonal" in r.stdout


def test_import_stays_light():
    code = ("import sys, initium; heavy = [m for m in ('matplotlib', 'sklearn', 'scipy', 'h5py', 'rich', "
            "'keras', 'tensorflow', 'triton', 'initium.ops', 'initium.lab', 'initium.random_device') "
            "if m in sys.modules]; print(heavy)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
