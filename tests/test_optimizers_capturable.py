"""Every optimizer keeps its step counter and learning rate on the device (issue 16, part 2a).

For each optimizer (and its variants) and each kind of learning rate (a constant and every
schedule), 20 steps of ``optimizer.apply`` are compared with an independent host-side reference:
the Keras update rules written in float64 numpy here, with the step number a Python int and the
learning rate evaluated on the host from the schedule's formula. After the first step (which
creates the optimizer's state and constants), every step runs under
``capture.no_host_sync(allow_host_data=False)``: any ``.item()``, ``float()``, ``bool()`` on a
tensor, data-dependent shape or ``torch.tensor(...)`` in the update raises, so the update is what
a CUDA graph can capture, and it equals the host-side rule within 1e-6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from initium import optimizers as IO
from initium.optimizers import schedules as IS
from initium.training.capture import HostSyncError, no_host_sync

STEPS = 20
TOL = 1e-6
LR = 0.01

# ------------------------------------------------------------------ host-side reference: schedules


def _cosine(s, steps, alpha, peak):
    return peak * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * s / steps)) + alpha)


def _restarts(s, first, t_mul, m_mul, alpha, lr0):
    done = s / first
    if t_mul == 1.0:
        i = math.floor(done)
        done -= i
    else:
        i = math.floor(math.log(1 - done * (1 - t_mul)) / math.log(t_mul))
        done = (done - (1 - t_mul ** i) / (1 - t_mul)) / t_mul ** i
    return lr0 * ((1 - alpha) * 0.5 * m_mul ** i * (1 + math.cos(math.pi * done)) + alpha)


def _polynomial(s, steps, end, power, cycle, lr0):
    if cycle:
        steps = steps * (1 if s == 0 else math.ceil(s / steps))
    else:
        s = min(s, steps)
    return (lr0 - end) * (1 - s / steps) ** power + end


def _warm_cosine(s, steps, warm, target, lr0):
    if s < warm:
        return lr0 + (target - lr0) * s / warm
    return _cosine(min(s - warm, steps), steps, 0.0, target)


# name -> (initium schedule or None for a constant, host formula of the step number)
LR_SPECS = {
    "constant": (lambda: LR, lambda s: LR),
    "exponential": (lambda: IS.ExponentialDecay(LR, 5, 0.5), lambda s: LR * 0.5 ** (s / 5)),
    "exponential_staircase": (lambda: IS.ExponentialDecay(LR, 4, 0.7, staircase=True),
                              lambda s: LR * 0.7 ** (s // 4)),
    "piecewise": (lambda: IS.PiecewiseConstantDecay([3, 9], [LR, LR / 2, LR / 5]),
                  lambda s: LR if s <= 3 else (LR / 2 if s <= 9 else LR / 5)),
    "polynomial": (lambda: IS.PolynomialDecay(LR, 12, end_learning_rate=LR / 10, power=2.0),
                   lambda s: _polynomial(s, 12, LR / 10, 2.0, False, LR)),
    "polynomial_cycle": (lambda: IS.PolynomialDecay(LR, 7, end_learning_rate=LR / 10, cycle=True),
                         lambda s: _polynomial(s, 7, LR / 10, 1.0, True, LR)),
    "inverse_time": (lambda: IS.InverseTimeDecay(LR, 3, 0.5), lambda s: LR / (1 + 0.5 * s / 3)),
    "cosine": (lambda: IS.CosineDecay(LR, 15, alpha=0.1), lambda s: _cosine(min(s, 15), 15, 0.1, LR)),
    "cosine_warmup": (lambda: IS.CosineDecay(LR / 10, 10, warmup_target=LR, warmup_steps=5),
                      lambda s: _warm_cosine(s, 10, 5, LR, LR / 10)),
    "cosine_restarts": (lambda: IS.CosineDecayRestarts(LR, 4, t_mul=2.0, m_mul=0.8, alpha=0.05),
                        lambda s: _restarts(s, 4, 2.0, 0.8, 0.05, LR)),
    "cosine_restarts_t1": (lambda: IS.CosineDecayRestarts(LR, 6, t_mul=1.0),
                           lambda s: _restarts(s, 6, 1.0, 1.0, 0.0, LR)),
}

# ------------------------------------------------------------------ host-side reference: update rules


def _sgd(momentum=0.0, nesterov=False):
    def rule(w, g, st, lr, t):
        if momentum == 0:
            return w - lr * g
        m = st.get("m", 0.0)
        m = momentum * m - lr * g
        st["m"] = m
        return w + momentum * m - lr * g if nesterov else w + m
    return rule


def _adam(b1=0.9, b2=0.999, eps=1e-7, amsgrad=False, wd=None):
    def rule(w, g, st, lr, t):
        if wd:
            w = w * (1 - wd * lr)
        m = st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        v = st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g * g
        if amsgrad:
            v = st["vh"] = np.maximum(st.get("vh", 0.0), v)
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return w - alpha * m / (np.sqrt(v) + eps)
    return rule


def _rmsprop(rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    def rule(w, g, st, lr, t):
        s = st["s"] = rho * st.get("s", 0.0) + (1 - rho) * g * g
        d = s + eps
        if centered:
            a = st["a"] = rho * st.get("a", 0.0) + (1 - rho) * g
            d = d - a * a
        inc = lr * g / np.sqrt(d)
        if momentum > 0:
            m = st["m"] = momentum * st.get("m", 0.0) + inc
            return w - m
        return w - inc
    return rule


def _adagrad(init=0.1, eps=1e-7):
    def rule(w, g, st, lr, t):
        acc = st["acc"] = st.get("acc", init) + g * g
        return w - lr * g / np.sqrt(acc + eps)
    return rule


def _adadelta(rho=0.95, eps=1e-7):
    def rule(w, g, st, lr, t):
        eg = st["eg"] = rho * st.get("eg", 0.0) + (1 - rho) * g * g
        d = np.sqrt(st.get("ed", 0.0) + eps) / np.sqrt(eg + eps) * g
        st["ed"] = rho * st.get("ed", 0.0) + (1 - rho) * d * d
        return w - lr * d
    return rule


def _adamax(b1=0.9, b2=0.999, eps=1e-7):
    def rule(w, g, st, lr, t):
        m = st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        u = st["u"] = np.maximum(b2 * st.get("u", 0.0), np.abs(g))
        return w - lr * m / ((1 - b1 ** t) * (u + eps))
    return rule


def _nadam(b1=0.9, b2=0.999, eps=1e-7):
    def rule(w, g, st, lr, t):
        u_t = b1 * (1 - 0.5 * 0.96 ** t)
        u_t1 = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        # u_product is shared by all variables: updated once per step (by the first variable).
        if st["shared"].get("t") != t:
            st["shared"]["t"], st["shared"]["up"] = t, st["shared"].get("up", 1.0) * u_t
        up = st["shared"]["up"]
        m = st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        v = st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g * g
        m_hat = u_t1 * m / (1 - up * u_t1) + (1 - u_t) * g / (1 - up)
        v_hat = v / (1 - b2 ** t)
        return w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return rule


def _lion(b1=0.9, b2=0.99):
    def rule(w, g, st, lr, t):
        m = st.get("m", 0.0)
        w = w - lr * np.sign(b1 * m + (1 - b1) * g)
        st["m"] = b2 * m + (1 - b2) * g
        return w
    return rule


# name -> (initium optimizer factory taking the learning rate, host rule)
OPTIMIZERS = {
    "sgd": (lambda lr: IO.SGD(lr), _sgd()),
    "sgd_momentum": (lambda lr: IO.SGD(lr, momentum=0.9), _sgd(0.9)),
    "sgd_nesterov": (lambda lr: IO.SGD(lr, momentum=0.8, nesterov=True), _sgd(0.8, True)),
    "adam": (lambda lr: IO.Adam(lr), _adam()),
    "adam_amsgrad": (lambda lr: IO.Adam(lr, amsgrad=True), _adam(amsgrad=True)),
    "adamw": (lambda lr: IO.AdamW(lr, weight_decay=0.3), _adam(wd=0.3)),
    "rmsprop": (lambda lr: IO.RMSprop(lr), _rmsprop()),
    "rmsprop_centered_momentum": (lambda lr: IO.RMSprop(lr, momentum=0.5, centered=True),
                                  _rmsprop(momentum=0.5, centered=True)),
    "adagrad": (lambda lr: IO.Adagrad(lr), _adagrad()),
    "adadelta": (lambda lr: IO.Adadelta(lr, epsilon=1e-2), _adadelta(eps=1e-2)),  # moves visibly in 20 steps
    "adamax": (lambda lr: IO.Adamax(lr), _adamax()),
    "nadam": (lambda lr: IO.Nadam(lr), _nadam()),
    "lion": (lambda lr: IO.Lion(lr), _lion()),
}

SHAPES = [(3, 4), (4,)]


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    w0 = [(0.5 * rng.standard_normal(s)).astype(np.float32) for s in SHAPES]
    grads = [[(0.5 * rng.standard_normal(s)).astype(np.float32) for s in SHAPES] for _ in range(STEPS)]
    return w0, grads


def _host_reference(rule, lr_of, w0, grads):
    """Float64, step number and learning rate on the host."""
    ws = [w.astype(np.float64) for w in w0]
    shared: dict = {}
    states = [{"shared": shared} for _ in ws]
    for i, gs in enumerate(grads):
        lr = lr_of(i)  # the schedule is evaluated at iterations = the steps already done
        ws = [rule(w, g.astype(np.float64), st, lr, i + 1) for w, g, st in zip(ws, gs, states)]
    return ws


def _device_run(make_opt, make_lr, w0, grads):
    ws = [torch.tensor(w) for w in w0]
    opt = make_opt(make_lr())
    for i, gs in enumerate(grads):
        gt = [torch.from_numpy(g) for g in gs]
        if i == 0:  # the first step builds the state and caches the constants
            opt.apply(gt, ws)
        else:
            with no_host_sync(allow_host_data=False):
                opt.apply(gt, ws)
    return opt, [w.numpy() for w in ws]


@pytest.mark.parametrize("lr_name", list(LR_SPECS))
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_device_side_update_equals_host_side_rule(opt_name, lr_name):
    make_opt, rule = OPTIMIZERS[opt_name]
    make_lr, lr_of = LR_SPECS[lr_name]
    w0, grads = _data()
    opt, ours = _device_run(make_opt, make_lr, w0, grads)
    ref = _host_reference(rule, lr_of, w0, grads)
    for o, r in zip(ours, ref):
        np.testing.assert_allclose(o, r, rtol=TOL, atol=TOL)
    # the weights moved (a rule that does nothing would not pass by accident)
    assert not np.allclose(ours[0], w0[0], atol=1e-4)
    # Keras's state: iterations counts the steps, on the variables' device, as a tensor
    assert isinstance(opt.iterations, torch.Tensor) and int(opt.iterations) == STEPS
    assert float(opt.learning_rate) == pytest.approx(lr_of(STEPS), rel=1e-6)


@pytest.mark.parametrize("clip", [{"clipnorm": 0.5}, {"global_clipnorm": 0.7}, {"clipvalue": 0.2}])
def test_clipping_and_weight_decay_run_without_host_sync(clip):
    w0, grads = _data(1)
    make = lambda lr: IO.Adam(lr, weight_decay=0.1, **clip)  # noqa: E731
    _, ours = _device_run(make, LR_SPECS["cosine_warmup"][0], w0, grads)
    assert all(np.isfinite(o).all() for o in ours)


def test_learning_rate_assignment_is_in_place():
    """ReduceLROnPlateau-style assignment fills the same device tensor a captured graph reads."""
    opt = IO.Adam(0.01)
    w = [torch.zeros(3)]
    opt.apply([torch.ones(3)], w)
    before = opt._learning_rate
    with no_host_sync(allow_host_data=False):
        opt.learning_rate = torch.full((), 0.005)
    opt.learning_rate = 0.002
    assert opt._learning_rate is before and float(before) == pytest.approx(0.002)


def test_the_guard_would_catch_a_host_read_in_an_update():
    """The check above can fail: an optimizer whose update reads its learning rate on the host."""

    class HostLR(IO.SGD):
        def _update(self, variables, grads, slots, lr):
            torch._foreach_add_(variables, grads, alpha=-float(lr))

    w = [torch.zeros(3)]
    opt = HostLR(0.1)
    opt.apply([torch.ones(3)], w)
    with pytest.raises(HostSyncError, match=r"__float__\(\) reads a tensor.s value on the host"), no_host_sync():
        opt.apply([torch.ones(3)], w)
