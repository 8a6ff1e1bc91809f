"""Structured features through preprocessing layers inside a functional model: a float column
bucketed by Discretization(bin_boundaries) and one-hot encoded by CategoryEncoding, a list of
category ids multi-hot encoded, both concatenated into a Dense classifier. The two layers are also
checked on their documented examples (int buckets; one_hot, multi_hot and weighted count)."""
ISSUE = 14
import numpy as np

import keras
from keras import layers


def as_list(tensor):
    return keras.ops.convert_to_numpy(tensor).tolist()


def documented():
    x = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]])
    ids = [[0, 1], [0, 0], [1, 2], [3, 1]]
    weights = np.array([[0.1, 0.2], [0.1, 0.1], [0.2, 0.3], [0.4, 0.2]])
    return {"doc_buckets": as_list(layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])(x)),
            "doc_one_hot": as_list(layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")([3, 2, 0, 1])),
            "doc_multi_hot": as_list(layers.CategoryEncoding(num_tokens=4, output_mode="multi_hot")(ids)),
            "doc_count": as_list(layers.CategoryEncoding(num_tokens=4, output_mode="count")(
                ids, count_weights=weights))}


def run():
    keras.utils.set_random_seed(29)
    rng = np.random.default_rng(13)
    age = rng.uniform(0.0, 80.0, size=(256, 1)).astype("float32")
    tags = rng.integers(0, 6, size=(256, 3))
    y = (((age[:, 0] > 30) & (age[:, 0] < 60)) | (tags == 5).any(axis=1)).astype("float32")
    age_in = keras.Input((1,), name="age")
    tags_in = keras.Input((3,), dtype="int32", name="tags")
    buckets = layers.Discretization(bin_boundaries=[15.0, 30.0, 45.0, 60.0])(age_in)
    age_code = layers.CategoryEncoding(num_tokens=5, output_mode="one_hot")(buckets)
    tag_code = layers.CategoryEncoding(num_tokens=6, output_mode="multi_hot")(tags_in)
    h = layers.Dense(8, activation="relu")(layers.Concatenate()([age_code, tag_code]))
    model = keras.Model([age_in, tags_in], layers.Dense(1, activation="sigmoid")(h))
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="binary_crossentropy")
    hist = model.fit({"age": age, "tags": tags}, y, epochs=4, batch_size=32, verbose=0)
    return {"shapes": {"age_code": tuple(age_code.shape), "tag_code": tuple(tag_code.shape),
                       "pred": model.predict({"age": age[:2], "tags": tags[:2]}, verbose=0).shape},
            "losses": {"train": hist.history["loss"]}, **documented()}
CHECKS = {"expected": {"doc_buckets": [[0, 2, 3, 1], [1, 3, 2, 1]], "doc_one_hot": [[0, 0, 0, 1], [0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]], "doc_multi_hot": [[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]], "doc_count": [[0.1, 0.2, 0, 0], [0.2, 0, 0, 0], [0, 0.2, 0.3, 0], [0, 0.2, 0, 0.4]]}}
