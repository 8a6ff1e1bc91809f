"""initium.distribution: 2 CPU processes (gloo on 127.0.0.1, torch.multiprocessing spawn) train as one.

Each scenario of tests/distributed_worker.py runs once in 2 processes (one spawn for all of them,
so the file stays fast) and once here in this process; the data-parallel run must equal the
single-process run with the same global batch within 1e-6 (weights and History), and both ranks
must agree. A separate spawn checks that a rank that raises fails the run with its own error.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

import initium as keras
from initium import distribution

import distributed_worker as worker

TOL = 1e-6
FAIL_LIMIT_S = 60  # the acceptance bound for a failing rank (the launcher stops the peer within seconds)
RUN_LIMIT_S = 180  # a generous bound for the scenarios (about 15 s here): a hang fails instead of blocking CI


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(out: str, names: list[str]) -> mp.ProcessContext:
    return mp.start_processes(worker.spawn_main, args=(2, _free_port(), out, names), nprocs=2, join=False,
                              start_method="spawn")


def _join(ctx: mp.ProcessContext, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while not ctx.join(timeout=1):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            pytest.fail(f"the 2-process run did not finish within {limit_s} s")


SCENARIOS = ["mlp", "conv_bn", "bn_per_rank", "data_loader", "unused_frozen", "rank_branch", "checkpoints",
             "stop_together", "nan_on_rank_one", "mismatch", "differing_generator"]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> list[dict]:
    out = str(tmp_path_factory.mktemp("ddp"))
    _join(_spawn(out, SCENARIOS), RUN_LIMIT_S)
    return [torch.load(os.path.join(out, f"rank{r}.pt"), weights_only=False) for r in range(2)]


def _single(name: str, tmp_path) -> dict:
    assert distribution.active() is None
    return worker.SCENARIOS[name](str(tmp_path))


def _assert_weights(got: list, want: list) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=0, atol=TOL)


def _assert_history(got: dict, want: dict) -> None:
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=0, atol=TOL, err_msg=key)


def _assert_ranks_bit_identical(ranks: list[dict], name: str) -> None:
    for a, b in zip(ranks[0][name]["weights"], ranks[1][name]["weights"]):
        assert np.array_equal(a, b)


def test_mlp_equals_single_process(ranks, tmp_path):
    want = _single("mlp", tmp_path)
    _assert_ranks_bit_identical(ranks, "mlp")
    for r in ranks:
        got = r["mlp"]
        _assert_weights(got["weights"], want["weights"])
        _assert_history(got["history"], want["history"])
        assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(got["history"])
        np.testing.assert_allclose(got["evaluate"], want["evaluate"], rtol=0, atol=TOL)
        np.testing.assert_allclose(got["evaluate_iterable"], want["evaluate_iterable"], rtol=0, atol=TOL)
        assert got["predict"].shape == want["predict"].shape == (37, 3)
        np.testing.assert_allclose(got["predict"], want["predict"], rtol=0, atol=TOL)


def test_conv_with_synchronized_batch_norm_equals_single_process(ranks, tmp_path):
    want = _single("conv_bn", tmp_path)
    _assert_ranks_bit_identical(ranks, "conv_bn")
    for r in ranks:
        _assert_weights(r["conv_bn"]["weights"], want["weights"])  # moving statistics included
        _assert_history(r["conv_bn"]["history"], want["history"])


def test_batch_norm_default_is_per_rank_with_rank_zero_moving_averages(ranks):
    x = ranks[0]["bn_per_rank"]["x"]
    rank0_rows = 0.01 * x[:4].mean(axis=0)  # momentum 0.99 from zeros, rank 0's half of the batch
    both_halves = 0.01 * x.mean(axis=0)
    for r in ranks:
        np.testing.assert_allclose(r["bn_per_rank"]["moving_mean"], rank0_rows, rtol=1e-5, atol=1e-7)
    assert not np.allclose(rank0_rows, both_halves, atol=1e-4)


def test_data_loader_gets_a_distributed_sampler(ranks, tmp_path):
    want = _single("data_loader", tmp_path)
    for r in ranks:
        _assert_weights(r["data_loader"]["weights"], want["weights"])
        _assert_history(r["data_loader"]["history"], want["history"])


def test_gradients_overlap_backward_with_unused_and_frozen_weights(ranks, tmp_path):
    """Buckets go out in order during backward until one waits for a weight without gradient; the
    rest follow after backward (zeros for the unused weights); the hooks are removed when fit ends."""
    with pytest.warns(UserWarning, match="Gradients do not exist"):  # alone: no gradient; distributed: zeros
        want = _single("unused_frozen", tmp_path)
    assert want["hooks_left"] == 0
    _assert_ranks_bit_identical(ranks, "unused_frozen")
    for r in ranks:
        got = r["unused_frozen"]
        _assert_weights(got["weights"], want["weights"])  # the frozen and unused weights unchanged as well
        _assert_history(got["history"], want["history"])
        assert got["launched"] == [(5, 1)] * 10  # 5 buckets, the first sent during backward, at every step
        assert got["hooks_left"] == 0


def test_rank_dependent_backward_next_to_synchronized_batch_norm(ranks):
    """The gradients have a process group of their own: on the default group, a bucket sent during
    backward on one rank and after it on the other would meet a BatchNormalization all-reduce."""
    _assert_ranks_bit_identical(ranks, "rank_branch")  # fit's own end-of-fit checksum passed as well
    losses = [r["rank_branch"]["history"]["loss"] for r in ranks]
    assert len(losses[0]) == 2 and losses[0] == losses[1]


def test_checkpoints_written_once_and_resume(ranks, tmp_path):
    zero, one = ranks[0]["checkpoints"], ranks[1]["checkpoints"]
    assert [os.path.basename(p) for p in zero["writes"]] == ["ckpt-1.keras", "ckpt-2.keras"]
    assert one["writes"] == []
    assert zero["files"] == ["backup", "ckpt-1.keras", "ckpt-2.keras", "backup/latest.pt"]
    want = _single("checkpoints_reference", tmp_path)
    for r in (zero, one):
        assert r["resumed_epochs"] == 2  # epochs 3 and 4, after the backup of epoch 2
        _assert_weights(r["weights"], want["weights"])


def test_stop_training_on_one_rank_stops_both(ranks):
    assert ranks[0]["stop_together"]["batches"] == ranks[1]["stop_together"]["batches"] == [0, 1, 2]


def test_terminate_on_nan_stops_and_restores_every_rank(ranks):
    zero, one = ranks[0]["nan_on_rank_one"], ranks[1]["nan_on_rank_one"]
    assert zero["batches"] == one["batches"] == [0, 1, 2]
    for a, b in zip(zero["weights"], one["weights"]):
        assert np.isfinite(a).all() and np.array_equal(a, b)


def test_weight_mismatch_fails_loudly(ranks):
    for r in ranks:
        message = r["mismatch"]["error"]
        assert message is not None and "weights differ between the 2 processes" in message
        assert "head/kernel" in message


def test_generators_differing_between_ranks_fail_on_every_rank(ranks):
    for r in ranks:
        message = r["differing_generator"]["error"]
        assert message is not None and "read different batches" in message and "same seed" in message


def test_failing_rank_fails_the_run_with_its_error():
    """Launched as users launch it (torchrun): the run ends, failed, showing rank 1's traceback; rank 0,
    blocked in a collective, is not left hanging (gloo sees the closed peer, torchrun stops it)."""
    script = os.path.join(os.path.dirname(__file__), "distributed_worker.py")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
               f"--master_port={_free_port()}", script, "rank_one_raises"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=FAIL_LIMIT_S, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"a run whose rank 1 raised was still running after {FAIL_LIMIT_S} s")
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "ValueError: rank 1 exploded on purpose" in output
    assert 'raise ValueError("rank 1 exploded on purpose")' in output  # the traceback, not only the message


def test_api_names_and_errors(monkeypatch):
    assert distribution.list_devices("cpu") == ["cpu:0"]
    with pytest.raises(ValueError, match="device_type"):
        distribution.list_devices("tpu")
    for cls in (distribution.ModelParallel, distribution.LayoutMap):
        with pytest.raises(NotImplementedError, match="FSDP"):
            cls()
    with pytest.raises(TypeError, match="DataParallel or None"):
        distribution.set_distribution("data")
    with pytest.raises(ValueError, match="must have the same length"):
        distribution.DeviceMesh((2,), ["batch", "model"])
    for var in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    assert distribution.distribution() is None and distribution.is_rank_zero()
    with pytest.raises(ValueError, match="Launch with torchrun"):
        distribution.initialize()
    assert keras.distribution is distribution


def test_batch_size_must_divide_among_processes():
    dp = object.__new__(distribution.DataParallel)
    dp.world_size, dp.rank = 2, 0
    with pytest.raises(ValueError, match=r"batch_size=15, world_size=2"):
        dp.check_batch(15, "fit")


@pytest.mark.parametrize("reduction", ["sum", "mean_with_sample_weight", "none"])
def test_losses_not_summed_exactly_over_ranks_are_refused(reduction):
    """Each rank's loss is weighted by its rows before the gradient sum: exact only for a mean over the
    batch, so other reductions are refused instead of training mis-scaled."""
    from initium.training import trainer as trainer_mod

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss=keras.losses.MeanSquaredError(reduction=reduction))
    with pytest.raises(NotImplementedError, match=f"reduction='{reduction}'.*default reduction"):
        trainer_mod._check_reductions_sum_over_ranks(model._trainer)
    model.compile(optimizer="sgd", loss=[keras.losses.MeanSquaredError()])
    trainer_mod._check_reductions_sum_over_ranks(model._trainer)  # the default: accepted
    model.compile(optimizer="sgd", loss="mse")
    trainer_mod._check_reductions_sum_over_ranks(model._trainer)
