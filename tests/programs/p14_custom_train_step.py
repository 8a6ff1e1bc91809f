"""A custom train_step in the style of the Keras guide for the torch backend: a keras.Model
subclass built functionally as CustomModel(inputs, outputs), whose step calls zero_grad, the
forward pass, self.compute_loss, backward, optimizer.apply under torch.no_grad, updates
self.metrics and returns {m.name: m.result()}; fit and evaluate then report loss and mae."""
ISSUE = 14
import numpy as np
import torch

import keras
from keras import layers


class CustomModel(keras.Model):
    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        weights = list(self.trainable_weights)
        gradients = [w.value.grad for w in weights]
        with torch.no_grad():
            self.optimizer.apply(gradients, weights)
        self.steps_taken += 1
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def run():
    keras.utils.set_random_seed(2)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(192, 4)).astype("float32")
    y = (np.sin(x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:3]).astype("float32")
    inputs = keras.Input((4,))
    h = layers.Dense(16, activation="tanh")(inputs)
    outputs = layers.Dense(1)(h)
    model = CustomModel(inputs, outputs)
    model.steps_taken = 0
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse", metrics=["mae"])
    hist = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    scores = model.evaluate(x, y, verbose=0, return_dict=True)
    return {"shapes": {"pred": model.predict(x[:3], verbose=0).shape},
            "losses": {"train": hist.history["loss"], "mae": hist.history["mae"]},
            "history_keys": sorted(hist.history), "evaluate_keys": sorted(scores),
            "steps_taken": model.steps_taken, "is_custom": type(model).__name__}
CHECKS = {"same": ["history_keys", "evaluate_keys", "steps_taken", "is_custom"]}
