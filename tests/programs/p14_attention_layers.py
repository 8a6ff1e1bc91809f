"""Attention (dot product) and AdditiveAttention: exact outputs and attention scores on fixed
query/value arrays with a value mask and a causal mask, then a model that attends from a learned
query over a sequence to find the step marked by a flag feature."""
ISSUE = 14
import numpy as np

import keras
from keras import layers


def fixed_inputs():
    q = np.linspace(-1.0, 1.0, 2 * 3 * 4, dtype="float32").reshape(2, 3, 4)
    v = np.cos(np.arange(2 * 5 * 4, dtype="float32")).reshape(2, 5, 4)
    v_mask = np.array([[True, True, True, False, False], [True, True, True, True, True]])
    return q, v, v_mask


def as_numpy(outputs):
    return [keras.ops.convert_to_numpy(t) for t in outputs]


def run():
    keras.utils.set_random_seed(19)
    q, v, v_mask = fixed_inputs()
    dot_out, dot_scores = as_numpy(layers.Attention()([q, v], mask=[None, v_mask], return_attention_scores=True))
    add_out, add_scores = as_numpy(layers.AdditiveAttention(use_scale=False)(
        [q, v, v], mask=[None, v_mask], return_attention_scores=True))
    _, causal_scores = as_numpy(layers.Attention()([q, q], use_causal_mask=True, return_attention_scores=True))
    rng = np.random.default_rng(4)
    seq = rng.normal(size=(192, 6, 4)).astype("float32")
    where = rng.integers(0, 6, size=192)
    seq[:, :, 3] = 0.0
    seq[np.arange(192), where, 3] = 3.0
    target = seq[np.arange(192), where, :1]
    inputs = keras.Input((6, 4))
    query = layers.Dense(4)(layers.GlobalAveragePooling1D()(inputs))
    attended = layers.Attention(use_scale=True)([layers.Reshape((1, 4))(query), inputs])
    outputs = layers.Dense(1)(layers.Flatten()(attended))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    hist = model.fit(seq, target, epochs=5, batch_size=32, verbose=0)
    return {"shapes": {"dot": dot_out.shape, "dot_scores": dot_scores.shape, "additive": add_out.shape,
                       "pred": model.predict(seq[:2], verbose=0).shape},
            "losses": {"train": hist.history["loss"]},
            "dot_out": dot_out, "dot_scores": dot_scores, "add_out": add_out, "add_scores": add_scores,
            "masked_scores_zero": bool(np.all(dot_scores[0, :, 3:] == 0.0) and np.all(add_scores[0, :, 3:] == 0.0)),
            "causal_upper_zero": bool(np.all(np.triu(causal_scores[0], k=1) == 0.0)),
            "n_weights": len(model.weights)}
CHECKS = {"equal": ["dot_out", "dot_scores", "add_out", "add_scores"], "same": ["masked_scores_zero", "causal_upper_zero", "n_weights"]}
