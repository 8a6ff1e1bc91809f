"""initium.training.progress.Progbar against real Keras's Progbar (the oracle), with a fake clock."""

from __future__ import annotations

import contextlib
import io
import re
import time
import types
from collections.abc import Mapping

import keras
import numpy as np
import pytest

import initium
from initium import callbacks
from initium.training.progress import Progbar, format_time_per_unit, format_value

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Clock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(time, "time", c)
    return c


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


class CountingMapping(Mapping):
    """A mapping that counts how often its content is read."""

    def __init__(self, data: dict) -> None:
        self.data = dict(data)
        self.reads = 0

    def __getitem__(self, k):
        self.reads += 1
        return self.data[k]

    def __iter__(self):
        self.reads += 1
        return iter(self.data)

    def __len__(self):
        self.reads += 1
        return len(self.data)


def frames(raw: str) -> list[str]:
    """Visible lines of a progress output: ANSI codes and backspaces removed, split on \\r and \\n."""
    text = ANSI.sub("", raw).replace("\b", "")
    return [f.rstrip() for f in re.split(r"[\r\n]", text) if f.strip()]


def run_keras(target, updates, clock, verbose=1, interval=0.05, width=20, unit_name="step"):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        bar = keras.utils.Progbar(target, width=width, verbose=verbose, interval=interval, stateless_metrics=set(),
                                  unit_name=unit_name)
        for dt, current, values, finalize in updates:
            clock.now += dt
            bar.update(current, None if values is None else list(values.items()), finalize=finalize)
    return buf.getvalue()


def run_ours(target, updates, clock, stream, verbose=1, interval=0.05, width=20, unit_name="step"):
    bar = Progbar(target, width=width, verbose=verbose, interval=interval, stream=stream, unit_name=unit_name)
    for dt, current, values, finalize in updates:
        clock.now += dt
        bar.update(current, values, finalize=finalize)
    return stream.getvalue()


def steady(target, dt, values, finalize_last=True):
    return [(dt, i, values, (i == target) if finalize_last else None) for i in range(1, target + 1)]


CASES = {
    "ms_per_step": (4, steady(4, 0.007, {"accuracy": 0.4375, "loss": 1.2054})),
    "s_per_step": (3, steady(3, 2.5, {"loss": 0.25})),
    "us_per_step": (5, steady(5, 0.0004, {"loss": 0.00042, "mae": -0.5})),
    "wide_target": (120, steady(120, 0.03, {"loss": 3.0, "val": 1e-5})),
    "changing_values": (3, [(0.01, 1, {"loss": 2.0}, False), (0.01, 2, {"loss": 1.5}, False),
                            (0.01, 3, {"loss": 1.0, "val_loss": 0.9}, True)]),
    "array_value": (2, steady(2, 0.01, {"f1": np.array([0.25, 0.75], dtype=np.float32)})),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_final_line_matches_keras(case, clock):
    target, updates = CASES[case]
    clock.now = 1000.0
    k = frames(run_keras(target, updates, clock))[-1]
    clock.now = 1000.0
    out = run_ours(target, updates, clock, io.StringIO())
    assert out.count("\n") == 1 and out.endswith("\n")
    assert out.rstrip("\n") == k


def test_known_keras_line(clock):
    out = run_ours(4, steady(4, 0.007, {"accuracy": 0.4375, "loss": 1.2054}), clock, io.StringIO())
    assert out == "4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 7ms/step - accuracy: 0.4375 - loss: 1.2054\n"


@pytest.mark.parametrize("case", sorted(CASES))
def test_tty_frames_match_keras(case, clock):
    target, updates = CASES[case]
    clock.now = 1000.0
    k = frames(run_keras(target, updates, clock, interval=0.05))
    clock.now = 1000.0
    ours = run_ours(target, updates, clock, TTY(), interval=0.05)
    assert "\b" not in ours and ours.startswith("\r") and ours.endswith("\n")
    assert frames(ours) == k


def test_eta_formats_match_keras(clock):
    # slow steps: ETA in seconds, m:ss and h:mm:ss while running
    for dt, target in ((0.5, 50), (2.0, 100), (60.0, 200)):
        updates = [(dt, i, {"loss": 1.0 / i}, False) for i in range(1, 6)]
        clock.now = 1000.0
        k = frames(run_keras(target, updates, clock))
        clock.now = 1000.0
        ours = frames(run_ours(target, updates, clock, TTY()))
        assert ours == k
    assert re.search(r" \d+:\d\d:\d\d ", ours[-1])


def test_unknown_target_matches_keras(clock):
    updates = [(0.01, 1, {"loss": 1.0}, False), (0.01, 2, {"loss": 0.5}, False), (0.01, 3, {"loss": 0.4}, True)]
    k = frames(run_keras(None, updates, clock))
    clock.now = 1000.0
    ours = frames(run_ours(None, updates, clock, TTY()))
    clock.now = 1000.0
    plain = run_ours(None, updates, clock, io.StringIO())
    assert ours == k
    assert plain == k[-1] + "\n"
    assert "/Unknown" in plain


def test_verbose2_matches_keras(clock):
    updates = steady(3, 0.005, {"accuracy": 0.3958, "loss": 1.1506, "val_accuracy": 0.3125, "val_loss": 1.0886})
    k = run_keras(3, updates, clock, verbose=2)
    clock.now = 1000.0
    ours = run_ours(3, updates, clock, io.StringIO(), verbose=2)
    assert ours == k
    assert ours == "3/3 - 0s - 5ms/step - accuracy: 0.3958 - loss: 1.1506 - val_accuracy: 0.3125 - val_loss: 1.0886\n"


def test_verbose2_negative_values_use_abs(clock):
    # Keras's verbose=2 path tests `v > 1e-3` (so -0.5 prints as -5.0000e-01); both modes here use |v|.
    out = run_ours(2, steady(2, 0.01, {"cos": -0.5}), clock, io.StringIO(), verbose=2)
    assert out.endswith("- cos: -0.5000\n")


def test_verbose0_prints_nothing(clock):
    values = CountingMapping({"loss": 1.0})
    out = run_ours(3, steady(3, 0.1, values), clock, TTY(), verbose=0)
    assert out == "" and values.reads == 0


def test_non_tty_has_no_control_characters(clock):
    out = run_ours(200, steady(200, 0.01, {"loss": 0.5, "accuracy": 0.9}), clock, io.StringIO())
    assert "\x1b" not in out and "\r" not in out and "\b" not in out
    assert out.count("\n") == 1


def test_tty_colors_as_keras_and_no_color(clock, monkeypatch):
    clock.now = 1000.0
    k = run_keras(4, steady(4, 0.007, {"loss": 1.0}), clock)
    clock.now = 1000.0
    ours = run_ours(4, steady(4, 0.007, {"loss": 1.0}), clock, TTY())
    assert ours.replace("\b", "") == k.replace("\b", "")  # same bytes apart from Keras's backspaces
    monkeypatch.setenv("NO_COLOR", "1")
    clock.now = 1000.0
    plain = run_ours(4, steady(4, 0.007, {"loss": 1.0}), clock, TTY())
    assert "\x1b" not in plain and "\r" in plain


def test_values_read_only_when_drawing_non_tty(clock):
    values = CountingMapping({"loss": 0.5})
    bar = Progbar(100, stream=io.StringIO())
    for i in range(1, 100):
        clock.now += 1.0
        bar.update(i, values)
    assert values.reads == 0
    bar.update(100, values)
    assert values.reads > 0
    n = values.reads
    assert n <= 3  # one pass over the items


def test_values_read_at_most_every_interval_on_tty(clock):
    values = CountingMapping({"loss": 0.5})
    stream = TTY()
    bar = Progbar(1000, stream=stream, interval=0.25)
    draws = 0
    for i in range(1, 1000):
        clock.now += 0.01  # 100 steps per second: a draw every 25 steps
        before = stream.tell()
        bar.update(i, values)
        draws += stream.tell() != before
    assert 35 <= draws <= 45
    assert values.reads <= 3 * draws


def test_lazy_logs_forced_once_per_draw(clock):
    calls = []

    def fn():
        calls.append(1)
        return {"loss": 0.25}

    bar = Progbar(10, stream=io.StringIO())
    for i in range(1, 10):
        bar.update(i, callbacks.LazyLogs(fn))
    assert calls == []
    bar.update(10, callbacks.LazyLogs(fn))
    assert len(calls) == 1


def test_add_and_default_finalize(clock):
    stream = io.StringIO()
    bar = Progbar(4, stream=stream)
    bar.add(2, {"loss": 1.0})
    assert stream.getvalue() == ""
    clock.now += 0.01
    bar.add(2)  # reaches the target: finalize=None means current >= target
    assert stream.getvalue().startswith("4/4 ")
    assert "loss: 1.0000" in stream.getvalue()


def test_list_of_pairs_accepted(clock):
    out = run_ours(1, [(0.01, 1, [("b", 2.0), ("a", 1.0)], True)], clock, io.StringIO())
    assert out.endswith("- b: 2.0000 - a: 1.0000\n")


def test_formatters():
    assert format_value(0.4375) == "0.4375"
    assert format_value(0.0005) == "5.0000e-04"
    assert format_value(-0.0005) == "-5.0000e-04"
    assert format_value(-2.0) == "-2.0000"
    assert format_value(np.float32(0.5)) == "0.5000"
    assert format_value(3) == "3.0000"
    assert format_time_per_unit(0.007) == "7ms/step"
    assert format_time_per_unit(2.4) == "2s/step"
    assert format_time_per_unit(0.0004, "sample") == "400us/sample"
    assert format_time_per_unit(0) == "0s/step"


def test_argument_errors():
    with pytest.raises(ValueError, match=r"`target` must be a non-negative integer or None. Received: target=-1"):
        Progbar(-1)
    with pytest.raises(ValueError, match=r"`verbose` must be 0, 1 or 2. Received: verbose=3"):
        Progbar(4, verbose=3)
    with pytest.raises(ValueError, match=r"`width` must be a positive integer. Received: width=0"):
        Progbar(4, width=0)


def test_default_stream_is_stdout(clock, capsys):
    bar = Progbar(1)
    bar.update(1, {"loss": 1.0})
    assert capsys.readouterr().out == "1/1 ━━━━━━━━━━━━━━━━━━━━ 0s 0s/step - loss: 1.0000\n"


# ------------------------------------------------------------------ ProgbarLogger through CallbackList

def _drive_fit(cbs, epochs, steps, clock, logs_fn, epoch_logs):
    cbs.on_train_begin()
    for epoch in range(epochs):
        cbs.on_epoch_begin(epoch)
        for step in range(steps):
            cbs.on_train_batch_begin(step)
            clock.now += 0.007
            cbs.on_train_batch_end(step, callbacks.LazyLogs(logs_fn))
        cbs.on_epoch_end(epoch, dict(epoch_logs))
    cbs.on_train_end(dict(epoch_logs))


def test_progbar_logger_fit_output_non_tty(clock, capsys):
    forced = []

    def logs_fn():
        forced.append(1)
        return {"loss": 9.0}

    model = initium.Sequential([initium.Input((2,)), initium.layers.Dense(1)])
    cbs = callbacks.CallbackList(None, add_history=True, add_progbar=True, model=model, verbose=1, epochs=2, steps=4)
    _drive_fit(cbs, 2, 4, clock, logs_fn, {"accuracy": 0.4375, "loss": 1.2054})
    out = capsys.readouterr().out
    line = "4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 7ms/step - accuracy: 0.4375 - loss: 1.2054\n"
    assert out == "Epoch 1/2\n" + line + "Epoch 2/2\n" + line
    assert forced == []  # batch logs were never read: no device sync per step
    assert model.history.history == {"accuracy": [0.4375, 0.4375], "loss": [1.2054, 1.2054]}


def test_progbar_logger_matches_keras_progbar_logger(clock, capsys):
    logs = {"accuracy": 0.5, "loss": 0.75}
    kcbs = keras.callbacks.CallbackList(None, add_history=True, add_progbar=True, model=types.SimpleNamespace(),
                                        verbose=2, epochs=3, steps=5)
    clock.now = 1000.0
    kcbs.on_train_begin()
    for epoch in range(3):
        kcbs.on_epoch_begin(epoch)
        for step in range(5):
            clock.now += 0.02
            kcbs.on_train_batch_end(step, dict(logs))
        kcbs.on_epoch_end(epoch, dict(logs))
    kcbs.on_train_end(dict(logs))
    k = capsys.readouterr().out
    clock.now = 1000.0
    cbs = callbacks.CallbackList(None, add_history=True, add_progbar=True, model=None, verbose=2, epochs=3, steps=5)
    cbs.on_train_begin()
    for epoch in range(3):
        cbs.on_epoch_begin(epoch)
        for step in range(5):
            clock.now += 0.02
            cbs.on_train_batch_end(step, callbacks.LazyLogs(lambda: dict(logs)))
        cbs.on_epoch_end(epoch, dict(logs))
    cbs.on_train_end(dict(logs))
    assert capsys.readouterr().out == k
    assert k.startswith("Epoch 1/3\n5/5 - 0s - 20ms/step - accuracy: 0.5000 - loss: 0.7500\n")


def test_progbar_logger_single_epoch_no_epoch_line(clock, capsys):
    cbs = callbacks.CallbackList(None, add_progbar=True, verbose=1, epochs=1, steps=2)
    _drive_fit(cbs, 1, 2, clock, lambda: {"loss": 1.0}, {"loss": 0.5})
    out = capsys.readouterr().out
    assert "Epoch" not in out and out.startswith("2/2 ")


def test_progbar_logger_evaluate_and_predict(clock, capsys):
    cbs = callbacks.CallbackList(None, add_progbar=True, verbose=1, epochs=1, steps=3)
    cbs.on_test_begin()
    for step in range(3):
        clock.now += 0.01
        cbs.on_test_batch_end(step, callbacks.LazyLogs(lambda: {"loss": 1.0}))
    cbs.on_test_end({"loss": 0.125})
    assert capsys.readouterr().out == "3/3 ━━━━━━━━━━━━━━━━━━━━ 0s 10ms/step - loss: 0.1250\n"
    cbs = callbacks.CallbackList(None, add_progbar=True, verbose=1, epochs=1, steps=None)
    cbs.on_predict_begin()
    for step in range(2):
        clock.now += 0.01
        cbs.on_predict_batch_end(step, {"outputs": 1.0})
    cbs.on_predict_end()
    assert capsys.readouterr().out == "2/2 ━━━━━━━━━━━━━━━━━━━━ 0s 10ms/step\n"


def test_progbar_logger_validation_in_fit_is_silent(clock, capsys):
    cbs = callbacks.CallbackList(None, add_progbar=True, verbose=1, epochs=1, steps=1)
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_train_batch_end(0, callbacks.LazyLogs(lambda: {"loss": 1.0}))
    cbs.on_test_begin()
    cbs.on_test_batch_end(0, callbacks.LazyLogs(lambda: {"loss": 2.0}))
    cbs.on_test_end({"loss": 2.0})
    cbs.on_epoch_end(0, {"loss": 1.0, "val_loss": 2.0})
    cbs.on_train_end()
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.endswith("- loss: 1.0000 - val_loss: 2.0000\n")
