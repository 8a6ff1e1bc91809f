"""The Layer base and Variable: one path for every weight, Keras order, build, call, errors."""

import copy
import pickle

import numpy as np
import pytest
import torch

import initium as keras
from initium import initializers, layers
from initium import random as irandom
from initium.layers import Variable


class Scale(keras.Layer):
    """A custom layer in the style of the Keras guides."""

    def __init__(self, factor_init="ones", **kwargs):
        super().__init__(**kwargs)
        self.factor_init = factor_init

    def build(self, input_shape):
        self.counter = self.add_weight(shape=(), initializer="zeros", trainable=False, name="counter")
        self.factor = self.add_weight(shape=(input_shape[-1],), initializer=self.factor_init, name="factor")

    def call(self, x, training=None):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor_init": self.factor_init}


def test_unbuilt_layer_has_no_weights():
    d = layers.Dense(3)
    assert d.weights == [] and d.get_weights() == [] and not d.built
    with pytest.raises(ValueError, match=r"You tried to call `count_params` on layer 'dense\w*', but the layer isn't built"):
        d.count_params()


def test_build_on_first_call_and_by_hand():
    d = layers.Dense(3)
    y = d(np.ones((2, 5)))
    assert d.built and y.shape == (2, 3) and y.dtype == torch.float32
    e = layers.Dense(4)
    e.build((None, 7))
    assert e.built and [w.shape for w in e.get_weights()] == [(7, 4), (4,)]


def test_weight_order_trainable_first_then_sublayers():
    s = Scale()
    s(torch.ones(2, 3))
    assert [v.name for v in s.weights] == ["factor", "counter"]  # Keras: own trainable, then non-trainable
    assert [v.name for v in s.trainable_weights] == ["factor"]
    assert [v.name for v in s.non_trainable_weights] == ["counter"]


def test_variables_are_parameters_with_keras_attributes():
    d = layers.Dense(3, name="h")
    d.build((None, 2))
    k = d.kernel
    assert isinstance(k, torch.nn.Parameter) and isinstance(k, Variable)
    assert k.name == "kernel" and k.path == "h/kernel" and k.trainable and k.requires_grad
    assert k.numpy().shape == (2, 3) and np.asarray(k).shape == (2, 3)
    assert list(dict(d.named_parameters())) == ["kernel", "bias"]
    assert isinstance(d.kernel_initializer, initializers.GlorotUniform)
    assert k.initializer is d.kernel_initializer and len(k.init_keys) == 1
    assert "<Variable path=h/kernel, shape=(2, 3), dtype=float32" in repr(k)
    assert d.named_weights()[0] == ("h/kernel", k)


def test_numpy_is_a_copy():
    d = layers.Dense(2)
    d.build((None, 2))
    w = d.get_weights()
    w[0][:] = 123.0
    assert not np.any(d.get_weights()[0] == 123.0)


def test_assign_checks_shape():
    d = layers.Dense(2)
    d.build((None, 3))
    d.kernel.assign(np.ones((3, 2)))
    assert np.all(d.kernel.numpy() == 1)
    with pytest.raises(ValueError, match=r"variable.shape=\(3, 2\), Received: value.shape=\(2, 2\)"):
        d.kernel.assign(np.ones((2, 2)))


def test_set_weights_checks_count_and_shapes_without_partial_writes():
    d = layers.Dense(4, name="dd")
    d.build((None, 3))
    before = d.get_weights()
    with pytest.raises(ValueError, match=r"on layer 'dd' with a weight list of length 1, but the layer was expecting 2 weights: kernel \(3, 4\), bias \(4,\)"):
        d.set_weights([np.zeros((3, 4))])
    with pytest.raises(ValueError, match=r"Layer 'dd' weight 1 \('dd/bias'\) has shape \(4,\), but the provided weight has shape \(3,\)"):
        d.set_weights([np.zeros((3, 4)), np.zeros(3)])
    for a, b in zip(before, d.get_weights()):
        np.testing.assert_array_equal(a, b)  # the valid first weight was not written either
    d.set_weights([[[1.0] * 4] * 3, np.arange(4, dtype=np.int64)])  # nested lists and ints work
    assert d.get_weights()[1].dtype == np.float32 and d.get_weights()[0][0, 0] == 1.0


def test_float64_and_list_inputs_are_cast():
    d = layers.Dense(2)
    assert d(np.ones((1, 3), dtype=np.float64)).dtype == torch.float32
    assert d([[1.0, 2.0, 3.0]]).shape == (1, 2)
    assert d(torch.ones(1, 3, dtype=torch.float64)).dtype == torch.float32


def test_dense_any_rank_and_wrong_inputs():
    d = layers.Dense(5, name="dn")
    assert d(torch.ones(2, 3, 4, 6)).shape == (2, 3, 4, 5)
    assert d.kernel.shape == (6, 5)
    with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 6, but received input with shape \(1, 4\)"):
        d(torch.ones(1, 4))
    with pytest.raises(ValueError, match=r"Input 0 of layer 'dx' \(Dense\) is incompatible with the layer: expected min_ndim=2, found ndim=1. Full shape received: \(6,\)"):
        layers.Dense(2, name="dx")(torch.ones(6))


@pytest.mark.parametrize("units", [0, -1, 2.5, "4", None])
def test_dense_units_validation(units):
    with pytest.raises(ValueError, match=r"Received an invalid value for `units`, expected a positive integer. Received: units="):
        layers.Dense(units)


def test_unknown_kwarg_and_bad_trainable():
    with pytest.raises(ValueError, match=r"Unrecognized keyword arguments passed to Dense: \{'weights': 1\}"):
        layers.Dense(2, weights=1)
    with pytest.raises(ValueError, match="Expected `trainable` to be a boolean"):
        layers.Dense(2, trainable="yes")


def test_unique_names_and_clear_session():
    keras.utils.clear_session()
    assert [layers.Dense(1).name for _ in range(3)] == ["dense", "dense_1", "dense_2"]
    keras.utils.clear_session()
    assert layers.Dense(1).name == "dense"


def test_trainable_freezes_weights():
    d = layers.Dense(2)
    d.build((None, 2))
    d.trainable = False
    assert d.trainable_weights == [] and len(d.non_trainable_weights) == 2
    assert not d.kernel.requires_grad
    assert [v.name for v in d.weights] == ["kernel", "bias"]  # order kept
    d.trainable = True
    assert d.kernel.requires_grad and len(d.trainable_weights) == 2


def test_add_weight_errors_and_defaults():
    lay = keras.Layer()
    v = lay.add_weight(shape=(3, 4))
    assert v.name == "variable" and isinstance(v.initializer, initializers.GlorotUniform)
    i = lay.add_weight(shape=(2,), dtype="int32", trainable=False)
    assert i.dtype == torch.int32 and isinstance(i.initializer, initializers.Zeros)
    with pytest.raises(ValueError, match=r"weight 'variable' of dtype int32 cannot be trainable"):
        lay.add_weight(shape=(2,), dtype="int32")
    with pytest.raises(TypeError, match=r"the first argument is `shape` \(Keras 3\), but got the string 'w'"):
        lay.add_weight("w", (2,))
    with pytest.raises(ValueError, match=r"returned shape \(5, 5\) for weight '.*/bad' of shape \(3, 2\)"):
        lay.add_weight(shape=(3, 2), initializer=lambda shape, dtype=None: np.ones((5, 5)), name="bad")


def test_training_flag_inherited_and_default_false():
    seen = []

    class Probe(keras.Layer):
        def call(self, x, training=None):
            seen.append(training)
            return x

    class Outer(keras.Layer):
        def __init__(self):
            super().__init__()
            self.p = Probe()

        def call(self, x):
            return self.p(x)

    o = Outer()
    o(torch.ones(1))
    o(torch.ones(1), training=True)
    o.p(torch.ones(1))
    assert seen == [False, True, False]


def test_reinitialize_replay_seed_and_fresh():
    d = layers.Dense(16, kernel_initializer="he_normal", bias_initializer=initializers.RandomNormal())
    d.build((None, 32))
    born = d.get_weights()
    d.reinitialize()
    fresh = d.get_weights()
    assert not np.array_equal(born[0], fresh[0]) and not np.array_equal(born[1], fresh[1])
    d.reinitialize(replay=True)
    for a, b in zip(d.get_weights(), fresh):
        np.testing.assert_array_equal(a, b)  # replays the keys of the latest draw
    kernel = d.kernel
    d.reinitialize(seed=7)
    s1 = d.get_weights()
    d.reinitialize(seed=7)
    for a, b in zip(d.get_weights(), s1):
        np.testing.assert_array_equal(a, b)
    assert d.kernel is kernel  # in place: optimizers keep their references


def test_reinitialize_replay_recreates_birth_values():
    irandom.set_random_seed(3)
    d = layers.Dense(8)
    d.build((None, 4))
    born = d.get_weights()
    d.set_weights([np.zeros((4, 8)), np.zeros(8)])
    d.reinitialize(replay=True)
    np.testing.assert_array_equal(d.get_weights()[0], born[0])


def test_set_random_seed_makes_models_reproducible():
    def build():
        irandom.set_random_seed(11)
        return keras.Sequential([keras.Input((5,)), layers.Dense(4), layers.Dense(2)]).get_weights()

    for a, b in zip(build(), build()):
        np.testing.assert_array_equal(a, b)


def test_shared_unseeded_initializer_gives_different_kernels():
    init = initializers.GlorotUniform()
    a, b = layers.Dense(4, kernel_initializer=init), layers.Dense(4, kernel_initializer=init)
    a.build((None, 3))
    b.build((None, 3))
    assert not np.array_equal(a.get_weights()[0], b.get_weights()[0])  # Keras: identical


def test_deepcopy_and_pickle_keep_variables():
    d = layers.Dense(3, name="pk")
    d.build((None, 2))
    for clone in (copy.deepcopy(d), pickle.loads(pickle.dumps(d))):
        assert isinstance(clone.kernel, Variable) and clone.kernel.path == "pk/kernel"
        np.testing.assert_array_equal(clone.kernel.numpy(), d.kernel.numpy())
        assert clone.kernel is not d.kernel


def test_regularizer_losses():
    d = layers.Dense(2, kernel_initializer="ones", kernel_regularizer="l2", activity_regularizer="l2")
    y = d(torch.ones(4, 3))
    losses = d.losses
    assert len(losses) == 2
    assert float(losses[0].detach()) == pytest.approx(0.01 * 6)  # 0.01 * sum(w^2)
    assert float(losses[1].detach()) == pytest.approx(0.01 * float((y.detach() ** 2).sum()) / 4)  # per-sample, as Keras


def test_custom_layer_config_round_trip_and_lists_are_tracked():
    s = Scale(factor_init="zeros", name="sc")
    again = Scale.from_config(s.get_config())
    assert again.get_config() == s.get_config()

    class Stack(keras.Layer):
        def __init__(self):
            super().__init__()
            self.parts = [layers.Dense(2), layers.Dense(3)]

        def call(self, x):
            for p in self.parts:
                x = p(x)
            return x

    st = Stack()
    st(torch.ones(1, 4))
    assert [tuple(w.shape) for w in st.get_weights()] == [(4, 2), (2,), (2, 3), (3,)]
    assert len(list(st.parameters())) == 4


def _seeded_zoo(seed):
    irandom.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((6, 6, 2)),
        layers.Conv2D(4, 3, bias_initializer="random_normal"),
        layers.BatchNormalization(),
        layers.Flatten(),
        layers.Dropout(0.1),
        layers.Dense(8, activation="relu", kernel_initializer="he_normal",
                     bias_initializer=initializers.RandomUniform(-0.1, 0.1)),
        layers.Dense(3, bias_initializer=initializers.RandomNormal(seed=4)),
    ])


def test_reinitialize_with_the_original_seed_gives_back_the_birth_weights_bit_for_bit():
    model = _seeded_zoo(21)
    born = model.get_weights()
    model.set_weights([w + 1.0 for w in born])
    changed = model.reinitialize(seed=21)
    assert len(changed) == len(born)
    for a, b in zip(model.get_weights(), born):
        np.testing.assert_array_equal(a, b)
    # Another seed changes every randomly drawn weight (and leaves the constant ones as they are).
    model.reinitialize(seed=22)
    now = model.get_weights()
    random_ones = [0, 1, 6, 7, 8]  # conv kernel+bias, dense kernel+bias, last kernel
    for i in random_ones:
        assert not np.array_equal(now[i], born[i]), i
    np.testing.assert_array_equal(now[9], born[9])  # RandomNormal(seed=4) repeats its values
    np.testing.assert_array_equal(now[2], born[2])  # gamma: ones


def test_reinitialize_a_subset_with_the_seed_restores_only_those_layers():
    model = _seeded_zoo(3)
    born = model.get_weights()
    ones = [np.ones_like(w) * 7 for w in born]
    model.set_weights(ones)
    dense = model.layers[4]
    changed = model.reinitialize(layers=[dense.name], seed=3)
    assert [v.path for v in changed] == [dense.kernel.path, dense.bias.path]
    now = model.get_weights()
    for i, (a, b, o) in enumerate(zip(now, born, ones)):
        np.testing.assert_array_equal(a, b if i in (6, 7) else o)
    # The same subset through the layer object, and a fresh (unseeded) draw changes it.
    model.reinitialize(layers=dense)
    assert not np.array_equal(model.get_weights()[6], born[6])


def test_reinitialize_argument_errors_name_the_fix():
    model = _seeded_zoo(0)
    with pytest.raises(TypeError, match=r"Did you mean reinitialize\(seed=5\)"):
        model.reinitialize(5)
    with pytest.raises(ValueError, match="no layer named 'dens'.*Did you mean 'dense"):
        model.reinitialize(layers="dens")
    with pytest.raises(ValueError, match="not both"):
        model.reinitialize(seed=1, replay=True)
    with pytest.raises(ValueError, match="is not part of"):
        model.reinitialize(layers=layers.Dense(2))
    with pytest.raises(TypeError, match="expects layers or layer names"):
        model.reinitialize(layers=[3.5])
    with pytest.raises(ValueError, match="not built"):
        layers.Dense(2).reinitialize()
