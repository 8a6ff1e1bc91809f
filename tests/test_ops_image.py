"""``initium.ops.image`` against real Keras 3 (torch backend), op by op (tests/ops_harness.py).

Tolerances: float32 parity is 1e-6 everywhere (resizing, blurring, the sampling transforms and SSIM
agree with Keras to the last bit or two; measured worst: 3e-7); only float16 cases are looser
(1e-3). Where initium deliberately differs from Keras's torch backend, the tests after the table
check it against a reference and say what Keras does.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch

from ops_api_checks import check_graph_node, parameters
from ops_harness import KERAS, Case, Sym, arr, params, positive, run_case, run_symbolic

import initium
from initium import ops as iops

kops = KERAS.ops
NAMES = [n for n in dir(kops.image) if not n.startswith("_")]

IMG = positive((2, 6, 7, 3)) / 3  # RGB-ish values in [0, 1]
IMG_CF = np.ascontiguousarray(IMG.transpose(0, 3, 1, 2))
U8 = arr((2, 6, 7, 3), "uint8", 0, 255)

TABLE: dict[str, list[Case]] = {
    "image.rgb_to_grayscale": [
        Case((IMG,)), Case((IMG[0],)), Case((IMG_CF,), {"data_format": "channels_first"}), Case((U8,)),
        Case((arr((2, 4, 4, 1)),)), Case((arr((0, 4, 4, 3)),)), Case((arr((3, 4, 4, 2)),), raises=True),
        Case((arr((4, 3)),), raises=True)],
    "image.rgb_to_hsv": [
        Case((IMG,)), Case((IMG[0],)), Case((IMG_CF,), {"data_format": "channels_first"}),
        Case((np.array([[[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0.2]]], "float32"),),
             note="gray, primaries, ties"),
        Case((IMG.astype("float64"),)), Case((U8,), raises=True), Case((arr((4, 3)),), raises=True)],
    "image.hsv_to_rgb": [
        Case((IMG,)), Case((IMG_CF[0],), {"data_format": "channels_first"}), Case((arr((2, 3, 3), "float32", -1, 2),)),
        Case((IMG.astype("float64"),)), Case((U8,), raises=True)],
    "image.resize": [
        Case((IMG, (4, 5))),
        Case((IMG, (9, 11)), {"interpolation": "bicubic"}),
        Case((IMG, (3, 4)), {"interpolation": "bicubic", "antialias": True}),
        Case((IMG, (3, 3)), {"antialias": True}),
        Case((IMG, (4, 9)), {"interpolation": "nearest", "antialias": True}),
        Case((IMG[0], (4, 4)), {"crop_to_aspect_ratio": True}),
        Case((IMG, (8, 4)), {"crop_to_aspect_ratio": True}),
        Case((IMG, (4, 4)), {"pad_to_aspect_ratio": True, "fill_value": 0.5}),
        Case((IMG, (8, 3)), {"pad_to_aspect_ratio": True}),
        Case((IMG_CF, (4, 5)), {"data_format": "channels_first"}),
        Case((U8, (4, 5)), {"interpolation": "bicubic"}, note="uint8: clamped, rounded"),
        Case((arr((0, 6, 7, 3)), (4, 5)), note="empty batch"),
        Case((arr((2, 6, 7, 3), "int32", -50, 50), (5, 3))), Case((IMG.astype("float64"), (4, 5))),
        Case((IMG.astype("float16"), (4, 5)), rtol=1e-3, atol=1e-3, note="float16 computed in float32"),
        Case((IMG, (4, 5)), {"interpolation": "lanczos3"}, raises=True),
        Case((IMG, (4, 5)), {"interpolation": "area"}, raises=True),
        Case((IMG, (4, 5)), {"fill_mode": "reflect"}, raises=True),
        Case((IMG, (4, 5)), {"crop_to_aspect_ratio": True, "pad_to_aspect_ratio": True}, raises=True),
        Case((IMG, (4, 5, 1)), raises=True), Case((IMG, (0, 5)), raises=True),
        Case((arr((6, 7)), (4, 5)), raises=True)],
}

AFFINE = np.array([[1.1, 0.2, -0.7, -0.15, 0.9, 0.6, 0.0, 0.0], [0.8, -0.1, 1.3, 0.25, 1.2, -0.4, 0.0, 0.0]], "float32")
TABLE.update({
    "image.affine_transform": [
        Case((IMG, AFFINE)),
        Case((IMG, AFFINE), {"interpolation": "nearest"}),
        Case((IMG[:1], AFFINE[0]), {"fill_mode": "nearest"}),
        Case((IMG, AFFINE), {"fill_mode": "wrap"}),
        Case((IMG, AFFINE), {"fill_mode": "mirror"}),
        Case((IMG, AFFINE), {"fill_mode": "reflect"}),
        Case((IMG, AFFINE), {"fill_value": 0.5}),
        Case((IMG_CF, AFFINE), {"data_format": "channels_first"}),
        Case((IMG[0], AFFINE[0])),
        Case((U8, AFFINE), {"interpolation": "nearest", "fill_value": 7}),
        Case((IMG[:1], np.array([1.0, 0.1, 0.0, 0.0, 1.0, 0.0, 0.01, 0.02], "float32")),
             note="c0, c1 as Keras reads them"),
        Case((IMG, AFFINE), {"interpolation": "bicubic"}, raises=True),
        Case((IMG, AFFINE), {"fill_mode": "edge"}, raises=True),
        Case((IMG, AFFINE[None]), raises=True)],
    "image.map_coordinates": [
        Case((arr((5, 6)), arr((2, 3, 4), "float32", -1, 7), 1)),
        Case((arr((5, 6)), arr((2, 3, 4), "float32", -1, 7), 0), {"fill_value": 2.0}),
        Case((arr((5, 6)), arr((2, 7), "float32", -4, 9), 1), {"fill_mode": "nearest"}),
        Case((arr((5, 6)), arr((2, 7), "float32", -4, 9), 1), {"fill_mode": "wrap"}),
        Case((arr((5, 6)), arr((2, 7), "float32", -4, 9), 1), {"fill_mode": "mirror"}),
        Case((arr((5, 6)), arr((2, 7), "float32", -4, 9), 1), {"fill_mode": "reflect"}),
        Case((arr((3, 4, 5)), arr((3, 6), "float32", -1, 5), 1)),
        Case((arr((5, 6), "int32", 0, 100), arr((2, 8), "float32", -1, 6), 1), {"fill_value": 3.7}),
        Case((arr((5, 6)), arr((2, 8), "int32", -1, 6), 1), note="integer coordinates: exact reads"),
        Case((arr((5, 6)), [arr((3,), "float32", 0, 4), arr((3,), "float32", 0, 5)], 1), note="a list of arrays"),
        Case((arr((5, 6)), arr((2, 4), "float64", 0, 4), 1)),
        Case((arr((5, 6)), arr((3, 4)), 1), raises=True), Case((arr((5, 6)), arr((2,)), 1), raises=True),
        Case((arr((5, 6)), arr((2, 4)), 3), raises=True, note="NotImplementedError, as Keras"),
        Case((arr((5, 6)), arr((2, 4)), 1), {"fill_mode": "edge"}, raises=True)],
})

START = np.array([[0, 0], [6, 0], [0, 5], [6, 5]], "float32")
END = np.array([[0.5, 0.2], [5.5, 0.8], [0.3, 4.6], [6.2, 5.1]], "float32")
TABLE.update({
    "image.perspective_transform": [
        Case((IMG, START, END)),
        Case((IMG, np.stack([START, END]), np.stack([END, START])), {"interpolation": "nearest"}),
        Case((IMG_CF[0], START, END), {"data_format": "channels_first", "fill_value": 0.3}),
        Case((IMG, START, END[:3]), raises=True), Case((IMG, START, np.stack([END, END])), raises=True),
        Case((IMG, START, END), {"interpolation": "bicubic"}, raises=True)],
    "image.gaussian_blur": [
        Case((IMG,), {"data_format": "channels_last"}),
        Case((IMG,), {"kernel_size": (5, 5), "sigma": (1.5, 0.7), "data_format": "channels_last"}),
        Case((IMG_CF,), {"kernel_size": (3, 3), "sigma": (0.5, 2.0), "data_format": "channels_first"}),
        Case((IMG[0],), {"data_format": "channels_last"}),
        Case((IMG.astype("float64"),), {"data_format": "channels_last"}, rtol=1e-9, atol=1e-9),
        Case((arr((4, 3)),), raises=True)],
    "image.elastic_transform": [
        Case((IMG,), {"alpha": 0.0}, note="no displacement: the images come back (the noise itself is checked below)"),
        Case((IMG_CF,), {"alpha": 0.0, "sigma": 1.0, "data_format": "channels_first", "interpolation": "nearest"}),
        Case((IMG,), {"interpolation": "bicubic"}, raises=True), Case((IMG,), {"fill_mode": "edge"}, raises=True),
        Case((arr((4, 3)),), raises=True)],
    "image.sobel_edges": [
        Case((IMG,)), Case((IMG_CF,), {"data_format": "channels_first"}), Case((arr((1, 5, 5, 1), "int32"),)),
        Case((IMG.astype("float64"),))],
    "image.pad_images": [
        Case((IMG, 1, 2, 0, 3)),
        Case((IMG[0],), {"top_padding": 2, "bottom_padding": 1, "left_padding": 1, "target_width": 9}),
        Case((IMG_CF,), {"target_height": 8, "bottom_padding": 0, "left_padding": 0, "right_padding": 1,
                         "data_format": "channels_first"}),
        Case((U8, 0, 0, 0, 0)), Case((IMG, 1, 1, 1, 1, 9), raises=True), Case((IMG, -1, 1, 1, 1), raises=True),
        Case((IMG,), {"target_height": 3, "top_padding": 1, "left_padding": 0, "right_padding": 0}, raises=True),
        Case((arr((4, 3)), 1, 1, 1, 1), raises=True)],
    "image.crop_images": [
        Case((IMG, 1, 2, 0, 3)),
        Case((IMG[0],), {"top_cropping": 2, "bottom_cropping": 1, "right_cropping": 1, "target_width": 4}),
        Case((IMG_CF,), {"target_height": 4, "bottom_cropping": 0, "left_cropping": 0, "right_cropping": 1,
                         "data_format": "channels_first"}),
        Case((U8, 0, 0, 0, 0)), Case((IMG, 1, 1, 1, 1, 3), raises=True), Case((IMG, -1, 1, 1, 1), raises=True),
        Case((IMG,), {"target_height": 9, "bottom_cropping": 0, "left_cropping": 0, "right_cropping": 0}, raises=True)],
    "image.extract_patches": [
        Case((IMG, 2)), Case((IMG, (2, 3)), {"strides": (1, 2)}), Case((IMG[0], 3), {"padding": "same", "strides": 2}),
        Case((IMG_CF, (2, 2)), {"data_format": "channels_first", "strides": 1, "dilation_rate": 2}),
        Case((IMG, (3, 2)), {"dilation_rate": (2, 1), "strides": 1, "padding": "same"}),
        Case((arr((1, 4, 5, 6, 2)), (2, 2, 3))), Case((arr((2, 4, 4, 2), "int32"), 2)), Case((arr((0, 4, 4, 2)), 2)),
        Case((IMG, 2.5), raises=True), Case((IMG, (2, 2, 2, 2)), raises=True)],
    "image.extract_patches_3d": [
        Case((arr((1, 4, 5, 6, 2)), 2)), Case((arr((4, 5, 6, 2)), (2, 3, 2)), {"strides": 1}),
        Case((arr((1, 2, 4, 5, 6)), (2, 2, 3)), {"strides": (1, 2, 1), "padding": "same",
                                                 "data_format": "channels_first"}),
        Case((arr((1, 5, 5, 5, 1)), 2), {"dilation_rate": 2, "strides": 1}),
        Case((arr((1, 4, 5, 6, 2)), 2), {"strides": (1, 1)}, raises=True)],
})

SCALE, SHIFT = np.array([1.5, 0.6], "float32"), np.array([0.3, -0.4], "float32")
TABLE.update({
    "image.scale_and_translate": [
        Case((IMG, (2, 9, 4, 3), SCALE, SHIFT, (1, 2), "linear")),
        Case((IMG, (2, 9, 4, 3), SCALE, SHIFT, (1, 2), "bicubic"), {"antialias": False}),
        Case((IMG, (2, 9, 4, 3), SCALE, SHIFT, (1, 2), "lanczos3")),
        Case((IMG, (2, 9, 4, 3), SCALE, SHIFT, (-3, -2), "lanczos5")),
        Case((IMG, (2, 6, 7, 3), SCALE, SHIFT, (), "linear")),
        Case((U8, (2, 9, 4, 3), SCALE, SHIFT, (1, 2), "cubic"), note="integers: rounded, clipped to their range"),
        Case((IMG, (2, 9, 4, 3), SCALE, SHIFT, (1, 2), "area"), raises=True)],
    "image.ssim": [
        Case((positive((2, 16, 16, 3)) / 3, positive((2, 16, 16, 3)) / 3)),
        Case((positive((16, 16, 1)), positive((16, 16, 1))), {"max_val": 3.0, "filter_size": 5, "filter_sigma": 1.0}),
        Case((positive((1, 2, 12, 12)), positive((1, 2, 12, 12))), {"data_format": "channels_first", "k1": 0.02,
                                                                    "k2": 0.05, "filter_size": 7}),
        Case((U8[:, :, :6], U8[:, :, 1:]), {"max_val": 255.0, "filter_size": 3}, note="uint8: result truncated"),
        Case((arr((12, 12)), arr((12, 12))), raises=True)],
})


@pytest.mark.parametrize("name,case", params(TABLE))
def test_matches_keras(name: str, case: Case) -> None:
    run_case(name, case)


def test_every_op_has_cases() -> None:
    covered = {name.split(".")[-1] for name in TABLE}
    assert set(NAMES) <= covered, f"no parity cases for {sorted(set(NAMES) - covered)}"


# --------------------------------------------------------------------------- symbolic specs
SYMBOLIC = [
    ("image.rgb_to_grayscale", (Sym((None, 8, None, 3)),), {}),
    ("image.rgb_to_hsv", (Sym((None, 8, 8, 3)),), {}),
    ("image.hsv_to_rgb", (Sym((3, None, 8)),), {"data_format": "channels_first"}),
    ("image.resize", (Sym((None, None, None, 3)), (5, 4)), {}),
    ("image.resize", (Sym((None, 3, 8, 8)), (5, 4)), {"data_format": "channels_first", "crop_to_aspect_ratio": True}),
    ("image.affine_transform", (Sym((None, 8, 9, 3)), Sym((None, 8))), {}),
    ("image.map_coordinates", (Sym((5, 6)), Sym((2, None, 4)), 1), {}),
    ("image.perspective_transform", (Sym((None, 8, 9, 3)), Sym((None, 4, 2)), Sym((None, 4, 2))), {}),
    ("image.gaussian_blur", (Sym((None, 8, 9, 3)),), {"data_format": "channels_last"}),
    ("image.elastic_transform", (Sym((None, 8, 9, 3)),), {}),
    ("image.sobel_edges", (Sym((None, 8, 9, 3)),), {}),
    ("image.pad_images", (Sym((None, None, 9, 3)), 1, 2, None, 3), {"target_height": 12}),
    ("image.pad_images", (Sym((None, 8, None, 3)), 1, 2, 3, None), {"target_width": 12}),
    ("image.crop_images", (Sym((None, None, 9, 3)), 1, 2, None, 3), {"target_height": 4}),
    ("image.crop_images", (Sym((None, 3, 8, 9)), 1, 2, 1, 3), {"data_format": "channels_first"}),
    ("image.extract_patches", (Sym((None, 8, 9, 3)), (2, 3)), {"strides": 1, "padding": "same"}),
    ("image.extract_patches_3d", (Sym((None, 4, 6, 8, 2)), 2), {}),
    ("image.scale_and_translate", (Sym((2, 6, 7, 3)), (2, 9, 4, 3), Sym((2,)), Sym((2,)), (1, 2), "linear"), {}),
    ("image.ssim", (Sym((None, 16, 16, 3)), Sym((None, 16, 16, 3))), {}),
]


@pytest.mark.parametrize("name,args,kwargs", SYMBOLIC, ids=[f"{s[0]}-{i}" for i, s in enumerate(SYMBOLIC)])
def test_symbolic_matches_keras(name: str, args: tuple, kwargs: dict) -> None:
    run_symbolic(name, *args, **kwargs)


def test_every_op_has_a_symbolic_case() -> None:
    covered = {name.split(".")[-1] for name, _, _ in SYMBOLIC}
    assert set(NAMES) <= covered, f"no symbolic case for {sorted(set(NAMES) - covered)}"


# --------------------------------------------------------------------------- signatures and namespace
@pytest.mark.parametrize("name", NAMES)
def test_signature_matches_keras(name: str) -> None:
    assert parameters(getattr(iops.image, name)) == parameters(getattr(kops.image, name))


def test_namespace() -> None:
    assert sorted(iops.image.__all__) == sorted(NAMES)
    assert all(callable(getattr(iops.image, name)) for name in NAMES)


# --------------------------------------------------------------------------- graph nodes
@pytest.mark.parametrize("name", NAMES)
def test_graph_node_is_kerass_class(name: str) -> None:
    """Each op's graph node has Keras's class name and constructor arguments (extract_patches_3d
    builds ``ExtractPatches``, as in Keras)."""
    check_graph_node("image", getattr(iops.image, name))


def test_extract_patches_3d_node() -> None:
    out = iops.image.extract_patches_3d(initium.KerasTensor((None, 4, 4, 4, 2)), 2)
    assert type(out._keras_history[0]).__name__ == "ExtractPatches"
    assert out.shape == (None, 2, 2, 2, 16)


# --------------------------------------------------------------------------- deliberate differences
# Where Keras's torch backend is wrong, initium does the documented thing; each test says what
# Keras does instead.

def _gaussian_reference(x: np.ndarray, size: tuple, sigma: tuple) -> np.ndarray:
    """NHWC images blurred by a separable Gaussian, zero padding that keeps the size (more on the
    bottom/right for even kernels); ``size[0]``/``sigma[0]`` along the width."""
    def kernel(n: int, s: float) -> np.ndarray:
        t = np.arange(n) - (n - 1) / 2
        k = np.exp(-0.5 * (t / s) ** 2)
        return k / k.sum()

    ky, kx = kernel(size[1], sigma[1]), kernel(size[0], sigma[0])
    pad = ((0, 0), ((size[1] - 1) // 2, size[1] // 2), ((size[0] - 1) // 2, size[0] // 2), (0, 0))
    xp = np.pad(x.astype("float64"), pad)
    h, w = x.shape[1:3]
    out = np.zeros(x.shape)
    for i in range(size[1]):
        for j in range(size[0]):
            out += ky[i] * kx[j] * xp[:, i:i + h, j:j + w]
    return out


@pytest.mark.parametrize("size,sigma", [((3, 3), (1.0, 2.0)), ((5, 3), (1.2, 0.8)), ((4, 4), (1.0, 1.0)),
                                        ((2, 5), (0.7, 1.5))])
def test_gaussian_blur_reference(size: tuple, sigma: tuple) -> None:
    """Keras's torch backend reshapes non-square kernels wrongly and grows the image for even ones;
    initium keeps the size and the orientation of Keras's square kernels (index 0: width)."""
    got = iops.image.gaussian_blur(IMG, size, sigma, data_format="channels_last")
    np.testing.assert_allclose(got.numpy(), _gaussian_reference(IMG, size, sigma), rtol=1e-5, atol=1e-6)


def test_gaussian_blur_default_format() -> None:
    """Keras's eager gaussian_blur reads ``data_format=None`` as channels_first; initium as
    ``image_data_format()``, like every other op."""
    default = iops.image.gaussian_blur(IMG)
    np.testing.assert_array_equal(default.numpy(), iops.image.gaussian_blur(IMG, data_format="channels_last").numpy())
    initium.backend.set_image_data_format("channels_first")
    try:
        cf = iops.image.gaussian_blur(IMG_CF)
    finally:
        initium.backend.set_image_data_format("channels_last")
    np.testing.assert_allclose(cf.numpy().transpose(0, 2, 3, 1), default.numpy(), rtol=1e-6, atol=1e-7)


def test_affine_transform_broadcasts_and_keeps_its_argument() -> None:
    """One transform applies to every image of a batch (Keras's torch backend: RuntimeError), and
    the transform tensor passed in is not modified (Keras swaps its entries in place)."""
    transform = torch.tensor(AFFINE[0])
    before = transform.clone()
    both = iops.image.affine_transform(IMG, transform)
    torch.testing.assert_close(transform, before)
    for i in range(2):
        torch.testing.assert_close(both[i], iops.image.affine_transform(IMG[i], transform))


def test_refusals_keras_misses() -> None:
    """Keras's crop_images returns a smaller image when the crop runs past the edge; rgb_to_hsv and
    sobel_edges fail inside torch (RuntimeError) on wrong channel counts and ranks. initium raises
    ValueError naming the argument."""
    with pytest.raises(ValueError, match="bottom_cropping"):
        iops.image.crop_images(arr((5, 5, 1)), top_cropping=1, target_height=10, left_cropping=0, right_cropping=0)
    with pytest.raises(ValueError, match="3 channels"):
        iops.image.rgb_to_hsv(arr((4, 4, 2)))
    with pytest.raises(ValueError, match="rank 4"):
        iops.image.sobel_edges(arr((4, 4, 2)))
    with pytest.raises(ValueError, match="float"):
        iops.image.elastic_transform(arr((4, 4, 1), "int32"))


def test_extract_patches_exact_for_any_values() -> None:
    """Patches are copied, not computed by a convolution with an identity kernel as in Keras, so
    infinities and NaNs stay where they were (Keras: 0 * inf = NaN spreads) and booleans work."""
    x = arr((1, 4, 4, 2))
    x[0, 1, 1, 0], x[0, 2, 3, 1] = np.inf, np.nan
    got = iops.image.extract_patches(x, 2).numpy()
    expected = x.reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 3, 2, 4, 5).reshape(1, 2, 2, 8)
    np.testing.assert_array_equal(got, expected)
    flags = arr((1, 4, 4, 1), "bool")
    assert iops.image.extract_patches(flags, 2).dtype == torch.bool


# --------------------------------------------------------------------------- elastic transform noise
def test_elastic_transform_seeds() -> None:
    """An int seed gives the same field every call, another seed another field; a SeedGenerator
    gives a reproducible sequence. (Keras's torch backend ignores ``seed`` eagerly and draws from
    torch's global generator.)"""
    first = iops.image.elastic_transform(IMG, seed=3)
    torch.testing.assert_close(first, iops.image.elastic_transform(IMG, seed=3))
    assert not torch.equal(first, iops.image.elastic_transform(IMG, seed=4))
    a, b = initium.random.SeedGenerator(7), initium.random.SeedGenerator(7)
    one, two = iops.image.elastic_transform(IMG, seed=a), iops.image.elastic_transform(IMG, seed=a)
    assert not torch.equal(one, two)
    torch.testing.assert_close(one, iops.image.elastic_transform(IMG, seed=b))


@pytest.mark.parametrize("fill_mode,interpolation", [("reflect", "bilinear"), ("constant", "nearest")])
def test_elastic_transform_pipeline(fill_mode: str, interpolation: str) -> None:
    """With the noise initium draws for a seed, the result is Keras's pipeline: noise * sigma,
    Gaussian blur (kernel int(6 sigma) | 1), times alpha, then map_coordinates per image and channel."""
    alpha, sigma, seed = 3.0, 1.0, 11
    got = iops.image.elastic_transform(IMG, alpha=alpha, sigma=sigma, fill_mode=fill_mode,
                                       interpolation=interpolation, seed=seed)
    n, h, w, c = IMG.shape
    noise = initium.random.normal((2, n, h, w), seed=seed).numpy() * np.float32(sigma)
    size = int(6 * sigma) | 1
    blurred = [kops.image.gaussian_blur(f[..., None], (size, size), (sigma, sigma),
                                        data_format="channels_last")[..., 0].numpy() * np.float32(alpha)
               for f in noise]
    dx, dy = blurred
    rows = np.arange(h)[None, :, None] + dy
    cols = np.arange(w)[None, None, :] + dx
    order = 0 if interpolation == "nearest" else 1
    expected = np.stack([np.stack([kops.image.map_coordinates(IMG[b, ..., k], np.stack([rows[b], cols[b]]), order,
                                                              fill_mode=fill_mode).numpy()
                                   for k in range(c)], -1) for b in range(n)])
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-5)
