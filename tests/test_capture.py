"""The capturable training step (issue 16, part 2b), tested on the CPU.

What a CUDA graph would capture is ``GraphStep.body``: the trainer's step on static input buffers.
Here it runs eagerly (``use_graph=False``, what ``fit`` gets on the CPU when the CUDA check is
bypassed) and must train exactly as the normal ``fit`` does; it runs under ``no_host_sync`` (the
check that nothing in it waits on the device); the reasons not to capture are named; a capture
that fails falls back without losing or repeating a batch.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest
import torch

import initium as keras
from initium import layers
from initium.optimizers import schedules
from initium.training import capture
from initium.training.capture import GraphStep, HostSyncError, no_host_sync

BATCH = 16
N = 19 * BATCH + 5  # 20 steps per epoch, the last one a partial batch of 5


def data(n=N, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype("float32"), rng.integers(0, k, size=n)


def model(jit_compile="auto", seed=None, lr=None):
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((6,)), layers.Dense(16, activation="relu"), layers.Dropout(0.25, seed=seed),
                          layers.Dense(3, activation="softmax")])
    lr = schedules.CosineDecay(0.01, 30, warmup_target=0.02, warmup_steps=5) if lr is None else lr
    m.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
              metrics=["accuracy", "sparse_categorical_crossentropy"], jit_compile=jit_compile)
    return m


@pytest.fixture
def steps(monkeypatch):
    """Let ``fit`` take the capture path on the CPU (the CUDA check says yes), and record the steps."""
    made = []
    real = capture.GraphStep

    def recording(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(capture, "capture_blocker", lambda trainer, device: None)
    monkeypatch.setattr(capture, "GraphStep", recording)
    return made


def fit_both(steps, epochs=2, **fit_kwargs):
    x, y = data()
    plain, static = model(), model(jit_compile=True)
    keras.utils.set_random_seed(1)
    h1 = plain.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, **fit_kwargs)
    keras.utils.set_random_seed(1)
    h2 = static.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, **fit_kwargs)
    return plain, static, h1, h2


def test_static_buffer_step_trains_exactly_as_fit(steps):
    plain, static, h1, h2 = fit_both(steps, validation_split=0.1)
    (step,) = steps
    assert not step.use_graph  # on the CPU the very step a graph would capture runs eagerly
    assert step.eager_steps == 2 * 17 and step.other_shape_steps == 2  # 278 training rows: 17 x 16 + 6
    for a, b in zip(plain.get_weights(), static.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert h1.history == h2.history  # loss, accuracy, crossentropy and the validation metrics, every epoch
    assert int(static.optimizer.iterations) == int(plain.optimizer.iterations) == 36
    np.testing.assert_array_equal(static.optimizer.get_weights()[2], plain.optimizer.get_weights()[2])


def test_static_step_with_sample_weights_and_twenty_steps(steps):
    x, y = data()
    sw = np.random.default_rng(3).uniform(0.5, 2.0, size=len(y)).astype("float32")
    plain, static, h1, h2 = fit_both(steps, epochs=1, sample_weight=sw, shuffle=False)
    assert steps[0].eager_steps == 19 and steps[0].other_shape_steps == 1  # 20 steps
    for a, b in zip(plain.get_weights(), static.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert h1.history == h2.history


def test_the_captured_body_does_not_sync_with_the_host():
    """After warm-up, the step (forward, loss, backward, Adam with a schedule, loss tracker and
    metrics) runs under no_host_sync: no .item()/float()/bool() on a tensor, no data-dependent
    shape, no torch.tensor(host data)."""
    x, y = data()
    m = model(jit_compile=True)
    step = GraphStep(m._trainer, use_graph=False)
    xt, yt = torch.from_numpy(x[:BATCH]), torch.from_numpy(y[:BATCH])
    step(xt, yt, None)  # warm-up: builds the model, the optimizer state, the metrics
    before = [w.copy() for w in m.get_weights()]
    with no_host_sync(allow_host_data=False):
        for _ in range(3):
            step(xt, yt, None)
    assert int(m.optimizer.iterations) == 4
    assert not np.array_equal(before[0], m.get_weights()[0])


@pytest.mark.parametrize("act", [
    lambda t: t.sum().item(),
    lambda t: float(t.sum()),
    lambda t: bool(t.sum() > 0),
    lambda t: 1 if t.sum() > 0 else 0,
    lambda t: t.tolist(),
    lambda t: t.numpy(),
    lambda t: t[t > 0],
    lambda t: torch.nonzero(t),
    lambda t: torch.tensor([1.0, 2.0]),
])
def test_no_host_sync_catches_every_kind_of_host_read(act):
    t = torch.randn(5)
    with pytest.raises(HostSyncError), no_host_sync(allow_host_data=False):
        act(t)


def test_no_host_sync_allows_device_side_work():
    t = torch.randn(5)
    with no_host_sync(allow_host_data=False):
        out = torch.where(t > 0, t, torch.full((), 0.5)).sum() * 2
        torch._foreach_add_([t], [out])
    with no_host_sync():
        torch.tensor(3.0)  # host data is only refused on request (it is not a sync, capture refuses it)


# ------------------------------------------------------------------ when not to capture


def test_reasons_not_to_capture():
    cuda = torch.device("cuda")  # only its type is looked at: no CUDA needed
    trainer = model(jit_compile=True)._trainer
    assert capture.capture_blocker(trainer, torch.device("cpu")) == (
        "the model is on cpu, and CUDA graphs need a CUDA device")
    assert capture.capture_blocker(trainer, cuda) is None
    assert "plain callable" in capture.capture_blocker(model(jit_compile=True, lr=lambda: 0.01)._trainer, cuda)
    reason = capture.capture_blocker(model(jit_compile=True, seed=7)._trainer, cuda)
    assert "private seeded torch.Generator" in reason and "dropout" in reason


def test_a_model_with_its_own_train_step_is_not_captured():
    class Own(keras.Sequential):
        def train_step(self, data):
            return super().train_step(data)

    m = Own([keras.Input((6,)), layers.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=True)
    reason = capture.capture_blocker(m._trainer, torch.device("cuda"))
    assert reason.startswith("the model overrides train_step")


def test_auto_and_false_do_not_capture_and_do_not_warn():
    x, y = data(n=64)
    for flag in ("auto", False):
        m = model(jit_compile=flag)
        assert capture.train_step_for(m._trainer, torch.device("cpu")) == m._trainer.train_step
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            m.fit(x, y, batch_size=BATCH, verbose=0)


def test_jit_compile_true_on_cpu_warns_once_with_the_reason(monkeypatch):
    monkeypatch.setattr(torch, "compile", lambda fn, *a, **k: fn)  # the CPU path keeps torch.compile
    x, y = data(n=64)
    m = model(jit_compile=True)
    with pytest.warns(UserWarning) as record:
        m.fit(x, y, batch_size=BATCH, epochs=2, verbose=0)
    ours = [str(r.message) for r in record if "CUDA graph" in str(r.message)]
    assert ours == ["compile(jit_compile=True): the training step is not captured in a CUDA graph: the model is on "
                    "cpu, and CUDA graphs need a CUDA device; forward and loss run under torch.compile instead."]
    assert record[0].filename == __file__  # pointed at the caller of fit


def test_run_eagerly_never_captures():
    m = model(jit_compile=True)
    m.run_eagerly = True
    assert capture.train_step_for(m._trainer, torch.device("cuda")) == m._trainer.train_step


class _FailingGraph:
    """Stands in for torch.cuda.CUDAGraph/torch.cuda.graph: the capture raises, as CUDA does for
    an operation a graph cannot record."""

    def __init__(self):
        self.replays = 0

    def replay(self):  # never reached: the capture fails
        raise AssertionError("replayed a failed capture")


@contextlib.contextmanager
def _failing_capture(graph):
    raise RuntimeError("operation not permitted when stream is capturing\nmore detail")
    yield  # pragma: no cover


def test_a_failed_capture_warns_and_trains_on_without_losing_a_batch(monkeypatch):
    monkeypatch.setattr(torch.cuda, "CUDAGraph", _FailingGraph)
    monkeypatch.setattr(torch.cuda, "graph", _failing_capture)
    x, y = data()
    plain, static = model(), model(jit_compile=True)
    step = GraphStep(static._trainer, use_graph=True, warmup=0)  # capture at the first batch
    monkeypatch.setattr(capture, "train_step_for",
                        lambda trainer, device: step if trainer is static._trainer else trainer.train_step)
    keras.utils.set_random_seed(1)
    plain.fit(x, y, batch_size=BATCH, verbose=0)
    keras.utils.set_random_seed(1)
    with pytest.warns(UserWarning, match=r"not captured in a CUDA graph: capture failed \(RuntimeError: operation "
                                         r"not permitted when stream is capturing\); the step runs eagerly\.$"):
        static.fit(x, y, batch_size=BATCH, verbose=0)
    assert step.reason.startswith("capture failed") and not step.use_graph and step.replays == 0
    assert step.eager_steps == 19 and step.other_shape_steps == 1
    for a, b in zip(plain.get_weights(), static.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(static.optimizer.iterations) == 20


class _FakeStream:
    def wait_stream(self, other):
        pass


@pytest.fixture
def fake_cuda(monkeypatch):
    """CUDA's stream and graph calls, faked on the CPU. The fake graph executes the step during
    "capture" (a real capture records without running, and the first replay runs it), so its first
    replay does nothing and each later replay runs ``GraphStep.body`` again: the bookkeeping of
    ``GraphStep`` (static buffers, warm-up, capture, replay order) is what is under test."""
    monkeypatch.setattr(torch.cuda, "Stream", _FakeStream)
    monkeypatch.setattr(torch.cuda, "current_stream", _FakeStream)
    monkeypatch.setattr(torch.cuda, "stream", lambda s: contextlib.nullcontext())
    holder = {}

    class Graph:
        def __init__(self):
            self.replays = 0
            holder["graph"] = self

        def replay(self):
            if self.replays:
                holder["step"].body()
            self.replays += 1

    monkeypatch.setattr(torch.cuda, "CUDAGraph", Graph)
    monkeypatch.setattr(torch.cuda, "graph", lambda g: contextlib.nullcontext())
    return holder


def test_warm_up_capture_and_replays_train_exactly_as_fit(monkeypatch, fake_cuda):
    x, y = data()
    plain, static = model(), model(jit_compile=True)
    step = fake_cuda["step"] = GraphStep(static._trainer, use_graph=True)
    monkeypatch.setattr(capture, "train_step_for",
                        lambda trainer, device: step if trainer is static._trainer else trainer.train_step)
    keras.utils.set_random_seed(1)
    h1 = plain.fit(x, y, batch_size=BATCH, epochs=2, verbose=0)
    keras.utils.set_random_seed(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h2 = static.fit(x, y, batch_size=BATCH, epochs=2, verbose=0)
    # 2 x 19 full batches: 3 warm-up steps, 1 captured (run by its replay), 34 more replays
    assert (step.eager_steps, step.replays, step.other_shape_steps) == (3, 35, 2)
    for a, b in zip(plain.get_weights(), static.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert h1.history == h2.history


class _Rebinding(keras.metrics.Mean):
    """A metric that replaces its state tensor at each update: a graph would keep writing the old one."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._ensure(y_pred.device)
        self.total = self.total + y_pred.detach().sum()
        self.count = self.count + y_pred.shape[0]


def test_a_step_that_replaces_state_tensors_is_not_captured(monkeypatch, fake_cuda):
    monkeypatch.setattr(torch.cuda, "CUDAGraph", lambda: pytest.fail("captured a step that rebinds its state"))
    x, y = data(n=6 * BATCH)
    m = model()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=[_Rebinding(name="sum_pred")],
              jit_compile=True)
    step = fake_cuda["step"] = GraphStep(m._trainer, use_graph=True)
    monkeypatch.setattr(capture, "train_step_for", lambda trainer, device: step)
    with pytest.warns(UserWarning, match=r"a step replaced a state tensor .* instead of updating it in place"):
        m.fit(x, y, batch_size=BATCH, verbose=0)
    assert not step.use_graph and step.eager_steps == 6 and step.replays == 0
