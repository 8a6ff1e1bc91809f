"""The user's seed tutorials (/work/shared/seeds/*.txt), run with ``import initium as keras``.

Each test replays the tutorial's code and checks what the tutorial says the reader will see,
against real Keras where Keras can be asked the same question. Seed 003's three scripts also run
verbatim (``import tensorflow as tf`` bound to initium) and are trained on the bundled digits.
"""

import re
import warnings

import numpy as np
import pytest
from scipy import stats

import initium as keras
from initium.layers import Activation, Dense  # noqa: F401  (seed 001 imports both)
from initium.models import Sequential


def _real_keras():
    import keras as real

    return real


# ---------------------------------------------------------------------------------------- seed 001
def _seed001(k, Seq, D):
    return Seq([
        D(4, input_shape=(1,), activation="relu", use_bias=True, bias_initializer="zeros"),
        D(2, activation="softmax"),
    ])


def test_seed001_get_weights_shapes_zero_biases_and_glorot_bounds():
    model = _seed001(keras, Sequential, Dense)
    weights = model.get_weights()
    assert len(weights) == 4
    assert [w.shape for w in weights] == [(1, 4), (4,), (4, 2), (2,)]
    assert all(w.dtype == np.float32 for w in weights)
    assert np.all(weights[1] == 0.0) and np.all(weights[3] == 0.0)  # 'zeros' and the default
    for kernel, (fan_in, fan_out) in ((weights[0], (1, 4)), (weights[2], (4, 2))):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        assert np.all(np.abs(kernel) <= limit) and np.any(kernel != 0.0)
    real = _real_keras()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras: "Do not pass an `input_shape`..."
        theirs = _seed001(real, real.Sequential, real.layers.Dense)
    assert [w.shape for w in theirs.get_weights()] == [w.shape for w in weights]
    assert [w.dtype for w in theirs.get_weights()] == [w.dtype for w in weights]
    assert [type(l).__name__ for l in model.layers] == [type(l).__name__ for l in theirs.layers] == ["Dense", "Dense"]


def _pooled_kernels(build, seed_fn, n_builds):
    """Kernels of many seeded builds, each divided by its Glorot limit (so U(-1, 1) if Glorot uniform)."""
    values = []
    for seed in range(n_builds):
        seed_fn(seed)
        w = build().get_weights()
        values.append(w[0].ravel() / np.sqrt(6.0 / 5.0))
        values.append(w[2].ravel() / np.sqrt(6.0 / 6.0))
    return np.concatenate(values)


def test_seed001_kernel_distribution_matches_keras():
    real = _real_keras()
    n_builds = 250  # 250 x (4 + 8) = 3000 values per library
    ours = _pooled_kernels(lambda: _seed001(keras, Sequential, Dense), keras.random.set_random_seed, n_builds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = _pooled_kernels(lambda: _seed001(real, real.Sequential, real.layers.Dense),
                                 real.utils.set_random_seed, n_builds)
    n = ours.size
    assert theirs.size == n == 3000
    # U(-1, 1): mean 0, variance 1/3; var(sample variance) = (mu4 - sigma^4) / n = (1/5 - 1/9) / n
    se_mean = np.sqrt(1 / 3 / n)
    se_var = np.sqrt((1 / 5 - 1 / 9) / n)
    for sample in (ours, theirs):
        assert np.all(np.abs(sample) <= 1.0)
        assert abs(sample.mean()) < 4 * se_mean
        assert abs(sample.var() - 1 / 3) < 4 * se_var
    assert abs(ours.var() - theirs.var()) < 4 * np.sqrt(2) * se_var
    assert abs(ours.std() - theirs.std()) < 4 * np.sqrt(2) * se_var / (2 * np.sqrt(1 / 3))  # delta method
    assert stats.kstest(ours, stats.uniform(loc=-1, scale=2).cdf).pvalue > 1e-4
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-4
    # the same seed gives the same model; different seeds give different ones
    keras.random.set_random_seed(5)
    a = _seed001(keras, Sequential, Dense).get_weights()
    keras.random.set_random_seed(5)
    b = _seed001(keras, Sequential, Dense).get_weights()
    keras.random.set_random_seed(6)
    c = _seed001(keras, Sequential, Dense).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


# ---------------------------------------------------------------------------------------- seed 002
def _seed002(k):
    bias_initializer = k.initializers.HeNormal()
    input_shape = (28, 28, 1)
    return k.Sequential([
        k.Input(shape=input_shape),
        k.layers.Conv2D(32, kernel_size=(3, 3), activation="relu", use_bias=True, bias_initializer=bias_initializer),
        k.layers.Flatten(),
        k.layers.Dense(10, activation="relu", use_bias=True, bias_initializer="zeros"),
        k.layers.Dense(1, activation="softmax"),
    ])


def _summary_totals(model):
    lines = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(str(line)))
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(lines))
    totals = {}
    for key in ("Total", "Trainable", "Non-trainable"):
        m = re.search(rf"{key} params: ([\d,]+) \(([\d.]+ [KMG]?B)\)", text)
        assert m, f"no '{key} params' line in:\n{text}"
        totals[key] = (m.group(1), m.group(2))
    return totals


def test_seed002_cnn_weights_and_biases():
    model = _seed002(keras)
    conv = model.layers[0]
    assert type(conv).__name__ == "Conv2D"
    w = conv.get_weights()
    assert len(w) == 2
    assert w[0].shape == (3, 3, 1, 32) and w[1].shape == (32,)
    # HeNormal bias: fan_in of a rank-1 shape is its length (32); truncated normal cut at 2 stddev
    stddev = np.sqrt(2.0 / 32) / 0.87962566103423978
    assert np.all(np.abs(w[1]) <= 2 * stddev) and np.count_nonzero(w[1]) == 32
    assert type(conv.bias_initializer).__name__ == "HeNormal"
    dense10 = model.layers[2]
    assert dense10.get_weights()[1].shape == (10,) and np.all(dense10.get_weights()[1] == 0.0)
    out = model.layers[3].get_weights()
    assert out[0].shape == (10, 1) and np.all(out[1] == 0.0)  # default bias: zeros
    real = _real_keras()
    theirs = _seed002(real)
    assert [x.shape for x in model.get_weights()] == [tuple(x.shape) for x in theirs.get_weights()]
    assert model.count_params() == theirs.count_params() == 216_661


def test_seed002_summary_totals_match_keras():
    real = _real_keras()
    ours = _summary_totals(_seed002(keras))
    assert ours == _summary_totals(_seed002(real))
    assert ours["Total"] == ("216,661", "846.33 KB")


def test_seed002_softmax_over_one_unit_warns():
    model = _seed002(keras)
    x = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
    with pytest.warns(UserWarning, match=r"size 1"):
        y = model(x)
    assert y.shape == (2, 1)
    np.testing.assert_array_equal(y.detach().numpy(), np.ones((2, 1), "float32"))  # always 1.0, as warned


# ---------------------------------------------------------------------------------------- seed 000
def test_seed000_layers_without_a_list_raise_a_helpful_type_error():
    bias_initializer = keras.initializers.HeNormal()
    with pytest.raises(TypeError, match=r"list.*square brackets"):
        keras.Sequential(
            keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu", use_bias=True,
                                bias_initializer=bias_initializer),
            keras.layers.Dense(10, activation="relu", use_bias=True, bias_initializer="zeros"),
            keras.layers.Dense(1, activation="softmax"),
        )


# ---------------------------------------------------------------------------------------- seed 003
def my_bias_initializer(shape, dtype=None):
    # The tutorial wraps this in tf.constant(..., dtype=dtype); the plain float64 array must work too.
    return np.random.uniform(low=-0.1, high=0.1, size=shape)


@pytest.mark.parametrize("bias_initializer", ["zeros", "random_normal", my_bias_initializer])
def test_seed003_dense_bias_initializers(bias_initializer):
    np.random.seed(3)
    keras.random.set_random_seed(3)
    model = keras.Sequential([
        keras.layers.Dense(64, activation="relu", kernel_initializer="glorot_uniform",
                           bias_initializer=bias_initializer, input_shape=(784,)),
        keras.layers.Dense(10, activation="softmax"),
    ])
    kernel, bias = model.layers[0].get_weights()
    assert kernel.shape == (784, 64) and bias.shape == (64,) and bias.dtype == np.float32
    assert np.all(np.abs(kernel) <= np.sqrt(6.0 / (784 + 64)))
    if bias_initializer == "zeros":
        assert np.all(bias == 0.0)
    elif bias_initializer == "random_normal":  # RandomNormal(0, 0.05)
        assert np.count_nonzero(bias) == 64 and 0.02 < bias.std() < 0.08
    else:
        assert np.all(np.abs(bias) <= 0.1) and np.unique(bias).size == 64
        np.random.seed(3)
        np.testing.assert_array_equal(bias, np.random.uniform(-0.1, 0.1, size=(64,)).astype("float32"))


# Seed 003's three code blocks, verbatim from the tutorial (the CI clone has no ../shared).
SEED003_SCRIPTS = [
    """
import tensorflow as tf

model = tf.keras.Sequential([
  tf.keras.layers.Dense(64, activation='relu', kernel_initializer='glorot_uniform', bias_initializer='zeros', input_shape=(784,)),
  tf.keras.layers.Dense(10, activation='softmax')
])

model.compile(optimizer='adam',
              loss='categorical_crossentropy',
              metrics=['accuracy'])
""",
    """
import tensorflow as tf

model = tf.keras.Sequential([
  tf.keras.layers.Dense(64, activation='relu', kernel_initializer='glorot_uniform', bias_initializer='random_normal', input_shape=(784,)),
  tf.keras.layers.Dense(10, activation='softmax')
])

model.compile(optimizer='adam',
              loss='categorical_crossentropy',
              metrics=['accuracy'])
""",
    """
import tensorflow as tf
import numpy as np

def my_bias_initializer(shape, dtype=None):
  return tf.constant(np.random.uniform(low=-0.1, high=0.1, size=shape), dtype=dtype)

model = tf.keras.Sequential([
  tf.keras.layers.Dense(64, activation='relu', kernel_initializer='glorot_uniform', bias_initializer=my_bias_initializer, input_shape=(784,)),
  tf.keras.layers.Dense(10, activation='softmax')
])

model.compile(optimizer='adam',
              loss='categorical_crossentropy',
              metrics=['accuracy'])
""",
]


def _tf_bound_to_initium():
    """A stand-in ``tensorflow`` module: ``tf.keras`` is initium, ``tf.constant`` makes a tensor."""
    import types

    tf = types.ModuleType("tensorflow")
    tf.keras = keras

    def constant(value, dtype=None):
        return keras.backend.to_tensor(np.asarray(value), dtype=dtype)

    tf.constant = constant
    return tf


def _digits_as_784():
    """The bundled 8x8 digits drawn as 28x28 images (each pixel a 3x3 block, 2 pixels of margin)."""
    (x_tr, y_tr), (x_te, y_te) = keras.datasets.digits.load_data()

    def up(x):
        big = np.kron(x.astype("float32") / 16.0, np.ones((1, 3, 3), "float32"))
        return np.pad(big, ((0, 0), (2, 2), (2, 2))).reshape(len(x), 784)

    return (up(x_tr), keras.utils.to_categorical(y_tr, 10)), (up(x_te), keras.utils.to_categorical(y_te, 10))


@pytest.mark.parametrize("arm", [0, 1, 2], ids=["zeros", "random_normal", "my_bias_initializer"])
def test_seed003_scripts_run_verbatim_and_train_on_digits(arm, monkeypatch):
    """Acceptance: the tutorial's scripts, only the import rebound, reach >= 0.90 test accuracy on digits."""
    import sys

    monkeypatch.setitem(sys.modules, "tensorflow", _tf_bound_to_initium())
    np.random.seed(0)
    keras.utils.set_random_seed(0)
    scope: dict = {}
    exec(compile(SEED003_SCRIPTS[arm], f"seed003_example{arm + 1}", "exec"), scope)
    model = scope["model"]
    (x_tr, y_tr), (x_te, y_te) = _digits_as_784()
    history = model.fit(x_tr, y_tr, batch_size=32, epochs=10, verbose=0)
    assert list(history.history) == ["accuracy", "loss"] and len(history.history["loss"]) == 10
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(x_te, y_te, verbose=0)
    assert acc >= 0.90, (arm, acc, loss)


# ---------------------------------------------------------------------------------------- seed 004
class ExampleRandomNormal(keras.initializers.Initializer):
    def __init__(self, mean, stddev):
        self.mean = mean
        self.stddev = stddev

    def __call__(self, shape, dtype=None):
        return keras.random.normal(shape, mean=self.mean, stddev=self.stddev, dtype=dtype)

    def get_config(self):  # To support serialization
        return {"mean": self.mean, "stddev": self.stddev}


def my_init(shape, dtype=None):
    return keras.random.normal(shape, dtype=dtype)


def _kernel_of(layer, fan_in=100):
    layer.build((None, fan_in))
    k = layer.get_weights()[0]
    assert k.shape == (fan_in, layer.units) and k.dtype == np.float32
    return k


def test_seed004_initializer_subclass_with_get_config():
    from initium import initializers, layers

    layer = layers.Dense(64, kernel_initializer=ExampleRandomNormal(mean=1.0, stddev=0.5))
    k = _kernel_of(layer)
    n = k.size  # 6400 values: the mean is within 4 standard errors, the std within 4 of its own
    assert abs(k.mean() - 1.0) < 4 * 0.5 / np.sqrt(n)
    assert abs(k.std() - 0.5) < 4 * 0.5 / np.sqrt(2 * n)
    assert stats.kstest(k.ravel(), stats.norm(loc=1.0, scale=0.5).cdf).pvalue > 1e-4
    cfg = layer.get_config()["kernel_initializer"]
    real = _real_keras()

    class KExampleRandomNormal(real.initializers.Initializer):
        def __init__(self, mean, stddev):
            self.mean, self.stddev = mean, stddev

        def __call__(self, shape, dtype=None):
            return real.random.normal(shape, mean=self.mean, stddev=self.stddev, dtype=dtype)

        def get_config(self):
            return {"mean": self.mean, "stddev": self.stddev}

    KExampleRandomNormal.__name__ = "ExampleRandomNormal"
    kcfg = real.layers.Dense(64, kernel_initializer=KExampleRandomNormal(1.0, 0.5)).get_config()["kernel_initializer"]
    # Keras stores the class's module ("test_seeds" here, None for __main__); initium stores None
    # (reported to the initializers owner), so "module" is left out of the comparison.
    assert {k: v for k, v in cfg.items() if k != "module"} == {k: v for k, v in kcfg.items() if k != "module"} == {
        "class_name": "ExampleRandomNormal", "config": {"mean": 1.0, "stddev": 0.5},
        "registered_name": "ExampleRandomNormal"}
    # the default from_config rebuilds it from get_config (the tutorial's note)
    again = ExampleRandomNormal.from_config(ExampleRandomNormal(1.0, 0.5).get_config())
    assert (again.mean, again.stddev) == (1.0, 0.5)
    # and the keras-io snippet's other initializers, by object and by string
    a = layers.Dense(units=64, kernel_initializer=initializers.RandomNormal(stddev=0.01),
                     bias_initializer=initializers.Zeros())
    b = layers.Dense(units=64, kernel_initializer="random_normal", bias_initializer="zeros")
    for layer, stddev in ((a, 0.01), (b, 0.05)):  # 'random_normal' is RandomNormal(stddev=0.05)
        k = _kernel_of(layer)
        assert abs(k.std() - stddev) < 4 * stddev / np.sqrt(2 * k.size)
        assert np.all(layer.get_weights()[1] == 0.0)


def test_seed004_plain_callable_initializer():
    from initium import layers

    layer = layers.Dense(64, kernel_initializer=my_init)
    k = _kernel_of(layer)
    n = k.size
    assert abs(k.mean()) < 4 / np.sqrt(n) and abs(k.std() - 1.0) < 4 / np.sqrt(2 * n)
    assert stats.kstest(k.ravel(), "norm").pvalue > 1e-4
    assert layer.kernel_initializer is my_init
    real = _real_keras()
    kcfg = real.layers.Dense(64, kernel_initializer=my_init).get_config()["kernel_initializer"]
    assert layer.get_config()["kernel_initializer"] == kcfg
