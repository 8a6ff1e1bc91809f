"""TorchModuleWrapper puts torch.nn modules inside Keras models: a keras.Model subclass (the
layer's documented idiom) wraps a torch.nn.Sequential feature block and adds a Keras Dense head,
trained with fit; the torch parameters become the model's trainable weights, in torch's layout,
and are what the optimizer changes. A functional model uses the wrapper with output_shape."""
ISSUE = 14
import numpy as np
import torch
import torch.nn.functional as F

import keras
from keras import layers


class Regressor(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.features = layers.TorchModuleWrapper(
            torch.nn.Sequential(torch.nn.Linear(5, 12), torch.nn.Tanh(), torch.nn.Linear(12, 6)))
        self.head = layers.Dense(1)

    def call(self, inputs):
        return self.head(F.relu(self.features(inputs)))


def run():
    keras.utils.set_random_seed(41)
    torch.manual_seed(41)
    rng = np.random.default_rng(23)
    x = rng.normal(size=(192, 5)).astype("float32")
    y = (np.tanh(x[:, :1] - x[:, 1:2]) + 0.3 * x[:, 4:5]).astype("float32")
    model = Regressor()
    model(x[:1])
    block = model.features.module
    before = block[0].weight.detach().clone()
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    hist = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    direct = block(torch.from_numpy(x[:4])).detach().numpy()
    via_keras = keras.ops.convert_to_numpy(model.features(x[:4]))
    inputs = keras.Input((5,))
    symbolic = layers.TorchModuleWrapper(torch.nn.Linear(5, 3), output_shape=(None, 3))(inputs)
    return {"shapes": {"pred": model.predict(x[:3], verbose=0).shape, "features": via_keras.shape,
                       "symbolic": tuple(symbolic.shape)},
            "losses": {"train": hist.history["loss"]},
            "weight_shapes": [tuple(w.shape) for w in model.features.trainable_weights],
            "n_trainable": len(model.trainable_weights), "params": model.count_params(),
            "torch_weights_trained": not bool(torch.equal(before, block[0].weight.detach())),
            "same_as_module": bool(np.allclose(direct, via_keras, atol=1e-6))}
CHECKS = {"same": ["weight_shapes", "n_trainable", "params", "torch_weights_trained", "same_as_module"]}
