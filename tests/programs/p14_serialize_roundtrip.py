"""keras.saving.serialize_keras_object / deserialize_keras_object round trips: an initializer,
a regularizer, a loss, an optimizer, an activation function, a built-in layer, a custom layer
registered with register_keras_serializable, and a whole trained model, whose clone (weights
copied over) predicts exactly as the original."""
ISSUE = 14
import numpy as np

import keras
from keras import layers
from keras.saving import deserialize_keras_object, serialize_keras_object


@keras.saving.register_keras_serializable(package="p14")
class Scale(layers.Layer):
    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return self.factor * x

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def round_trips(obj):
    """The serialized form without the Python module path, and whether the copy has the same config."""
    data = serialize_keras_object(obj)
    copy = deserialize_keras_object(data)
    same = type(copy) is type(obj) and copy.get_config() == obj.get_config()
    return {k: v for k, v in data.items() if k != "module"}, same


def run():
    keras.utils.set_random_seed(53)
    objects = {"initializer": keras.initializers.GlorotUniform(seed=3), "regularizer": keras.regularizers.L2(0.01),
               "loss": keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
               "optimizer": keras.optimizers.Adam(learning_rate=0.003, name="tuned_adam"),
               "dense": layers.Dense(3, activation="relu", kernel_initializer=keras.initializers.HeNormal(seed=1),
                                   name="hidden"),
               "custom": Scale(factor=0.5, name="half")}
    forms = {name: round_trips(obj) for name, obj in objects.items()}
    relu_form = serialize_keras_object(keras.activations.relu)
    rng = np.random.default_rng(37)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-1.0], [0.5], [2.0]], dtype="float32")).astype("float32")
    model = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"), Scale(2.0),
                              layers.Dense(1)], name="scaled")
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    hist = model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    clone = deserialize_keras_object(serialize_keras_object(model))
    clone.set_weights(model.get_weights())
    return {"shapes": {"pred": clone.predict(x[:3], verbose=0).shape},
            "losses": {"train": hist.history["loss"]},
            "forms": {name: form for name, (form, _) in forms.items()},
            "round_trips": {name: same for name, (_, same) in forms.items()},
            "relu_form": relu_form, "relu_back": deserialize_keras_object(relu_form) is keras.activations.relu,
            "clone_layers": [type(layer).__name__ for layer in clone.layers],
            "clone_predicts_same": bool(np.allclose(clone.predict(x[:8], verbose=0), model.predict(x[:8], verbose=0)))}
CHECKS = {"same": ["forms", "round_trips", "relu_form", "relu_back", "clone_layers", "clone_predicts_same"]}
