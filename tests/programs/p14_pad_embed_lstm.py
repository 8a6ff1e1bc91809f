"""Variable-length token lists padded with keras.utils.pad_sequences, then Embedding(mask_zero=True)
and an LSTM that skips the padding: the classifier's output does not change with how much
padding a sequence gets. pad_sequences is also checked on its documented examples."""
ISSUE = 14
import numpy as np

import keras
from keras import layers

VOCAB = 20


def documented_padding():
    seqs = [[1], [2, 3], [4, 5, 6]]
    pad = keras.utils.pad_sequences
    return {"doc_default": pad(seqs).tolist(), "doc_value": pad(seqs, value=-1).tolist(),
            "doc_post": pad(seqs, padding="post").tolist(), "doc_maxlen": pad(seqs, maxlen=2).tolist(),
            "doc_dtype": str(pad(seqs).dtype)}


def run():
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(5)
    seqs = [list(rng.integers(1, VOCAB, size=int(rng.integers(2, 9)))) for _ in range(160)]
    labels = np.array([float(3 in s or 4 in s) for s in seqs], dtype="float32")
    x = keras.utils.pad_sequences(seqs, maxlen=8)
    embed = layers.Embedding(VOCAB, 8, mask_zero=True)
    model = keras.Sequential([keras.Input((None,), dtype="int32"), embed, layers.LSTM(16),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy")
    hist = model.fit(x, labels, epochs=4, batch_size=40, verbose=0)
    longer = keras.utils.pad_sequences(seqs[:6], maxlen=12)
    mask = keras.ops.convert_to_numpy(embed.compute_mask(x[:6]))
    return {"shapes": {"x": x.shape, "longer": longer.shape},
            "losses": {"train": hist.history["loss"]},
            "padding_ignored": bool(np.allclose(model.predict(x[:6], verbose=0),
                                                model.predict(longer, verbose=0), atol=1e-5)),
            "mask_is_nonzero": bool(np.array_equal(mask, x[:6] != 0)), **documented_padding()}
CHECKS = {"same": ["padding_ignored", "mask_is_nonzero"], "expected": {"doc_default": [[0, 0, 1], [0, 2, 3], [4, 5, 6]], "doc_value": [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]], "doc_post": [[1, 0, 0], [2, 3, 0], [4, 5, 6]], "doc_maxlen": [[0, 1], [2, 3], [5, 6]], "doc_dtype": "int32"}}
