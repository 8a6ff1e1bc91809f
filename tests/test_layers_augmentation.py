"""Image preprocessing and augmentation layers against Keras 3 (torch backend).

Deterministic layers (Resizing, CenterCrop) and the random layers at inference match Keras's
outputs and dtypes. Keras's random numbers come from its own generator, so the random layers in
training are checked by (a) degenerate factors that fix the transformation (a 90 degree turn, a
fixed zoom, shift, contrast or brightness), compared with Keras; (b) invariants (a flip is the
input or its mirror; outputs stay in range); (c) reproducibility under initium seeds; (d) the drawn
parameters' statistics, with tolerances of four standard errors.
"""

import json

import numpy as np
import pytest
import torch

import initium
from initium import backend, layers
from initium.layers import augmentation
from layer_testing import run_layer_test


def _keras():
    import keras

    return keras


def _images(shape=(3, 7, 9, 2), seed=0, dtype="float32", high=1.0):
    x = np.random.default_rng(seed).uniform(0, high, shape)
    return x.astype(dtype)


def _keras_out(name, kwargs, x, training):
    # a copy: Keras's RandomBrightness adds in place, into the caller's array
    return np.asarray(getattr(_keras().layers, name)(**kwargs)(x.copy(), training=training))


def _same(ours, theirs, atol=1e-5):
    ours = ours.numpy()
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, (ours.dtype, theirs.dtype, ours.shape, theirs.shape)
    np.testing.assert_allclose(ours.astype("float64"), theirs.astype("float64"), atol=atol, rtol=0)


# =========================================================================== declarative parity
@pytest.mark.parametrize("kwargs, in_shape, out_shape", [
    ({"height": 4, "width": 5}, (2, 7, 9, 3), (2, 4, 5, 3)),
    ({"height": 10, "width": 12, "interpolation": "bicubic"}, (2, 7, 9, 3), (2, 10, 12, 3)),
    ({"height": 4, "width": 5, "interpolation": "nearest"}, (2, 7, 9, 1), (2, 4, 5, 1)),
    ({"height": 4, "width": 4, "antialias": True, "crop_to_aspect_ratio": True}, (2, 7, 9, 2), (2, 4, 4, 2)),
    ({"height": 4, "width": 8, "pad_to_aspect_ratio": True, "fill_value": 0.5}, (2, 7, 9, 2), (2, 4, 8, 2)),
    ({"height": 3, "width": 5, "data_format": "channels_first"}, (2, 2, 7, 9), (2, 2, 3, 5)),
])
def test_resizing(kwargs, in_shape, out_shape):
    run_layer_test(layers.Resizing, kwargs, input_shape=in_shape, expected_output_shape=out_shape,
                   expected_weight_shapes=[], expected_trainable=0)


@pytest.mark.parametrize("kwargs, in_shape, out_shape", [
    ({"height": 4, "width": 5}, (2, 7, 9, 3), (2, 4, 5, 3)),
    ({"height": 10, "width": 5}, (2, 7, 9, 3), (2, 10, 5, 3)),  # taller than the image: resized
    ({"height": 3, "width": 3, "data_format": "channels_first"}, (2, 2, 6, 8), (2, 2, 3, 3)),
])
def test_center_crop(kwargs, in_shape, out_shape):
    run_layer_test(layers.CenterCrop, kwargs, input_shape=in_shape, expected_output_shape=out_shape,
                   expected_weight_shapes=[])


# Degenerate factors fix the transformation, so training=True is compared with Keras too.
@pytest.mark.parametrize("name, kwargs", [
    ("RandomFlip", {"seed": 3}),
    ("RandomFlip", {"mode": "horizontal", "data_format": "channels_first"}),
    ("RandomRotation", {"factor": 0.2}),
    ("RandomRotation", {"factor": (0.25, 0.25), "fill_mode": "constant", "fill_value": 0.5}),
    ("RandomRotation", {"factor": (-0.125, -0.125), "interpolation": "nearest", "fill_mode": "wrap"}),
    ("RandomZoom", {"height_factor": (0.3, 0.3), "width_factor": (-0.2, -0.2), "fill_mode": "nearest"}),
    ("RandomZoom", {"height_factor": (-0.4, -0.4), "interpolation": "nearest"}),
    ("RandomTranslation", {"height_factor": (0.25, 0.25), "width_factor": (-0.3, -0.3)}),
    ("RandomTranslation", {"height_factor": 0.0, "width_factor": (0.1, 0.1), "fill_mode": "constant"}),
    ("RandomContrast", {"factor": (-0.5, 0.5), "value_range": (0, 1)}),  # Keras: contrast 1.5 exactly
    ("RandomContrast", {"factor": 0.0}),
])
def test_random_layers_with_fixed_transformations(name, kwargs):
    shape = (2, 2, 6, 8) if kwargs.get("data_format") == "channels_first" else (2, 6, 8, 2)
    modes = (False,) if name == "RandomFlip" or kwargs.get("factor") == 0.2 else (False, True)
    run_layer_test(getattr(layers, name), kwargs, input_shape=shape, expected_output_shape=shape,
                   expected_weight_shapes=[], training_modes=modes)


@pytest.mark.parametrize("kwargs, dtype, high", [
    ({"factor": (0.1, 0.1), "value_range": (0, 1)}, "float32", 1.0),
    ({"factor": (-0.3, -0.3), "value_range": [0.0, 2.0]}, "float32", 2.0),
    ({"factor": (0.2, 0.2)}, "int32", 255),
    ({"factor": (-0.1, -0.1)}, "int32", 255),  # -25.5 truncates toward zero: -25, as Keras's cast
])
def test_random_brightness_fixed_offset_matches_keras(kwargs, dtype, high):
    # not through run_layer_test: Keras's RandomBrightness adds into its input tensor in place
    run_layer_test(layers.RandomBrightness, kwargs, input_shape=(2, 6, 8, 2), expected_output_shape=(2, 6, 8, 2),
                   expected_weight_shapes=[], keras_parity=False)
    x = _images((2, 6, 8, 2), dtype=dtype, high=high)
    for images in (x, x[0]):
        for training in (False, True):
            _same(layers.RandomBrightness(**kwargs)(images, training=training),
                  _keras_out("RandomBrightness", kwargs, images, training))


def test_random_crop_parity():
    # An image not larger than the target on both sides takes Keras's deterministic window in training.
    run_layer_test(layers.RandomCrop, {"height": 6, "width": 4, "seed": 1}, input_shape=(2, 6, 9, 2),
                   expected_output_shape=(2, 6, 4, 2), expected_weight_shapes=[], training_modes=(True,))
    run_layer_test(layers.RandomCrop, {"height": 8, "width": 12, "seed": 1}, input_shape=(2, 6, 9, 2),
                   expected_output_shape=(2, 8, 12, 2), expected_weight_shapes=[], training_modes=(True,))


# =========================================================================== resampling and fill modes
@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "reflect"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_affine_resampling_matches_keras_affine_transform(fill_mode, interpolation):
    """The grid_sample resampler against keras.ops.image.affine_transform on random maps, including
    maps with half-integer coefficients (exact .5 coordinates, where nearest rounds half to even)."""
    keras = _keras()
    rng = np.random.default_rng(1)
    for shape, data_format in [((3, 7, 9, 2), "channels_last"), ((2, 3, 5, 4), "channels_first"),
                               ((1, 1, 6, 3), "channels_last")]:
        x = rng.uniform(0, 1, shape).astype("float32")
        transform = np.zeros((shape[0], 8), "float32")
        transform[:, :6] = rng.normal(size=(shape[0], 6)) * [1.0, 0.5, 4.0, 0.5, 1.0, 4.0]
        for t in (transform, np.round(transform * 2) / 2):
            for fill_value in (0.0, 0.7):
                rows = [torch.from_numpy(t[:, i:i + 1]) for i in range(6)]
                ours = augmentation._affine_resample(torch.from_numpy(x), rows, interpolation, fill_mode,
                                                     fill_value, data_format)
                theirs = keras.ops.image.affine_transform(x, t, interpolation=interpolation, fill_mode=fill_mode,
                                                          fill_value=fill_value, data_format=data_format)
                np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), atol=2e-6, rtol=0)


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
def test_fixed_rotation_zoom_translation_match_keras(fill_mode):
    x = _images()
    cases = [("RandomRotation", {"factor": (0.25, 0.25)}), ("RandomRotation", {"factor": (-0.1, -0.1)}),
             ("RandomZoom", {"height_factor": (0.5, 0.5), "width_factor": (-0.3, -0.3)}),
             ("RandomTranslation", {"height_factor": (-0.2, -0.2), "width_factor": (0.4, 0.4)})]
    for name, kwargs in cases:
        kwargs = {**kwargs, "fill_mode": fill_mode, "fill_value": 0.25}
        for images in (x, x[0]):  # a batch, and one image
            _same(getattr(layers, name)(**kwargs)(images, training=True), _keras_out(name, kwargs, images, True))


def test_quarter_turn_is_an_exact_rotation():
    x = _images((2, 5, 5, 1))
    y = layers.RandomRotation((0.25, 0.25), interpolation="nearest")(x, training=True).numpy()
    np.testing.assert_array_equal(y, np.rot90(x, k=1, axes=(1, 2)))  # counter-clockwise


# =========================================================================== dtypes and inference
@pytest.mark.parametrize("name, kwargs", [
    ("Resizing", {"height": 3, "width": 4}), ("CenterCrop", {"height": 3, "width": 4}),
    ("CenterCrop", {"height": 8, "width": 10}), ("RandomFlip", {}), ("RandomRotation", {"factor": 0.1}),
    ("RandomZoom", {"height_factor": 0.1}), ("RandomTranslation", {"height_factor": 0.1, "width_factor": 0.1}),
    ("RandomContrast", {"factor": 0.3}), ("RandomBrightness", {"factor": 0.3}),
    ("RandomCrop", {"height": 3, "width": 4, "seed": 2}),
])
@pytest.mark.parametrize("dtype", ["uint8", "int32", "float32", "float64"])
def test_inference_outputs_and_dtypes_match_keras(name, kwargs, dtype):
    x = _images((2, 6, 8, 3), dtype=dtype, high=255)
    ours = getattr(layers, name)(**kwargs)(x, training=False)
    theirs = _keras_out(name, kwargs, x, False)
    if name == "RandomCrop" and dtype == "float64":
        # Keras's RandomCrop skips its input conversion; initium layers cast float inputs to their dtype
        assert ours.dtype == torch.float32 and theirs.dtype == np.float64
        theirs = theirs.astype("float32")
    _same(ours, theirs)
    trained = getattr(layers, name)(**kwargs)(x, training=True)
    assert trained.dtype == torch.from_numpy(_keras_out(name, kwargs, x, True)).dtype
    assert getattr(layers, name)(**kwargs)(initium.Input(x.shape[1:], dtype=dtype)).dtype == "float32"


@pytest.mark.parametrize("layer", [
    lambda: layers.RandomFlip(), lambda: layers.RandomRotation(0.3), lambda: layers.RandomZoom(0.3, 0.2),
    lambda: layers.RandomTranslation(0.3, 0.3), lambda: layers.RandomContrast(0.5), lambda: layers.RandomBrightness(0.5),
    lambda: layers.RandomCrop(3, 4),
])
def test_random_layers_are_identity_at_inference(layer):
    x = _images((4, 6, 8, 3), high=255)
    np.testing.assert_array_equal(layer()(x, training=False).numpy(), x)
    np.testing.assert_array_equal(layer()(x[0], training=False).numpy(), x[0])
    model = initium.Sequential([initium.Input((6, 8, 3)), layer()])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    np.testing.assert_array_equal(model(x, training=False).numpy(), x)


def test_random_crop_passes_images_through_at_inference_as_keras():
    """Keras 3.15.1's code (not its docstring, which promises a central crop): the input, unchanged."""
    for dtype in ("uint8", "float32"):
        x = _images((2, 9, 7, 3), dtype=dtype, high=255)
        _same(layers.RandomCrop(4, 6, seed=1)(x, training=False), _keras_out("RandomCrop", {"height": 4, "width": 6,
                                                                                            "seed": 1}, x, False))
    assert layers.RandomCrop(4, 6)(initium.Input((9, 7, 3))).shape == (None, 4, 6, 3)  # the training shape


def test_training_defaults_to_true_as_in_keras_unless_a_caller_says():
    x = _images((8, 6, 8, 1))
    assert not np.array_equal(layers.RandomFlip(seed=1)(x).numpy(), x)  # Keras's default: training=True
    aug = initium.Sequential([initium.Input((6, 8, 1)), layers.RandomFlip(seed=1)])
    assert not np.array_equal(aug(x).numpy(), x)  # a model called without `training` augments (Keras)
    np.testing.assert_array_equal(aug(x, training=False).numpy(), x)
    plain = initium.Sequential([initium.Input((4,)), layers.Dropout(0.5)])
    ones = np.ones((4, 4), "float32")
    np.testing.assert_array_equal(plain(ones).numpy(), ones)  # other layers still default to inference


def test_evaluate_is_inference_and_fit_augments():
    x = _images((16, 4, 4, 1))
    y = np.zeros((16, 1), "float32")

    def build(*pre):
        model = initium.Sequential([initium.Input((4, 4, 1)), *pre, layers.Flatten(),
                                    layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")])
        model.compile(optimizer=initium.optimizers.SGD(0.0), loss="mse")
        return model

    shift = layers.RandomBrightness((0.5, 0.5), value_range=(0, 100))  # adds exactly 50 when it acts
    augmented, plain = build(shift), build()
    assert augmented.evaluate(x, y, verbose=0) == pytest.approx(plain.evaluate(x, y, verbose=0), rel=1e-6)
    fitted = augmented.fit(x, y, epochs=1, batch_size=16, verbose=0).history["loss"][0]
    assert fitted == pytest.approx(plain.evaluate(x + 50.0, y, verbose=0), rel=1e-5)


# =========================================================================== random invariants
@pytest.mark.parametrize("mode, axes", [("horizontal", (2,)), ("vertical", (1,)), ("horizontal_and_vertical", (1, 2))])
def test_random_flip_gives_the_image_or_its_mirror(mode, axes):
    n = 400
    x = _images((n, 3, 4, 1))
    y = layers.RandomFlip(mode, seed=7)(x, training=True).numpy()
    flipped = np.flip(x, axes)
    same = np.all(y == x, axis=(1, 2, 3))
    mirrored = np.all(y == flipped, axis=(1, 2, 3))
    assert np.all(same | mirrored)
    assert abs(mirrored.mean() - 0.5) < 4 * np.sqrt(0.25 / n)  # one fair draw per image
    single = layers.RandomFlip(mode, seed=1)(x[0], training=True).numpy()
    assert np.array_equal(single, x[0]) or np.array_equal(single, flipped[0])


def _check_uniform(values, low, high):
    """Draws from U[low, high]: the range, and mean and variance within four standard errors."""
    values = np.asarray(values, dtype="float64").ravel()
    n, width = values.size, high - low
    assert values.min() >= low - 1e-5 and values.max() <= high + 1e-5
    assert abs(values.mean() - (low + high) / 2) < 4 * width / np.sqrt(12 * n)
    assert abs(values.var() - width ** 2 / 12) < 4 * width ** 2 / np.sqrt(180 * n)


def _affine_rows(monkeypatch, layer, images):
    """The per-image maps a layer draws, captured from the resampler."""
    seen = []
    real = augmentation._affine_resample

    def spy(x, coefficients, *args):
        seen.append([c.detach().numpy().ravel() for c in coefficients])
        return real(x, coefficients, *args)

    monkeypatch.setattr(augmentation, "_affine_resample", spy)
    layer(images, training=True)
    return seen[0]


def test_random_rotation_angles_are_uniform(monkeypatch):
    a0, _, _, b0, _, _ = _affine_rows(monkeypatch, layers.RandomRotation((-0.1, 0.2), seed=3), _images((600, 3, 3, 1)))
    _check_uniform(np.degrees(np.arctan2(b0, a0)), -36.0, 72.0)


def test_random_zoom_factors_are_uniform(monkeypatch):
    images = _images((600, 3, 3, 1))
    a0, _, _, _, b1, _ = _affine_rows(monkeypatch, layers.RandomZoom((-0.3, 0.5), (0.1, 0.2), seed=3), images)
    _check_uniform(b1, 0.7, 1.5)
    _check_uniform(a0, 1.1, 1.2)
    a0, _, _, _, b1, _ = _affine_rows(monkeypatch, layers.RandomZoom(0.4, seed=4), images)
    np.testing.assert_array_equal(a0, b1)  # width_factor=None keeps the aspect ratio
    _check_uniform(b1, 0.6, 1.4)


def test_random_translation_shifts_are_uniform(monkeypatch):
    _, _, a2, _, _, b2 = _affine_rows(monkeypatch, layers.RandomTranslation(0.2, (-0.5, 0.1), seed=3),
                                      _images((600, 5, 10, 1)))
    _check_uniform(-b2 / 5, -0.2, 0.2)
    _check_uniform(-a2 / 10, -0.5, 0.1)


def test_random_contrast_factors_and_range():
    n = 600
    x = _images((n, 4, 4, 2), high=100.0) + 50.0
    layer = layers.RandomContrast((0.3, 0.6), seed=5)  # contrast in [0.7, 1.6], no clipping in [0, 255]
    y = layer(x, training=True).numpy()
    centered_in = x - x.mean(axis=(1, 2), keepdims=True)
    centered_out = y - y.mean(axis=(1, 2), keepdims=True)
    ratio = (centered_out * centered_in).sum(axis=(1, 2, 3)) / (centered_in ** 2).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(centered_out, centered_in * ratio[:, None, None, None], atol=1e-3)  # one factor per image
    _check_uniform(ratio, 0.7, 1.6)
    scalar = layers.RandomContrast(0.9, value_range=(0, 1), seed=2)  # Keras 3.15.1: f draws from [1, 1 + f]
    assert scalar.factor == (0, 0.9)
    z = scalar(_images((50, 4, 4, 3)), training=True).numpy()
    assert z.min() >= 0.0 and z.max() <= 1.0


def test_random_brightness_offsets_and_range():
    n = 600
    x = np.full((n, 2, 2, 3), 120.0, "float32")
    y = layers.RandomBrightness((-0.2, 0.3), seed=5)(x, training=True).numpy()
    delta = y - x
    assert np.all(delta == delta[:, :1, :1, :1])  # one offset per image
    _check_uniform(delta[:, 0, 0, 0], -0.2 * 255, 0.3 * 255)
    bright = layers.RandomBrightness(1.0, value_range=(0, 1), seed=1)(_images((50, 3, 3, 3)), training=True).numpy()
    assert bright.min() >= 0.0 and bright.max() <= 1.0
    pixels = np.array([[[[3, 250]]]], "uint8")
    darker = layers.RandomBrightness((-0.05, -0.05))(pixels, training=True)  # -12.75: truncated to -12, no wrap
    assert darker.dtype == torch.uint8 and darker.numpy().tolist() == [[[[0, 238]]]]


def test_random_crop_offsets_are_uniform():
    height, width = 9, 8
    grid = np.arange(height * width, dtype="float32").reshape(1, height, width, 1)
    layer = layers.RandomCrop(5, 4, seed=11)
    corners = [layer(grid, training=True).numpy()[0, 0, 0, 0] for _ in range(400)]
    tops, lefts = np.divmod(np.asarray(corners, dtype=int), width)
    assert set(tops) == set(range(5)) and set(lefts) == set(range(5))  # every window position occurs
    for offsets, positions in ((tops, 5), (lefts, 5)):
        sd = np.sqrt((positions ** 2 - 1) / 12)
        assert abs(offsets.mean() - (positions - 1) / 2) < 4 * sd / np.sqrt(len(offsets))
    batch = layer(np.repeat(grid, 3, axis=0), training=True).numpy()
    assert np.all(batch == batch[:1])  # one window for the whole batch, as Keras


# =========================================================================== reproducibility
@pytest.mark.parametrize("make", [
    lambda seed: layers.RandomFlip(seed=seed), lambda seed: layers.RandomRotation(0.3, seed=seed),
    lambda seed: layers.RandomZoom(0.3, 0.2, seed=seed), lambda seed: layers.RandomTranslation(0.2, 0.2, seed=seed),
    lambda seed: layers.RandomCrop(4, 5, seed=seed), lambda seed: layers.RandomContrast(0.5, seed=seed),
    lambda seed: layers.RandomBrightness(0.5, seed=seed),
])
def test_same_seed_same_augmentations(make):
    x = _images((6, 7, 9, 3), high=255)
    a, b, c = make(5), make(5), make(6)
    runs_a = [a(x, training=True).numpy() for _ in range(3)]
    runs_b = [b(x, training=True).numpy() for _ in range(3)]
    for ya, yb in zip(runs_a, runs_b):
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(runs_a[0], runs_a[1])  # the stream advances: fresh draws each call
    assert not np.array_equal(runs_a[0], c(x, training=True).numpy())
    again = type(a).from_config(json.loads(json.dumps(a.get_config())))
    np.testing.assert_array_equal(again(x, training=True).numpy(), runs_a[0])  # from its config: the same start


def test_unseeded_layers_follow_the_global_seed():
    x = _images((6, 7, 9, 3))
    outs = []
    for _ in range(2):
        initium.random.set_random_seed(42)
        outs.append(layers.RandomRotation(0.3)(x, training=True).numpy())
    np.testing.assert_array_equal(outs[0], outs[1])
    initium.random.set_random_seed(1)
    crop = layers.RandomCrop(3, 3)
    initium.random.set_random_seed(1)
    assert layers.RandomCrop(3, 3).get_config()["seed"] == crop.get_config()["seed"] != None  # noqa: E711


# =========================================================================== shapes, formats, configs
def test_single_images_and_channels_first_by_default():
    x = _images((7, 9, 3))
    assert layers.Resizing(4, 5)(x).shape == (4, 5, 3)
    assert layers.RandomRotation(0.2)(x, training=True).shape == (7, 9, 3)
    assert layers.RandomCrop(3, 4)(x, training=True).shape == (3, 4, 3)
    previous = backend.image_data_format()
    backend.set_image_data_format("channels_first")
    try:
        layer = layers.CenterCrop(2, 4)
        assert layer.data_format == "channels_first" and layer.get_config()["data_format"] == "channels_first"
        assert layer(_images((2, 3, 6, 8))).shape == (2, 3, 2, 4)
        assert layers.RandomZoom(0.2).compute_output_shape((None, 3, 6, 8)) == (None, 3, 6, 8)
    finally:
        backend.set_image_data_format(previous)


def test_configs_equal_keras():
    keras = _keras()
    cases = [("RandomContrast", (0.5,), {}), ("RandomBrightness", ((-0.2, 0.3),), {"value_range": (1, 0)}),
             ("RandomRotation", (0.2,), {"seed": 4}), ("RandomZoom", (0.2,), {}), ("RandomFlip", (), {"mode": "vertical"}),
             ("RandomTranslation", (0.1, (0.2, -0.3)), {}), ("RandomCrop", (3, 4), {"seed": 9}),
             ("Resizing", (3, 4), {}), ("CenterCrop", (3, 4), {"data_format": "channels_first"})]
    for name, args, kwargs in cases:
        ours = getattr(layers, name)(*args, name="x", **kwargs).get_config()
        theirs = getattr(keras.layers, name)(*args, name="x", **kwargs).get_config()
        assert ours == theirs, name
    assert layers.RandomContrast(0.5).get_config()["factor"] == (0, 0.5)  # Keras's quirk, kept for configs


def test_augmentation_and_normalization_model_trains_and_saves_both_ways(tmp_path):
    keras = _keras()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (64, 8, 8, 3)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) / 255.0)[:, None]  # invariant under flips and small rotations
    initium.random.set_random_seed(0)
    norm = layers.Normalization()
    norm.adapt(x)
    model = initium.Sequential([initium.Input((8, 8, 3)), layers.RandomFlip(seed=1), layers.RandomRotation(0.05, seed=2),
                                layers.RandomContrast(0.1, seed=3), norm, layers.Flatten(), layers.Dense(1)])
    model.compile(optimizer=initium.optimizers.Adam(0.01), loss="mse")
    losses = model.fit(x, y, epochs=8, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    expected = model.predict(x, verbose=0)

    model.save(str(tmp_path / "ours.keras"))
    theirs = keras.saving.load_model(tmp_path / "ours.keras")
    np.testing.assert_allclose(theirs.predict(x, verbose=0), expected, atol=1e-5)
    for a, b in zip(theirs.layers[3].get_weights(), norm.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [type(la).__name__ for la in theirs.layers][:4] == ["RandomFlip", "RandomRotation", "RandomContrast",
                                                               "Normalization"]
    assert theirs.layers[1].get_config()["seed"] == 2 and theirs.layers[1].factor == (-0.05, 0.05)

    theirs.save(tmp_path / "theirs.keras")
    back = initium.saving.load_model(str(tmp_path / "theirs.keras"))
    np.testing.assert_allclose(back.predict(x, verbose=0), expected, atol=1e-5)
    for a, b in zip(back.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert back.layers[0].seed == 1 and back.layers[2].factor == (0, 0.1)


def test_keras_built_augmentation_model_loads(tmp_path):
    """A model Keras built and adapted (its own Normalization statistics) loads and predicts as in Keras."""
    keras = _keras()
    x = _images((10, 6, 6, 2), high=255)
    norm = keras.layers.Normalization()
    norm.adapt(x)
    theirs = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.RandomZoom(0.2, seed=1), keras.layers.Resizing(4, 4),
                               keras.layers.CenterCrop(3, 3), norm, keras.layers.Flatten(), keras.layers.Dense(2)])
    theirs.save(tmp_path / "k.keras")
    ours = initium.saving.load_model(str(tmp_path / "k.keras"))
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=1e-4)


# =========================================================================== errors
def test_errors_name_the_layer_argument_and_value():
    cases = [
        (lambda: layers.RandomRotation(1.5, name="r"), ValueError,
         r"RandomRotation 'r': the `factor` argument should be a number \(or a list of two numbers\) in the range "
         r"\[-1, 1\]\. Received: factor=1\.5"),
        (lambda: layers.RandomRotation("a"), ValueError, r"Received: factor='a'"),
        (lambda: layers.RandomRotation((0.1, 0.2, 0.3)), ValueError, r"Received: factor=\(0\.1, 0\.2, 0\.3\)"),
        (lambda: layers.RandomRotation(0.1, fill_mode="mirror"), NotImplementedError,
         r"unknown `fill_mode` 'mirror'\. Expected one of \('reflect', 'wrap', 'constant', 'nearest'\)"),
        (lambda: layers.RandomZoom(0.1, interpolation="bicubic"), NotImplementedError, r"unknown `interpolation`"),
        (lambda: layers.RandomZoom(-1.0), ValueError, r"`height_factor` argument .* in the range \(-1\.0, 1\.0\]\. "
                                                       r"Received: height_factor=-1\.0"),
        (lambda: layers.RandomZoom(0.1, width_factor=(0.2, 2.0)), ValueError, r"Received: width_factor=\(0\.2, 2\.0\)"),
        (lambda: layers.RandomTranslation(0.1, -1.5), ValueError, r"in the range \[-1\.0, 1\.0\]"),
        (lambda: layers.RandomContrast(-0.2), ValueError, r"in the range \[0, 1\]\. Received: factor=-0\.2"),
        (lambda: layers.RandomContrast(0.2, value_range=(1, 0)), ValueError, r"low <= high"),
        (lambda: layers.RandomBrightness(0.2, value_range=5), ValueError,
         r"`value_range` argument should be a list of two numbers.*Received: value_range=5"),
        (lambda: layers.RandomFlip("diagonal", name="f"), ValueError,
         r"RandomFlip 'f': unknown `mode` 'diagonal'\. Expected one of \('horizontal', 'vertical', "
         r"'horizontal_and_vertical'\)"),
        (lambda: layers.RandomFlip(seed=1.5), ValueError, r"`seed` must be an integer or None\. Received: seed=1\.5"),
        (lambda: layers.RandomFlip(data_format="NHWC"), ValueError, r"`data_format` argument must be one of"),
        (lambda: layers.Resizing(0, 4), ValueError, r"Resizing '.*': `height` must be a positive integer \(pixels\)\. "
                                                    r"Received: height=0"),
        (lambda: layers.Resizing(4, 4, interpolation="lanczos3"), ValueError, r"Lanczos interpolation is not supported"),
        (lambda: layers.Resizing(4, 4, interpolation="cubic"), ValueError, r"unknown `interpolation` 'cubic'"),
        (lambda: layers.Resizing(4, 4, fill_mode="reflect"), ValueError, r"unknown `fill_mode` 'reflect'"),
        (lambda: layers.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), ValueError,
         r"only one of `pad_to_aspect_ratio` and `crop_to_aspect_ratio` can be True"),
        (lambda: layers.CenterCrop(2, 2.5), ValueError, r"`width` must be a positive integer"),
        (lambda: layers.RandomFlip(name="g")(np.ones((2, 3), "float32")), ValueError,
         r"RandomFlip 'g' expects images of rank 3 \(one image\) or 4 \(a batch of images\), in channels_last\. "
         r"Received: inputs\.shape=\(2, 3\)"),
        (lambda: layers.Resizing(2, 2)(initium.Input((4, 4, 4, 3))), ValueError, r"expects images of rank 3"),
    ]
    for make, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            make()
