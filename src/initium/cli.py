"""The ``initium`` command.

    initium tour                                  the main job: seed 003's bias variants trained on digits
    initium initializers                          every initializer: names, formula, default config
    initium initializers he_normal --shape 256,128 [--seed 0] [--dtype float32]
                                                  draw once; expected vs observed mean, std, range
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Sequence

__all__ = ["main"]


def _aliases() -> dict[type, list[str]]:
    from initium import initializers

    names: dict[type, list[str]] = {}
    for key, cls in initializers.ALL_OBJECTS.items():
        names.setdefault(cls, []).append(key)
    return names


def _parse_shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(p) for p in text.replace("x", ",").split(",") if p.strip() != "")
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shape must be integers separated by commas, like 256,128. Received: {text!r}") from None
    if any(d < 0 for d in dims):
        raise argparse.ArgumentTypeError(f"--shape must be non-negative. Received: {text!r}")
    return dims


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.6g}"


def _catalog(console) -> None:
    from rich.table import Table

    from initium import initializers, random

    table = Table(title="initium initializers (Keras 3 names and defaults)")
    table.add_column("class", style="bold")
    table.add_column("string ids")
    table.add_column("formula")
    table.add_column("default config")
    names = _aliases()
    for cls in initializers.BUILTINS:
        ids = ", ".join(n for n in names.get(cls, []) if n != cls.__name__)
        cfg = ", ".join(f"{k}={v!r}" for k, v in cls().get_config().items() if not k.endswith("_axes"))
        table.add_row(cls.__name__, ids, getattr(cls, "formula", ""), cfg)
    console.print(table)
    console.print(
        "Glorot/He/Lecun and VarianceScaling also take input_axes/output_axes (default None). "
        "TN = normal truncated at ±2σ, σ set so the truncated std is as written.\n"
        f"Random bits: {random.GENERATOR} (transform v{random.TRANSFORM_VERSION}). "
        "Draw one: initium initializers he_normal --shape 256,128"
    )


def _draw(console, name: str, shape: tuple[int, ...], seed: int | None, dtype: str) -> int:
    import torch
    from rich.table import Table

    from initium import initializers

    try:
        init = initializers.get(name)
    except ValueError as e:
        print(f"initium: error: {e}", file=sys.stderr)
        return 2
    if seed is not None and hasattr(init, "seed"):
        init.seed = seed
    try:
        value = initializers.initialize(init, shape, dtype=dtype, device="cpu")
    except (ValueError, TypeError) as e:
        print(f"initium: error: {e}", file=sys.stderr)
        return 2
    v = value.detach().double()
    observed = {
        "mean": float(v.mean()) if v.numel() else math.nan,
        "std": float(v.std(unbiased=False)) if v.numel() else math.nan,
        "min": float(v.min()) if v.numel() else math.nan,
        "max": float(v.max()) if v.numel() else math.nan,
    }
    expected = init.expected_stats(shape) if hasattr(init, "expected_stats") else {}
    fan_in, fan_out = initializers.compute_fans(shape)
    console.print(f"{init!r}\nshape {shape}, {dtype}, {v.numel()} values")
    table = Table()
    table.add_column("statistic")
    table.add_column("expected", justify="right")
    table.add_column("observed", justify="right")
    n = max(v.numel(), 1)
    for key in ("mean", "std", "min", "max"):
        table.add_row(key, _fmt(expected.get(key, math.nan)), _fmt(observed[key]))
    console.print(table)
    if "std" in expected and expected["std"] > 0 and v.numel() > 1:
        se_mean = expected["std"] / math.sqrt(n)
        z = (observed["mean"] - expected["mean"]) / se_mean
        console.print(f"fan_in={fan_in}  fan_out={fan_out}  mean off by {z:+.2f} standard errors;"
                      f"  std ratio observed/expected = {observed['std'] / expected['std']:.4f}")
    else:
        console.print(f"fan_in={fan_in}  fan_out={fan_out}")
    del torch
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="initium", description="initium: Keras API, PyTorch body, initialization first.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    t = sub.add_parser("tour", help="train seed 003's three bias variants on the bundled digits and compare them")
    t.add_argument("--epochs", type=int, default=15, help="epochs per model (default 15)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="fit verbosity (default 1)")
    p = sub.add_parser("initializers", help="list initializers, or draw one and compare with its formula")
    p.add_argument("name", nargs="?", help="an initializer name such as he_normal (omit to list all)")
    p.add_argument("--shape", type=_parse_shape, default=(256, 128), help="weight shape, e.g. 256,128 or 3,3,16,32")
    p.add_argument("--seed", type=int, default=0, help="seed for the draw (default 0)")
    p.add_argument("--dtype", default="float32", help="dtype name (default float32)")
    r = sub.add_parser("report", help="the init report of a saved model: weights vs their initializers, and "
                                      "per-layer activation statistics on data")
    r.add_argument("model", help="a .keras file (written by Keras 3 or initium)")
    r.add_argument("--data", default="digits", help="data to run through the model (default: digits)")
    r.add_argument("--plot", default=None, metavar="OUT.png", help="also draw per-layer activation histograms")
    b = sub.add_parser("bias-study", help="measure what bias initialization does (docs/bias_study_protocol.md)")
    mode = b.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", default=True, help="the < 2 minute profile (default)")
    mode.add_argument("--full", action="store_true", help="the full profile; writes a markdown report and figures")
    mode.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # seconds: for the tests
    b.add_argument("--out", default=None, metavar="DIR",
                   help="write bias_study.md, results.json and PNG figures there (--full: default ./bias_study_full)")
    b.add_argument("--seeds", type=int, default=None, help="override the number of training seeds per cell")
    args = parser.parse_args(argv)

    if args.command == "report":
        from initium.lab.report import cli_report

        try:
            return cli_report(args.model, data=args.data, plot=args.plot)
        except (ValueError, FileNotFoundError) as e:  # a bad file or data: one line, not a traceback
            print(f"initium report: error: {e}", file=sys.stderr)
            return 2
    if args.command == "bias-study":
        from initium.lab.bias_study import cli_bias_study

        return cli_bias_study(quick=not args.full, out_dir=args.out, seeds=args.seeds,
                              profile="tiny" if args.tiny else None)

    from rich.console import Console

    console = Console()
    if args.version:
        from initium import __version__

        console.print(f"initium {__version__}")
        return 0
    if args.command == "tour":
        from initium.tour import run_tour

        run_tour(epochs=args.epochs, seed=args.seed, verbose=args.verbose)
        return 0
    if args.command == "initializers":
        if args.name is None:
            _catalog(console)
            return 0
        return _draw(console, args.name, args.shape, args.seed, args.dtype)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
