"""bench/gpu.py in its CPU mode (what runs where there is no CUDA device): it says the GPU figures
are not measured and prints both tables, with tiny repeat counts."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "gpu.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_gpu", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cpu_mode_prints_the_tables(capsys):
    bench = _bench()
    bench.main(["--cpu", "--rounds", "1", "--steps", "2", "--no-keras", "--init-size", "128", "--ortho-sizes", "32"])
    out = capsys.readouterr().out
    assert "no CUDA device: GPU figures not measured" in out
    assert "ratio = time / torch loop" in out
    number = r"\s+\d+\.\d{3}"
    for kind in ("mlp", "cnn"):
        for name in ("initium fit", "torch loop"):
            assert re.search(rf"^{kind}\s+128\s+{name}{number}\s+\d+\.\d\d$", out, re.M), (kind, name, out)
    assert re.search(rf"^{'mlp'}\s+128\s+torch loop{number}\s+1\.00$", out, re.M)  # the reference's own ratio
    assert "torch graph" not in out and "initium fit jit" not in out  # CUDA-only contenders
    for name in ("initium HeNormal", "initium TruncatedNormal", "torch normal_ (in place)", "torch trunc_normal_",
                 "device copy_"):
        assert re.search(rf"^{re.escape(name)}{number}{number}$", out, re.M), (name, out)
    for name in ("initium Orthogonal 32", "torch orthogonal_ 32"):
        assert re.search(rf"^{name}{number}\s+-$", out, re.M), (name, out)
