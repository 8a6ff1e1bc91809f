"""A sequence-to-sequence LSTM that learns to reverse digit strings: the encoder's return_state
states seed the decoder through initial_state, trained with teacher forcing. Inference models are
then rebuilt from the trained graph (Model.input, model.layers[i].output) and decode step by step;
their step probabilities must match the teacher-forced model's."""
ISSUE = 14
import numpy as np

import keras
from keras import layers

DIGITS, LENGTH, LATENT = 6, 5, 32
START = DIGITS  # the decoder's start token; one-hot width is DIGITS + 1


def one_hot(ids):
    return np.eye(DIGITS + 1, dtype="float32")[ids]


def data(rng, n):
    source = rng.integers(0, DIGITS, size=(n, LENGTH))
    target = source[:, ::-1]
    decoder_in = np.concatenate([np.full((n, 1), START), target[:, :-1]], axis=1)
    return one_hot(source), one_hot(decoder_in), one_hot(target)


def build():
    encoder_in = keras.Input((None, DIGITS + 1), name="encoder_in")
    decoder_in = keras.Input((None, DIGITS + 1), name="decoder_in")
    _, state_h, state_c = layers.LSTM(LATENT, return_state=True, name="encoder")(encoder_in)
    decoded, _, _ = layers.LSTM(LATENT, return_sequences=True, return_state=True, name="decoder")(
        decoder_in, initial_state=[state_h, state_c])
    probs = layers.Dense(DIGITS + 1, activation="softmax", name="next_digit")(decoded)
    return keras.Model([encoder_in, decoder_in], probs)


def inference_models(model):
    """The encoder and a one-step decoder, cut out of the trained model by position."""
    encoder = keras.Model(model.input[0], model.layers[2].output[1:])
    h_in, c_in = keras.Input((LATENT,)), keras.Input((LATENT,))
    decoded, h, c = model.layers[3](model.input[1], initial_state=[h_in, c_in])
    step = keras.Model([model.input[1], h_in, c_in], [model.layers[4](decoded), h, c])
    return encoder, step


def run():
    keras.utils.set_random_seed(21)
    src, dec_in, target = data(np.random.default_rng(4), 192)
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy")
    hist = model.fit([src, dec_in], target, epochs=4, batch_size=48, verbose=0)
    encoder, step = inference_models(model)
    h, c = encoder.predict(src[:4], verbose=0)
    stepwise = []
    for t in range(LENGTH):
        probs, h, c = step.predict([dec_in[:4, t:t + 1], h, c], verbose=0)
        stepwise.append(probs[:, 0])
    full = model.predict([src[:4], dec_in[:4]], verbose=0)
    return {"shapes": {"probs": full.shape, "state": h.shape},
            "losses": {"train": hist.history["loss"]},
            "layer_names": [layer.name for layer in model.layers],
            "steps_match_full": bool(np.allclose(np.stack(stepwise, axis=1), full, atol=1e-5))}
CHECKS = {"same": ["layer_names", "steps_match_full"]}
