"""String layers without TensorFlow: StringLookup, IntegerLookup, TextVectorization and Hashing.

Expected values are Keras 3.15.1's documented examples (the layers' docstrings and their
``*_test.py`` files under keras/src/layers/preprocessing/), which Keras itself can only compute with
TensorFlow installed. FarmHash Fingerprint64 values for inputs longer than the docs' short strings
were computed with Google's C++ FarmHash (the ``pyfarmhash`` bindings, 0.5.1), once, offline.
"""

import io
import math
import zipfile

import numpy as np
import pytest
import torch

import initium
from initium import layers
from initium.layers.string_hash import fingerprint64, siphash64

VOCAB = ["a", "b", "c", "d"]
DATA = [["a", "c", "d"], ["d", "z", "b"]]
REPEATS = [["a", "c", "d", "d"], ["d", "z", "b", "z"]]
INT_VOCAB = [12, 36, 1138, 42]
WIRE = [["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]]


def values(t):
    return t.tolist() if isinstance(t, (torch.Tensor, np.ndarray)) else t


# ============================================================================ hashes
@pytest.mark.parametrize("data, expected", [
    (b"", 11160318154034397263), (b"a", 12917804110809363939), (b"hello world!", 4577883861590986596),
    (b"seventeen bytes!!", 5799120529764292453), (b"x" * 40, 17003596230054984852),
    (bytes(range(100)), 4395248839964844437), ("caf\u00e9 \u00fcber".encode(), 5668927380141913926),
])
def test_fingerprint64_matches_farmhash(data, expected):
    # one input per branch of the algorithm: 0, 1-3, 4-7, 8-16, 17-32, 33-64 and over 64 bytes
    assert fingerprint64(data) == expected


def test_siphash_matches_keras_salted_bins():
    assert [siphash64(133, 137, c.encode()) % 3 for c in "ABCDE"] == [1, 2, 1, 0, 2]
    assert [siphash64(133, 133, c.encode()) % 3 for c in "ABCDE"] == [0, 0, 2, 1, 0]


# ============================================================================ Hashing
@pytest.mark.parametrize("kwargs, data, expected", [
    ({"num_bins": 3}, [["A"], ["B"], ["C"], ["D"], ["E"]], [[1], [0], [1], [1], [2]]),
    ({"num_bins": 3, "mask_value": ""}, [["A"], ["B"], [""], ["C"], ["D"]], [[1], [1], [0], [2], [2]]),
    ({"num_bins": 3, "salt": [133, 137]}, [["A"], ["B"], ["C"], ["D"], ["E"]], [[1], [2], [1], [0], [2]]),
    ({"num_bins": 3, "salt": 133}, [["A"], ["B"], ["C"], ["D"], ["E"]], [[0], [0], [2], [1], [0]]),
    ({"num_bins": 2}, WIRE, [[0], [0], [1], [0], [0]]),
    ({"num_bins": 3, "mask_value": "omar"}, WIRE, [[0], [1], [2], [1], [1]]),
    ({"num_bins": 2, "salt": [133, 137]}, WIRE, [[0], [1], [0], [1], [0]]),
    ({"num_bins": 2, "salt": [211, 137]}, WIRE, [[1], [0], [1], [0], [1]]),
    ({"num_bins": 3}, np.array([[0], [1], [2], [3], [4]]), [[1], [0], [1], [0], [2]]),
    ({"num_bins": 3, "salt": [133, 137]}, np.array([[0], [1], [2], [3], [4]]), [[1], [1], [2], [0], [1]]),
    ({"num_bins": 1}, np.array([["A"], ["B"]]), [[0], [0]]),
    ({"num_bins": 2}, [[1, 2], [2, 3], [3, 4]], [[1, 1], [1, 1], [1, 1]]),
])
def test_hashing_keras_examples(kwargs, data, expected):
    out = layers.Hashing(**kwargs)(data)
    assert out.dtype == torch.int64 and values(out) == expected


def test_hashing_encodings_and_dtypes():
    assert values(layers.Hashing(3, output_mode="one_hot")(np.array([0, 1, 2, 3, 4]))) == \
        [[0, 1, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]]
    assert values(layers.Hashing(3, output_mode="multi_hot")(np.array([[0, 1, 2, 3, 4]]))) == [[1, 1, 1]]
    out = layers.Hashing(3, output_mode="count")(np.array([0, 1, 2, 3, 4]))
    assert out.dtype == torch.float32 and values(out) == [2, 2, 1]
    assert layers.Hashing(3, dtype="int32")(["A"]).dtype == torch.int32
    assert layers.Hashing(3, output_mode="one_hot")(initium.Input((1,), dtype="string")).shape == (None, 3)
    assert layers.Hashing(3, output_mode="int")(initium.Input((4,), dtype="string")).dtype == "int64"


def test_hashing_errors_and_config():
    with pytest.raises(ValueError, match="cannot be `None` or non-positive"):
        layers.Hashing(num_bins=None)
    with pytest.raises(ValueError, match="cannot be `None` or non-positive"):
        layers.Hashing(num_bins=0)
    with pytest.raises(ValueError, match="Expected one of .*Received: output_mode='unsupported'"):
        layers.Hashing(3, output_mode="unsupported")
    with pytest.raises(ValueError, match="`dtype` should be an integer type"):
        layers.Hashing(3, dtype="float32")
    with pytest.raises(ValueError, match="`sparse` may only be true"):
        layers.Hashing(3, sparse=True)
    with pytest.raises(ValueError, match="`sparse=True` is not supported"):
        layers.Hashing(3, output_mode="count", sparse=True)
    with pytest.raises(ValueError, match="salt"):
        layers.Hashing(3, salt="x")
    layer = layers.Hashing(4, salt=7, mask_value="", name="h")
    config = layer.get_config()
    assert {k: config[k] for k in ("num_bins", "salt", "mask_value", "output_mode", "sparse", "name")} == \
        {"num_bins": 4, "salt": [7, 7], "mask_value": "", "output_mode": "int", "sparse": False, "name": "h"}
    again = layers.Hashing.from_config(config)
    assert values(again(WIRE)) == values(layer(WIRE))


# ============================================================================ StringLookup
def test_string_lookup_keras_examples():
    assert values(layers.StringLookup(vocabulary=VOCAB)(DATA)) == [[1, 3, 4], [4, 0, 2]]
    adapted = layers.StringLookup()
    adapted.adapt(DATA)
    assert adapted.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    assert adapted(DATA).dtype == torch.int64 and values(adapted(DATA)) == [[5, 3, 1], [1, 2, 4]]
    two_oov = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=2)
    assert values(two_oov([["a", "c", "d"], ["m", "z", "b"]])) == [[2, 4, 5], [0, 1, 3]]
    one_hot = layers.StringLookup(vocabulary=VOCAB, output_mode="one_hot")(["a", "b", "c", "d", "z"])
    assert one_hot.dtype == torch.float32 and values(one_hot) == np.eye(5)[[1, 2, 3, 4, 0]].tolist()
    assert values(layers.StringLookup(vocabulary=VOCAB, output_mode="multi_hot")(REPEATS)) == \
        [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]
    assert values(layers.StringLookup(vocabulary=VOCAB, output_mode="count")(REPEATS)) == \
        [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]
    inverse = layers.StringLookup(vocabulary=VOCAB, invert=True)
    assert values(inverse([[1, 3, 4], [4, 0, 2]])) == [["a", "c", "d"], ["d", "[UNK]", "b"]]
    assert values(inverse(layers.StringLookup(vocabulary=VOCAB)(DATA))) == [["a", "c", "d"], ["d", "[UNK]", "b"]]


def test_string_lookup_tf_idf_examples():
    layer = layers.StringLookup(output_mode="tf_idf")
    layer.set_vocabulary(VOCAB, idf_weights=[0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(values(layer(REPEATS)), [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]], rtol=1e-6)
    layer = layers.StringLookup(output_mode="tf_idf")
    layer.set_vocabulary(["[UNK]", *VOCAB], idf_weights=[0.9, 0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(values(layer(REPEATS)), [[0, 0.25, 0, 0.6, 0.8], [1.8, 0, 0.75, 0, 0.4]], rtol=1e-6)


def test_string_lookup_adapt_tf_idf_weights():
    docs = [["a", "a", "b"], ["b", "c", "c"], ["a", "d", "d"]]
    layer = layers.StringLookup(output_mode="tf_idf")
    layer.adapt(docs)
    # counts: a 3, d 2, c 2, b 2 -> a, then d > c > b; document frequencies a 2, d 1, c 1, b 2
    assert layer.get_vocabulary() == ["[UNK]", "a", "d", "c", "b"]
    idf = [math.log(1 + 3 / (1 + df)) for df in (2, 1, 1, 2)]
    np.testing.assert_allclose(values(layer.idf_weights), [np.mean(idf), *idf], rtol=1e-6)
    np.testing.assert_allclose(values(layer([["a", "a", "z"]])), [[np.mean(idf), 2 * idf[0], 0, 0, 0]], rtol=1e-6)


def test_string_lookup_masks_and_max_tokens():
    layer = layers.StringLookup(vocabulary=VOCAB, mask_token="")
    assert layer.get_vocabulary() == ["", "[UNK]", *VOCAB]
    assert values(layer([["a", "", "q"]])) == [[2, 0, 1]]
    multi = layers.StringLookup(vocabulary=VOCAB, mask_token="", output_mode="multi_hot")
    assert values(multi([["a", "", ""]])) == [[0, 1, 0, 0, 0]]  # the mask is dropped, not counted
    capped = layers.StringLookup(max_tokens=3)
    capped.adapt(np.array(["x", "y", "y", "z", "z", "z"]))
    assert capped.get_vocabulary() == ["[UNK]", "z", "y"] and capped.vocabulary_size() == 3
    padded = layers.StringLookup(vocabulary=["a"], max_tokens=4, pad_to_max_tokens=True, output_mode="multi_hot")
    assert values(padded(["a", "q"])) == [1, 1, 0, 0]


def test_string_lookup_inputs_and_batches(tmp_path):
    layer = layers.StringLookup(vocabulary=VOCAB)
    assert values(layer("c")) == 3
    assert values(layer(np.array([b"a", b"d"]))) == [1, 4]
    assert values(layer(np.array([["a"], ["q"]], dtype=object))) == [[1], [0]]
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\nc\nd\n")
    from_file = layers.StringLookup(vocabulary=str(path))
    assert from_file.get_vocabulary() == ["[UNK]", *VOCAB] and from_file.get_config()["vocabulary"] is None
    batches = layers.StringLookup()
    batches.adapt(iter([np.array([["b"], ["b"]]), np.array([["a"]])]))
    assert batches.get_vocabulary() == ["[UNK]", "b", "a"]
    (tmp_path / "bad.txt").write_bytes(b"a\n\xff\n")
    with pytest.raises(ValueError, match="bad.txt is not valid UTF-8"):
        layers.StringLookup(vocabulary=str(tmp_path / "bad.txt"))


def test_string_lookup_errors():
    with pytest.raises(RuntimeError, match="StringLookup 'lonely' has no vocabulary.*adapt\\(\\)"):
        layers.StringLookup(name="lonely")(["a"])
    with pytest.raises(ValueError, match="Allowed values are: .*'int', 'one_hot', 'multi_hot', 'count', 'tf_idf'"):
        layers.StringLookup(output_mode="onehot")
    with pytest.raises(ValueError, match="sparse=True"):
        layers.StringLookup(output_mode="multi_hot", sparse=True)
    with pytest.raises(ValueError, match="must be `'int'` when `invert` is true"):
        layers.StringLookup(invert=True, output_mode="count")
    with pytest.raises(ValueError, match="repeated term.*'a'"):
        layers.StringLookup(vocabulary=["a", "b", "a"])
    with pytest.raises(ValueError, match="maximum vocab size"):
        layers.StringLookup(vocabulary=VOCAB, max_tokens=3)
    with pytest.raises(ValueError, match="idf_weights"):
        layers.StringLookup(vocabulary=VOCAB, output_mode="tf_idf")
    with pytest.raises(ValueError, match="found OOV values \\['z'\\]"):
        layers.StringLookup(vocabulary=VOCAB, num_oov_indices=0)(["a", "z"])
    with pytest.raises(ValueError, match="after setting a static vocabulary"):
        layers.StringLookup(vocabulary=VOCAB).adapt(["a"])
    with pytest.raises(ValueError, match="vocabulary file outside of the model archive"):
        layers.StringLookup.from_config({"vocabulary": "/etc/passwd"})
    with pytest.raises(TypeError, match="StringLookup .*Expected strings"):
        layers.StringLookup(vocabulary=VOCAB)(np.array([1.5]))


def test_string_lookup_config_keys_are_keras():
    config = layers.StringLookup(vocabulary=VOCAB).get_config()
    # IndexLookup.get_config + StringLookup's "encoding", less "vocabulary_dtype" (Keras 3.15.1)
    assert set(config) == {"name", "trainable", "dtype", "invert", "max_tokens", "num_oov_indices", "oov_token",
                           "mask_token", "output_mode", "sparse", "pad_to_max_tokens", "idf_weights", "vocabulary",
                           "vocabulary_size", "oov_method", "salt", "encoding"}
    assert config["vocabulary"] == VOCAB and config["vocabulary_size"] == 5
    again = layers.StringLookup.from_config(config)
    assert again.get_vocabulary() == ["[UNK]", *VOCAB]


# ============================================================================ IntegerLookup
def test_integer_lookup_keras_examples():
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    forward = layers.IntegerLookup(vocabulary=INT_VOCAB)
    assert values(forward(data)) == [[1, 3, 4], [4, 0, 2]]
    adapted = layers.IntegerLookup()
    adapted.adapt(data)
    assert adapted.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    assert values(adapted(data)) == [[5, 2, 1], [1, 3, 4]]
    assert values(layers.IntegerLookup(vocabulary=INT_VOCAB, num_oov_indices=2)(
        np.array([[12, 1138, 42], [37, 1000, 36]]))) == [[2, 4, 5], [1, 0, 3]]
    oov = np.array([100, 300, 700, 1100, 1700, 2000])
    assert values(layers.IntegerLookup(vocabulary=[10, 20, 30], num_oov_indices=4)(oov)) == [0] * 6
    assert values(layers.IntegerLookup(vocabulary=[10, 20, 30], num_oov_indices=4, oov_method="farmhash")(oov)) == \
        [3, 3, 2, 2, 0, 1]
    inverse = layers.IntegerLookup(vocabulary=forward.get_vocabulary(), invert=True)
    assert values(inverse(forward(data))) == [[12, 1138, 42], [42, -1, 36]]
    assert values(layers.IntegerLookup(vocabulary=INT_VOCAB, output_mode="count")(
        np.array([[12, 1138, 42, 42], [42, 7, 36, 7]]))) == [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]
    tf_idf = layers.IntegerLookup(output_mode="tf_idf", vocabulary=[-1, *INT_VOCAB],
                                  idf_weights=[0.9, 0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(values(tf_idf(np.array([[12, 1138, 42, 42], [42, 7, 36, 7]]))),
                               [[0, 0.25, 0, 0.6, 0.8], [1.8, 0, 0.75, 0, 0.4]], rtol=1e-6)


def test_integer_lookup_errors_and_config():
    with pytest.raises(ValueError, match="`salt` can only be used when `oov_method='farmhash'`"):
        layers.IntegerLookup(salt=3)
    with pytest.raises(ValueError, match="vocabulary_dtype='int64'"):
        layers.IntegerLookup(vocabulary_dtype="int32")
    with pytest.raises(TypeError, match="IntegerLookup .*Expected integers"):
        layers.IntegerLookup(vocabulary=INT_VOCAB)(["a"])
    config = layers.IntegerLookup(vocabulary=np.array(INT_VOCAB)).get_config()
    assert config["vocabulary"] == INT_VOCAB and config["vocabulary_dtype"] == "int64" and config["oov_token"] == -1


# ============================================================================ TextVectorization
def test_text_vectorization_keras_examples():
    layer = layers.TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    out = layer([["foo qux bar"], ["qux baz"]])
    assert out.dtype == torch.int64 and values(out) == [[4, 1, 3, 0], [1, 2, 0, 0]]
    given = layers.TextVectorization(max_tokens=5000, output_sequence_length=4,
                                     vocabulary=["earth", "wind", "and", "fire"])
    assert given.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]


@pytest.mark.parametrize("standardize, expected", [
    ("lower_and_strip_punctuation", ["hello", "world", "École"]),
    ("lower", ["hello,", "world!", "École"]),
    ("strip_punctuation", ["Hello", "WORLD", "École"]),
    (None, ["Hello,", "WORLD!", "École"]),
])
def test_text_vectorization_standardize(standardize, expected):
    # As TensorFlow's strings.lower, lowering touches ASCII letters only ("É" stays).
    layer = layers.TextVectorization(standardize=standardize)
    layer.adapt(["Hello, WORLD! École"])
    assert sorted(layer.get_vocabulary()[2:]) == sorted(expected)


def test_text_vectorization_split_ngrams_and_lengths():
    chars = layers.TextVectorization(split="character", standardize=None)
    chars.adapt(["abca"])
    assert chars.get_vocabulary() == ["", "[UNK]", "a", "c", "b"]
    assert values(chars(["cab", "b"])) == [[3, 2, 4], [4, 0, 0]]
    grams = layers.TextVectorization(ngrams=2)
    grams.adapt(["a b c"])
    assert set(grams.get_vocabulary()[2:]) == {"a", "b", "c", "a b", "b c"}
    assert [grams.get_vocabulary()[i] for i in values(grams(["a b c"]))[0]] == ["a", "b", "c", "a b", "b c"]
    only_pairs = layers.TextVectorization(ngrams=(2,), output_sequence_length=3)
    only_pairs.adapt(["x y z"])
    assert [only_pairs.get_vocabulary()[i] for i in values(only_pairs(["x y z w"]))[0]] == ["x y", "y z", "[UNK]"]
    short = layers.TextVectorization(output_sequence_length=2, vocabulary=["a", "b"])
    assert values(short(["a b a b", "b"])) == [[2, 3], [3, 0]]
    assert values(short("a")) == [2, 0]
    tabs = layers.TextVectorization(vocabulary=["a", "b"])
    assert values(tabs(["  a\tb\n  "])) == [[2, 3]]


def test_text_vectorization_callables():
    def shout(x):
        return np.char.upper(x)

    def on_commas(x):
        return [s.split(",") for s in x]

    layer = layers.TextVectorization(standardize=shout, split=on_commas)
    layer.adapt(["a,b", "b,c"])
    assert layer.get_vocabulary() == ["", "[UNK]", "B", "C", "A"]
    with pytest.raises(ValueError, match="custom `standardize` callable"):
        layers.TextVectorization.from_config({**layer.get_config(), "split": "whitespace"})


def test_text_vectorization_dense_modes():
    texts = ["the cat sat", "the dog", "a cat and a dog"]
    multi = layers.TextVectorization(output_mode="multi_hot")
    multi.adapt(texts)
    assert multi.get_vocabulary() == ["[UNK]", "the", "dog", "cat", "a", "sat", "and"]
    out = multi(["the the zebra", "a dog"])
    assert out.dtype == torch.float32 and values(out) == [[1, 1, 0, 0, 0, 0, 0], [0, 0, 1, 0, 1, 0, 0]]
    count = layers.TextVectorization(output_mode="count", vocabulary=multi.get_vocabulary()[1:])
    assert values(count(["the the zebra"])) == [[1, 2, 0, 0, 0, 0, 0]]
    tf_idf = layers.TextVectorization(output_mode="tf_idf", max_tokens=4, pad_to_max_tokens=True)
    tf_idf.adapt(texts)
    assert tf_idf.get_vocabulary() == ["[UNK]", "the", "dog", "cat"]
    idf = [math.log(1 + 3 / (1 + df)) for df in (2, 2, 2)]
    np.testing.assert_allclose(values(tf_idf(["the the cat"])), [[0, 2 * idf[0], 0, idf[2]]], rtol=1e-6)
    assert tf_idf(initium.Input((1,), dtype="string")).shape == (None, 4)


def test_text_vectorization_errors():
    with pytest.raises(RuntimeError, match="TextVectorization 'tv' has no vocabulary.*adapt\\(\\).*vocabulary="):
        layers.TextVectorization(name="tv")(["a b"])
    with pytest.raises(ValueError, match="`ragged=True` can only be used with the TensorFlow backend"):
        layers.TextVectorization(ragged=True)
    with pytest.raises(ValueError, match="Allowed values are: .*'lower'.*Received: standardize='upper'"):
        layers.TextVectorization(standardize="upper")
    with pytest.raises(ValueError, match="Received: split='comma'"):
        layers.TextVectorization(split="comma")
    with pytest.raises(ValueError, match="`ngrams` must be None, an integer, or a tuple"):
        layers.TextVectorization(ngrams=[1, 2])
    with pytest.raises(ValueError, match="`output_sequence_length` must not be set"):
        layers.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="last shape dimension must be 1"):
        layers.TextVectorization(vocabulary=["a"])(np.array([["a", "b"]]))


def test_text_vectorization_config_round_trip():
    layer = layers.TextVectorization(max_tokens=10, ngrams=(1, 2), output_sequence_length=5, name="tv2")
    layer.adapt(["a b", "b c"])
    config = layer.get_config()
    assert {k for k in config} == {"name", "trainable", "dtype", "max_tokens", "standardize", "split", "ngrams",
                                   "output_mode", "output_sequence_length", "pad_to_max_tokens", "sparse", "ragged",
                                   "vocabulary", "idf_weights", "encoding", "vocabulary_size"}
    assert config["vocabulary"] is None and config["vocabulary_size"] == layer.vocabulary_size()
    clone = layers.TextVectorization.from_config({**config, "ngrams": [1, 2]})
    assert clone._ngrams == (1, 2)


# ============================================================================ in models and pipelines
def test_functional_model_on_raw_strings_fits_and_predicts():
    initium.utils.set_random_seed(3)
    rng = np.random.default_rng(0)
    colours = rng.choice(["red", "green", "blue"], size=(96, 1))
    y = (colours[:, 0] == "red").astype("float32")
    lookup = layers.StringLookup(output_mode="one_hot")
    lookup.adapt(colours)
    inputs = initium.Input(shape=(1,), dtype="string")
    assert inputs.dtype == "string"
    model = initium.Model(inputs, layers.Dense(1, activation="sigmoid")(lookup(inputs)))
    model.compile(optimizer=initium.optimizers.Adam(0.1), loss="binary_crossentropy")
    history = model.fit(colours, y, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 2
    predicted = model.predict(np.array([["red"], ["blue"]], dtype=object), verbose=0)
    assert predicted.shape == (2, 1) and predicted[0, 0] > 0.8 > 0.2 > predicted[1, 0]


def test_sequential_text_model():
    vectorize = layers.TextVectorization(output_sequence_length=3)
    vectorize.adapt(["good film", "bad film"])
    model = initium.Sequential([initium.Input((1,), dtype="string"), vectorize,
                                layers.Embedding(vectorize.vocabulary_size(), 2), layers.GlobalAveragePooling1D()])
    assert model.predict(np.array([["good film"], ["BAD!"]]), verbose=0).shape == (2, 2)


def test_string_dtype_has_no_torch_tensor():
    with pytest.raises(ValueError, match="torch has no string tensors"):
        initium.backend.torch_dtype("string")


# ============================================================================ saving
def _model_with(layer, shape=(1,)):
    inputs = initium.Input(shape=shape, dtype="string")
    return initium.Model(inputs, layer(inputs))


def test_save_load_adapted_lookup_writes_keras_asset(tmp_path):
    lookup = layers.StringLookup()
    lookup.adapt(DATA)
    model = _model_with(lookup, (3,))
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        # Keras's layout: the asset sits under the layer's weights path, after the weights file
        assert z.namelist() == ["metadata.json", "config.json", "model.weights.h5",
                                "assets/layers/string_lookup/vocabulary.txt"]
        assert z.read("assets/layers/string_lookup/vocabulary.txt") == b"[UNK]\nd\nz\nc\nb\na"
    loaded = initium.saving.load_model(path)
    assert values(loaded(np.array(DATA))) == [[5, 3, 1], [1, 2, 4]]
    assert loaded.layers[1].get_vocabulary() == lookup.get_vocabulary()


def test_save_load_given_vocabulary_stays_in_config(tmp_path):
    model = _model_with(layers.IntegerLookup(vocabulary=INT_VOCAB, output_mode="multi_hot"), (3,))
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        assert not [n for n in z.namelist() if n.startswith("assets/")]
    loaded = initium.saving.load_model(tmp_path / "m.keras")
    assert values(loaded(np.array([[12, 7, 42]]))) == [[1, 1, 0, 0, 1]]
    tf_idf = layers.StringLookup(vocabulary=VOCAB, idf_weights=[0.25, 0.75, 0.6, 0.4], output_mode="tf_idf")
    _model_with(tf_idf, (4,)).save(tmp_path / "idf.keras")
    loaded = initium.saving.load_model(tmp_path / "idf.keras")
    np.testing.assert_allclose(values(loaded(np.array(REPEATS))), [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]],
                               rtol=1e-6)


def test_save_load_adapted_integer_lookup(tmp_path):
    lookup = layers.IntegerLookup(mask_token=0)
    lookup.adapt(np.array([[12, 1138, 42], [42, 1000, 36]]))
    inputs = initium.Input(shape=(3,), dtype="int64")
    initium.Model(inputs, lookup(inputs)).save(tmp_path / "i.keras")
    with zipfile.ZipFile(tmp_path / "i.keras") as z:
        assert z.read("assets/layers/integer_lookup/vocabulary.txt") == b"0\n-1\n42\n1138\n1000\n36\n12"
    loaded = initium.saving.load_model(tmp_path / "i.keras")
    assert values(loaded(np.array([[0, 12, 7]]))) == [[0, 6, 1]]


def test_save_load_text_vectorization_tf_idf(tmp_path):
    vectorize = layers.TextVectorization(output_mode="tf_idf")
    vectorize.adapt(["the cat sat", "the dog", "a cat and a dog"])
    model = _model_with(vectorize)
    model.save(tmp_path / "tv.keras")
    with zipfile.ZipFile(tmp_path / "tv.keras") as z:
        names = set(z.namelist())
        assert {"assets/layers/text_vectorization/vocabulary.txt",
                "assets/layers/text_vectorization/_lookup_layer/vocabulary.txt"} <= names
        import h5py

        with h5py.File(io.BytesIO(z.read("model.weights.h5"))) as f:
            assert f["layers/text_vectorization/vars/idf_weights"].shape == (7,)
    loaded = initium.saving.load_model(tmp_path / "tv.keras")
    data = np.array([["the cat"], ["zebra dog dog"]])
    np.testing.assert_allclose(values(loaded(data)), values(model(data)), rtol=1e-6)


def _rewrite(src, dst, member, data):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            zout.writestr(name, data if name == member else zin.read(name))


def test_hostile_vocabulary_assets(tmp_path, monkeypatch):
    lookup = layers.StringLookup()
    lookup.adapt(DATA)
    good = tmp_path / "good.keras"
    _model_with(lookup, (3,)).save(good)
    member = "assets/layers/string_lookup/vocabulary.txt"
    _rewrite(good, tmp_path / "utf.keras", member, b"[UNK]\n\xc3\x28\n")
    with pytest.raises(ValueError, match="assets/layers/string_lookup/vocabulary.txt.*utf.keras.*not valid UTF-8"):
        initium.saving.load_model(tmp_path / "utf.keras")
    _rewrite(good, tmp_path / "dup.keras", member, b"[UNK]\na\na")
    with pytest.raises(ValueError, match="repeated term"):
        initium.saving.load_model(tmp_path / "dup.keras")
    monkeypatch.setattr("initium.layers.text.MAX_VOCABULARY_FILE_BYTES", 8)
    with pytest.raises(ValueError, match="vocabulary.txt.*limit of 8 bytes"):
        initium.saving.load_model(good)


def test_missing_asset_is_an_error(tmp_path):
    lookup = layers.StringLookup()
    lookup.adapt(DATA)
    good = tmp_path / "good.keras"
    _model_with(lookup, (3,)).save(good)
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(tmp_path / "bare.keras", "w") as zout:
        for name in zin.namelist():
            if not name.startswith("assets/"):
                zout.writestr(name, zin.read(name))
    with pytest.raises(ValueError, match="no `vocabulary.txt` asset"):
        initium.saving.load_model(tmp_path / "bare.keras")


@pytest.mark.parametrize("length", [0, -3, 2.5, True])
def test_output_sequence_length_must_be_a_positive_integer(length):
    with pytest.raises(ValueError, match=r"`output_sequence_length` must be either None or a positive integer.*"
                                         rf"output_sequence_length={length!r}"):
        layers.TextVectorization(output_sequence_length=length)
