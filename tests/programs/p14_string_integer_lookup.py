"""StringLookup and IntegerLookup for categorical features: their documented examples (known and
adapted vocabularies, several OOV buckets, multi_hot and count outputs, inverse lookups), plus a
Discretization adapted to data, then a classifier on one-hot encoded colour and zip-code columns."""
ISSUE = 14
KERAS_CANNOT = "StringLookup, IntegerLookup and Discretization.adapt need TensorFlow on the torch backend (ImportError 'Layer StringLookup requires TensorFlow')"
import numpy as np

import keras
from keras import layers

VOCAB = ["a", "b", "c", "d"]
DATA = [["a", "c", "d"], ["d", "z", "b"]]
INT_VOCAB = [12, 36, 1138, 42]
INT_DATA = np.array([[12, 1138, 42], [42, 1000, 36]])


def as_list(tensor):
    return keras.ops.convert_to_numpy(tensor).tolist()


def as_text(tensor):
    return [[t.decode() if isinstance(t, bytes) else str(t) for t in row] for row in as_list(tensor)]


def documented_strings():
    adapted = layers.StringLookup()
    adapted.adapt(DATA)
    repeats = [["a", "c", "d", "d"], ["d", "z", "b", "z"]]
    return {"s_known": as_list(layers.StringLookup(vocabulary=VOCAB)(DATA)),
            "s_adapted_vocab": [str(t) for t in adapted.get_vocabulary()], "s_adapted": as_list(adapted(DATA)),
            "s_multi_hot": as_list(layers.StringLookup(vocabulary=VOCAB, output_mode="multi_hot")(repeats)),
            "s_count": as_list(layers.StringLookup(vocabulary=VOCAB, output_mode="count")(repeats)),
            "s_inverse": as_text(layers.StringLookup(vocabulary=VOCAB, invert=True)([[1, 3, 4], [4, 0, 2]]))}


def documented_integers():
    adapted = layers.IntegerLookup()
    adapted.adapt(INT_DATA)
    forward = layers.IntegerLookup(vocabulary=INT_VOCAB)
    inverse = layers.IntegerLookup(vocabulary=forward.get_vocabulary(), invert=True)
    oov_data = np.array([[12, 1138, 42], [37, 1000, 36]])
    return {"i_known": as_list(forward(INT_DATA)), "i_adapted_vocab": [int(t) for t in adapted.get_vocabulary()],
            "i_adapted": as_list(adapted(INT_DATA)),
            "i_two_oov": as_list(layers.IntegerLookup(vocabulary=INT_VOCAB, num_oov_indices=2)(oov_data)),
            "i_round_trip": as_list(inverse(forward(INT_DATA)))}


def documented_discretization():
    x = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]])
    layer = layers.Discretization(num_bins=4, epsilon=0.01)
    layer.adapt(x)
    return {"d_adapted": as_list(layer(x))}


def run():
    keras.utils.set_random_seed(61)
    rng = np.random.default_rng(43)
    colours = rng.choice(["red", "green", "blue", "teal"], size=(256, 1))
    zips = rng.choice([10115, 20095, 80331, 50667, 99999], size=(256, 1))
    y = ((colours[:, 0] == "red") ^ (zips[:, 0] == 80331)).astype("float32")
    colour_lookup = layers.StringLookup(output_mode="one_hot")
    colour_lookup.adapt(colours)
    zip_lookup = layers.IntegerLookup(output_mode="one_hot")
    zip_lookup.adapt(zips)
    features = np.concatenate([keras.ops.convert_to_numpy(colour_lookup(colours)),
                               keras.ops.convert_to_numpy(zip_lookup(zips))], axis=-1).astype("float32")
    model = keras.Sequential([keras.Input((features.shape[1],)), layers.Dense(8, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="binary_crossentropy")
    hist = model.fit(features, y, epochs=5, batch_size=32, verbose=0)
    return {"shapes": {"features": features.shape}, "losses": {"train": hist.history["loss"]},
            "sizes": [colour_lookup.vocabulary_size(), zip_lookup.vocabulary_size()],
            **documented_strings(), **documented_integers(), **documented_discretization()}
CHECKS = {"expected": {"sizes": [5, 6], "s_known": [[1, 3, 4], [4, 0, 2]], "s_adapted_vocab": ["[UNK]", "d", "z", "c", "b", "a"], "s_adapted": [[5, 3, 1], [1, 2, 4]], "s_multi_hot": [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]], "s_count": [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]], "s_inverse": [["a", "c", "d"], ["d", "[UNK]", "b"]], "i_known": [[1, 3, 4], [4, 0, 2]], "i_adapted_vocab": [-1, 42, 1138, 1000, 36, 12], "i_adapted": [[5, 2, 1], [1, 3, 4]], "i_two_oov": [[2, 4, 5], [1, 0, 3]], "i_round_trip": [[12, 1138, 42], [42, -1, 36]], "d_adapted": [[0, 2, 3, 2], [1, 3, 3, 1]]}}
