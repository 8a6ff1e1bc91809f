"""Embedding: Keras parity, integer ids kept integer, masks, the `weights` argument, errors."""

import re
import warnings

import numpy as np
import pytest
import torch

import initium
from initium import initializers, layers
from layer_testing import run_layer_test


def _keras():
    import keras

    return keras


@pytest.mark.parametrize("kwargs,shape,dtype", [
    ({"input_dim": 10, "output_dim": 4}, (2, 3), "int32"),
    ({"input_dim": 10, "output_dim": 4}, (2, 3), "int64"),
    ({"input_dim": 7, "output_dim": 3, "mask_zero": True}, (3, 5), "int32"),
    ({"input_dim": 12, "output_dim": 2}, (2, 3, 4), "int64"),
    ({"input_dim": 5, "output_dim": 6, "embeddings_initializer": "glorot_uniform", "embeddings_regularizer": "l2",
      "embeddings_constraint": "unit_norm",
      "activity_regularizer": {"class_name": "L2", "config": {"l2": 0.001}}}, (4,), "int32"),
    ({"input_dim": 300, "output_dim": 8, "embeddings_initializer": {"class_name": "RandomNormal",
                                                                     "config": {"stddev": 1.0, "seed": 3}}}, (2, 9), "int32"),
])
def test_embedding_parity(kwargs, shape, dtype):
    out_shape = (*shape, kwargs["output_dim"])
    layer = run_layer_test(layers.Embedding, kwargs, input_shape=shape, expected_output_shape=out_shape,
                           expected_weight_shapes=[(kwargs["input_dim"], kwargs["output_dim"])], expected_trainable=1,
                           input_dtype=dtype, input_range=(0, kwargs["input_dim"]), training_modes=(False, True))
    assert [v.name for v in layer.weights] == ["embeddings"]


def test_embedding_output_is_the_table_rows():
    emb = layers.Embedding(6, 3)
    ids = torch.tensor([[5, 0, 2], [2, 2, 1]], dtype=torch.int32)
    y = emb(ids)
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, emb.embeddings.detach()[ids.long()], rtol=0, atol=0)


def test_integer_ids_are_never_cast_to_float(monkeypatch):
    import initium.layers.embedding as module

    seen = []
    real = module.F.embedding

    def spy(ids, table, *args, **kwargs):
        seen.append(ids.dtype)
        return real(ids, table, *args, **kwargs)

    monkeypatch.setattr(module.F, "embedding", spy)
    emb = layers.Embedding(2**25, 1, embeddings_initializer="zeros")  # ids beyond float32's 2**24 exactness
    emb(torch.tensor([[2**24 + 1]], dtype=torch.int64))
    emb(np.array([[3, 2**24 + 1]], dtype=np.int32))
    emb(torch.tensor([[1, 2]], dtype=torch.int16))  # other dtypes: cast to int32 (Keras)
    assert seen == [torch.int64, torch.int32, torch.int32]
    with torch.no_grad():
        emb.embeddings[2**24 + 1] = 7.0
    assert float(emb(torch.tensor([[2**24 + 1]]))[0, 0, 0].detach()) == 7.0
    assert float(emb(torch.tensor([[2**24]]))[0, 0, 0].detach()) == 0.0


def test_float_ids_are_truncated_like_keras():
    keras = _keras()
    x = np.array([[1.7, 2.0, 0.2]], dtype="float32")
    ours = layers.Embedding(4, 2)
    ours(torch.from_numpy(x))
    theirs = keras.layers.Embedding(4, 2)
    theirs.build()
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(x).detach().numpy(), theirs(keras.ops.convert_to_tensor(x)).detach().numpy())


def test_mask_zero():
    ids = torch.tensor([[3, 0, 1], [0, 0, 2]])
    y = layers.Embedding(4, 2, mask_zero=True)(ids)
    assert torch.equal(y._keras_mask, ids != 0)
    assert layers.Embedding(4, 2, mask_zero=True).compute_mask(ids).dtype == torch.bool
    plain = layers.Embedding(4, 2)
    assert getattr(plain(ids), "_keras_mask", None) is None and plain.compute_mask(ids) is None


def test_weights_argument_builds_and_sets_the_table():
    table = np.arange(12, dtype="float32").reshape(4, 3)
    for given in ([table], table):
        emb = layers.Embedding(4, 3, weights=given)
        assert emb.built
        np.testing.assert_array_equal(emb.get_weights()[0], table)
        np.testing.assert_array_equal(emb(torch.tensor([3])).detach().numpy(), table[3:4])
    with pytest.raises(ValueError, match=r"weight 0 \('embedding\w*/embeddings'\) has shape \(4, 3\), but the provided weight has shape \(3, 4\)"):
        layers.Embedding(4, 3, weights=[table.T])
    assert "weights" not in layers.Embedding(4, 3, weights=[table]).get_config()


def test_embedding_default_initializer_and_gradients():
    emb = layers.Embedding(50, 8)
    assert isinstance(emb.embeddings_initializer, initializers.RandomUniform)
    assert emb.embeddings_initializer.get_config() == {"seed": None, "minval": -0.05, "maxval": 0.05}
    emb.build()
    w = emb.get_weights()[0]
    assert w.shape == (50, 8) and w.min() >= -0.05 and w.max() < 0.05 and w.std() > 0.02
    y = emb(torch.tensor([[1, 1, 4]]))
    y.sum().backward()
    grad = emb.embeddings.grad
    assert float(grad[1].sum()) == 16.0 and float(grad[4].sum()) == 8.0 and float(grad.abs().sum()) == 24.0


def test_embedding_in_a_functional_model():
    inp = initium.Input(shape=(5,), dtype="int32")
    out = layers.Embedding(9, 3)(inp)
    assert out.shape == (None, 5, 3)
    model = initium.Model(inp, out)
    assert model(np.zeros((2, 5), dtype="int32")).shape == (2, 5, 3)
    assert layers.Embedding(9, 3).compute_output_shape((None, 2, 5)) == (None, 2, 5, 3)


def test_out_of_range_ids_raise_a_clear_error():
    emb = layers.Embedding(10, 2, name="words")
    with pytest.raises(IndexError, match=re.escape("Embedding 'words': ids must lie in [0, input_dim) = [0, 10), "
                                                   "but the input holds ids in [0, 10]")):
        emb(torch.tensor([[0, 10]]))
    with pytest.raises(IndexError, match=r"holds ids in \[-1, 3\]"):
        emb(torch.tensor([[-1, 3]]))


def test_embedding_argument_errors():
    for bad in (0, -3, 2.5, True, None):
        with pytest.raises(ValueError, match=re.escape(f"`input_dim` must be a positive integer. Received: input_dim={bad} "
                                                       f"(of type {type(bad).__name__}).")):
            layers.Embedding(bad, 4)
    with pytest.raises(ValueError, match=r"`output_dim` must be a positive integer. Received: output_dim=0 \(of type int\)\. \(in Embedding 'e0'\)"):
        layers.Embedding(4, 0, name="e0")
    with pytest.raises(ValueError, match=r"LoRA and quantization are not supported by initium.*lora_rank=4"):
        layers.Embedding(4, 2, lora_rank=4)
    with pytest.raises(ValueError, match=r"quantization_config='int8'"):
        layers.Embedding(4, 2, quantization_config="int8")
    with pytest.raises(ValueError, match=r"Unrecognized keyword arguments passed to Embedding: \{'foo': 1\}"):
        layers.Embedding(4, 2, foo=1)
    with pytest.warns(UserWarning, match=r"Argument `input_length` is deprecated"):
        emb = layers.Embedding(4, 2, input_length=7)
    assert "input_length" not in emb.get_config()


def test_embedding_config_matches_keras_key_for_key():
    keras = _keras()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = layers.Embedding(10, 4, mask_zero=True, name="e").get_config()
    theirs = keras.layers.Embedding(10, 4, mask_zero=True, name="e").get_config()
    assert list(ours) == list(theirs) and ours == theirs
