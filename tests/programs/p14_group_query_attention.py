"""GroupQueryAttention (grouped-query attention: 4 query heads sharing 2 key/value heads) as the
self-attention of a tiny sequence classifier; its weight shapes, score shape and causal masking
are checked."""
ISSUE = 14
import numpy as np

import keras
from keras import layers


def run():
    keras.utils.set_random_seed(23)
    rng = np.random.default_rng(11)
    x = rng.normal(size=(192, 8, 6)).astype("float32")
    y = (x[:, :, 0].max(axis=1) > 1.5).astype("float32")
    attention = layers.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
    inputs = keras.Input((8, 6))
    h = layers.LayerNormalization()(inputs + attention(inputs, inputs))
    outputs = layers.Dense(1, activation="sigmoid")(layers.GlobalMaxPooling1D()(h))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    hist = model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    out, scores = attention(x[:3], x[:3], return_attention_scores=True, use_causal_mask=True)
    scores = keras.ops.convert_to_numpy(scores)
    return {"shapes": {"out": tuple(out.shape), "scores": scores.shape,
                       "pred": model.predict(x[:3], verbose=0).shape},
            "losses": {"train": hist.history["loss"]},
            "weight_shapes": sorted(tuple(w.shape) for w in attention.weights),
            "causal_upper_zero": bool(np.all(np.triu(scores, k=1) == 0.0)),
            "rows_sum_to_one": bool(np.allclose(scores.sum(axis=-1), 1.0, atol=1e-5)),
            "params": model.count_params()}
CHECKS = {"same": ["weight_shapes", "causal_upper_zero", "rows_sum_to_one", "params"]}
