"""A text classifier on raw strings: TextVectorization is adapted to the training sentences and
turns them into padded token ids outside the model (the pattern Keras recommends for backends
other than TensorFlow), then Embedding, GlobalAveragePooling1D and Dense learn the sentiment.
The layer is also run on the two examples of its documentation, whose outputs are checked."""
ISSUE = 14
KERAS_CANNOT = "TextVectorization requires TensorFlow (ImportError 'Layer TextVectorization requires TensorFlow') on the torch backend"
import numpy as np

import keras
from keras import layers

GOOD = ["great", "lovely", "superb", "fine", "good"]
BAD = ["awful", "dull", "poor", "bad", "boring"]
FILLER = ["the", "film", "was", "plot", "and", "acting", "quite", "really"]


def sentences(rng, n):
    """Sentences of filler words with one to three sentiment words; label 1 for the good ones."""
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.integers(0, 2))
        words = list(rng.choice(FILLER, size=int(rng.integers(3, 6))))
        words += list(rng.choice(GOOD if label else BAD, size=int(rng.integers(1, 4))))
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + rng.choice([".", "!", "?"]))
        labels.append(label)
    return np.array(texts), np.array(labels, dtype="float32")


def documented_examples():
    adapted = layers.TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    adapted.adapt(["foo bar", "bar baz", "baz bada boom"])
    given = layers.TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4,
                                     vocabulary=["earth", "wind", "and", "fire"])
    ids = keras.ops.convert_to_numpy(adapted([["foo qux bar"], ["qux baz"]]))
    return ids.tolist(), [str(t) for t in given.get_vocabulary()]


def run():
    keras.utils.set_random_seed(8)
    texts, labels = sentences(np.random.default_rng(2), 160)
    vectorize = layers.TextVectorization(max_tokens=40, output_mode="int", output_sequence_length=10)
    vectorize.adapt(texts)
    ids = keras.ops.convert_to_numpy(vectorize(texts))
    model = keras.Sequential([keras.Input((10,), dtype="int32"), layers.Embedding(40, 8),
                              layers.GlobalAveragePooling1D(), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(ids, labels, epochs=5, batch_size=32, verbose=0)
    doc_ids, doc_vocab = documented_examples()
    vocab = [str(t) for t in vectorize.get_vocabulary()]
    lowered = keras.ops.convert_to_numpy(vectorize(["GREAT film!!", "great FILM"]))
    return {"shapes": {"ids": ids.shape}, "losses": {"train": hist.history["loss"]},
            "doc_ids": doc_ids, "doc_vocab": doc_vocab, "reserved": vocab[:2],
            "vocab_is_words": all(w.isalpha() and w.islower() for w in vocab[2:]),
            "standardized": bool(np.array_equal(lowered[0], lowered[1]))}
CHECKS = {"expected": {"doc_ids": [[4, 1, 3, 0], [1, 2, 0, 0]], "doc_vocab": ["", "[UNK]", "earth", "wind", "and", "fire"], "reserved": ["", "[UNK]"], "vocab_is_words": True, "standardized": True}}
