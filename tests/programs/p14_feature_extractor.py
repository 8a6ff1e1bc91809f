"""Feature extraction from a trained functional CNN: a model over every layer's output
(Model(model.inputs, [l.output for l in model.layers])), one cut at get_layer(index=...), one at
get_layer(name=...), and a rebuild from Model.input/Model.output that predicts exactly as the
original and shares its layers. (Keras 3 gives Sequential models .inputs/.outputs but no
.input/.output on the torch backend, so the CNN is functional.)"""
ISSUE = 14
import numpy as np

import keras
from keras import layers


def run():
    keras.utils.set_random_seed(43)
    rng = np.random.default_rng(29)
    x = rng.normal(size=(128, 10, 10, 1)).astype("float32")
    y = (x[:, :5].mean(axis=(1, 2, 3)) > x[:, 5:].mean(axis=(1, 2, 3))).astype("int32")
    inputs = keras.Input((10, 10, 1), name="image")
    h = layers.MaxPooling2D(name="pool")(layers.Conv2D(6, 3, activation="relu", name="conv")(inputs))
    h = layers.Dense(8, activation="relu", name="embed")(layers.Flatten(name="flat")(h))
    model = keras.Model(inputs, layers.Dense(2, activation="softmax", name="probs")(h))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    hist = model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    every = keras.Model(model.inputs, [layer.output for layer in model.layers])
    by_index = keras.Model(model.input, model.get_layer(index=4).output)
    by_name = keras.Model(model.input, model.get_layer(name="pool").output)
    rebuilt = keras.Model(model.input, model.output)
    feats = every.predict(x[:4], verbose=0)
    probs = model.predict(x[:4], verbose=0)
    return {"shapes": {"every": [f.shape for f in feats], "by_index": by_index.predict(x[:4], verbose=0).shape,
                       "by_name": by_name.predict(x[:4], verbose=0).shape, "output": tuple(model.output.shape)},
            "losses": {"train": hist.history["loss"]},
            "layer_names": [layer.name for layer in model.layers], "index_4": model.get_layer(index=4).name,
            "last_is_prediction": bool(np.allclose(feats[-1], probs, atol=1e-6)),
            "embedding_matches": bool(np.allclose(feats[4], by_index.predict(x[:4], verbose=0), atol=1e-6)),
            "rebuilt_matches": bool(np.allclose(rebuilt.predict(x[:4], verbose=0), probs, atol=1e-6)),
            "shares_weights": rebuilt.layers[-1] is model.layers[-1]}
CHECKS = {"same": ["layer_names", "index_4", "last_is_prediction", "embedding_matches", "rebuilt_matches", "shares_weights"]}
