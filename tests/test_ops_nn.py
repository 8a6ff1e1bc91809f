"""``initium.ops.nn`` against real Keras 3 (torch backend), op by op (tests/ops_harness.py).

Tolerances: float32 parity is 1e-6 (relative and absolute) everywhere: initium calls the same torch
kernels on the same layouts, so convolutions, attention and CTC agree to the last bit or two
(measured worst: 3e-7). Only float16 cases are looser (1e-3, the format's resolution). Where
initium deliberately differs from Keras's torch backend, the tests after the table check it
against a reference and say what Keras does.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from ops_api_checks import check_graph_node, parameters
from ops_harness import KERAS, Case, Sym, arr, params, per_lib, positive, run_case, run_symbolic

import initium
from initium import ops as iops

kops = KERAS.ops

NAMES = [n for n in dir(kops.nn) if not n.startswith("_")]


def tensor(a: np.ndarray) -> object:
    """``a`` handed to both libraries as a torch tensor (for ops Keras does not convert)."""
    return per_lib(lambda lib: torch.from_numpy(a.copy()))


# --------------------------------------------------------------------------- element-wise activations
# Which integer and boolean inputs Keras's torch backend accepts (the torch kernels decide; the rest
# raise NotImplementedError or RuntimeError, and initium must raise the same type).
_ACTIVATIONS = ["relu", "relu6", "sigmoid", "sparse_sigmoid", "softplus", "softsign", "soft_shrink", "sparse_plus",
                "silu", "swish", "squareplus", "log_sigmoid", "leaky_relu", "hard_sigmoid", "hard_silu", "hard_swish",
                "elu", "selu", "gelu", "celu", "tanh_shrink", "hard_tanh", "hard_shrink"]
_INT_OK = {"relu", "relu6", "sigmoid", "sparse_sigmoid", "softsign", "sparse_plus", "squareplus", "tanh_shrink",
           "hard_tanh"}
_BOOL_OK = {"sigmoid", "sparse_sigmoid", "sparse_plus", "squareplus"}
_KWARGS = {"soft_shrink": {"threshold": 1.0}, "squareplus": {"b": 2}, "leaky_relu": {"negative_slope": 0.5},
           "elu": {"alpha": 0.5}, "celu": {"alpha": 2.0}, "gelu": {"approximate": False},
           "hard_shrink": {"threshold": 1.0}}

# Values that hit every branch of the piecewise activations (-1, 1, +-3, 6, the thresholds).
EDGES = np.array([-7.0, -3.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 3.0, 6.0, 7.0], dtype="float32")


def _activation_cases(name: str) -> list[Case]:
    cases = [Case((arr((2, 3)),)), Case((EDGES,)), Case((arr(()),), note="0-d"), Case((arr((0, 3)),), note="empty"),
             Case((arr((3, 2), "float64"),)),
             Case((arr((2, 4), "int32"),), raises=name not in _INT_OK),
             Case((arr((2, 4), "bool"),), raises=name not in _BOOL_OK)]
    if name in _KWARGS:
        cases.append(Case((EDGES,), _KWARGS[name]))
    return cases


TABLE: dict[str, list[Case]] = {f"nn.{name}": _activation_cases(name) for name in _ACTIVATIONS}
TABLE["relu"] = [Case((arr((2, 3)),), note="flat name")]

TABLE.update({
    "nn.threshold": [Case((EDGES, 0.5, -2.0)), Case((arr((2, 3), "int32"), 0, 7)),
                     Case((arr((3,), "float64"), 1.0, 0.0)),
                     Case((arr((3,), "bool"), 0, 1), raises=True)],
    "nn.glu": [Case((arr((2, 4)),)), Case((arr((4, 3)),), {"axis": 0}), Case((arr((2, 3)),), raises=True),
               Case((arr((2, 4), "int32"),), raises=True)],
    "nn.softmax": [Case((arr((2, 3)),)), Case((arr((2, 3)),), {"axis": 0}), Case((arr((2, 3, 4)),), {"axis": (0, 2)}),
                   Case((arr((2, 3, 4)),), {"axis": (2, 1)}), Case((arr((2, 3)),), {"axis": None}),
                   Case((arr((3,), "float64"),)), Case((arr((2, 3), "float16"),), rtol=1e-3, atol=1e-3,
                                                     note="float16 (computed in float32, as Keras on CPU)"),
                   Case((arr((0, 3)),)), Case((arr((2, 3), "int32"),), raises=True)],
    "softmax": [Case((arr((2, 3)),), {"axis": 1})],
    "nn.log_softmax": [Case((arr((2, 3)),)), Case((arr((2, 3)),), {"axis": 0}),
                       Case((arr((2, 3, 4)),), {"axis": (0, 2)}), Case((arr((2, 3)),), {"axis": None}),
                       Case((arr((2, 3), "int32"),), raises=True)],
    "nn.sparsemax": [Case((arr((2, 5)),)), Case((arr((4, 3)),), {"axis": 0}), Case((arr((3, 4), "float64"),)),
                     Case((arr((2, 5), "int32"),)), Case((arr((2, 3), "bool"),), raises=True)],
})

# --------------------------------------------------------------------------- pooling
TABLE.update({
    "nn.max_pool": [
        Case((arr((2, 6, 3)), 2)), Case((arr((2, 7, 3)), 3), {"strides": 2, "padding": "same"}),
        Case((arr((1, 5, 6, 2)), (2, 3)), {"strides": (1, 2)}),
        Case((arr((1, 5, 5, 2)), 2), {"padding": "same", "strides": 1}),
        Case((arr((1, 2, 5, 6)), 2), {"data_format": "channels_first", "padding": "same"}),
        Case((arr((1, 4, 4, 4, 2)), 2)), Case((arr((1, 2, 5, 5, 5)), 3), {"strides": 2, "padding": "SAME",
                                                                         "data_format": "channels_first"}),
        Case((arr((1, 5, 5, 2), "int32"), 2)), Case((arr((1, 4, 4, 2), "bool"), 2), raises=True),
        Case((arr((5, 2)), 2), raises=True)],
    "max_pool": [Case((arr((1, 4, 4, 1)), 2)), Case((arr((0, 4, 4, 1)), 2), note="empty batch")],
    "nn.average_pool": [
        Case((arr((2, 6, 3)), 2)), Case((arr((2, 7, 3)), 3), {"strides": 2, "padding": "same"}),
        Case((arr((1, 5, 6, 2)), (2, 3)), {"strides": (1, 2)}),
        Case((arr((1, 6, 6, 2)), 4), {"padding": "same", "strides": 1},
             note="asymmetric 'same' padding repeats edge values (Keras's torch backend)"),
        Case((arr((1, 5, 5, 2)), 3), {"padding": "same", "strides": 1}, note="symmetric padding: excluded from means"),
        Case((arr((1, 2, 5, 6)), 2), {"data_format": "channels_first", "padding": "same"}),
        Case((arr((1, 4, 4, 4, 2)), 2)), Case((arr((1, 4, 4, 2), "int32"), 2), raises=True)],
    "nn.adaptive_max_pool": [
        Case((arr((2, 7, 3)), 3)), Case((arr((1, 7, 5, 2)), (3, 2))),
        Case((arr((1, 2, 7, 5)), 2), {"data_format": "channels_first"}),
        Case((arr((1, 4, 5, 6, 2)), (2, 3, 2))), Case((arr((1, 4, 4, 2), "int32"), 2), raises=True)],
    "nn.adaptive_average_pool": [
        Case((arr((2, 7, 3)), 3)), Case((arr((1, 7, 5, 2)), (3, 2))),
        Case((arr((1, 2, 7, 5)), 2), {"data_format": "channels_first"}),
        Case((arr((1, 4, 5, 6, 2)), 2)), Case((arr((1, 4, 4, 2), "int32"), 2), raises=True)],
})

# --------------------------------------------------------------------------- convolutions
TABLE.update({
    "nn.conv": [
        Case((arr((2, 7, 3)), arr((3, 3, 4)))),
        Case((arr((2, 8, 3)), arr((3, 3, 4))), {"strides": 2, "padding": "same"}),
        Case((arr((2, 3, 8)), arr((2, 3, 4))), {"padding": "same", "data_format": "channels_first"}),
        Case((arr((1, 6, 7, 2)), arr((3, 2, 2, 4))), {"strides": (2, 1), "padding": "same"}),
        Case((arr((1, 7, 7, 2)), arr((3, 3, 2, 3))), {"dilation_rate": 2, "padding": "same"}),
        Case((arr((1, 7, 7, 4)), arr((3, 3, 2, 6))), note="grouped (2 groups)"),
        Case((arr((1, 2, 6, 6)), arr((2, 2, 2, 3))), {"data_format": "channels_first", "dilation_rate": (1, 2)}),
        Case((arr((1, 5, 5, 5, 2)), arr((2, 2, 2, 2, 3))), {"padding": "same", "strides": 2}),
        Case((arr((1, 2, 5, 5, 5)), arr((3, 2, 2, 2, 3))), {"data_format": "channels_first"}),
        Case((arr((1, 6, 6, 2), "float64"), arr((3, 3, 2, 2), "float64")), rtol=1e-12, atol=1e-12),
        Case((arr((1, 5, 5, 2), "int32"), arr((3, 3, 2, 2), "int32"))),
        Case((arr((1, 5, 5, 2)), arr((3, 3, 2, 2), "float64")), raises=True, note="mixed dtypes: torch refuses"),
        Case((arr((1, 5, 5, 3)), arr((3, 3, 2, 2))), raises=True, note="3 channels, kernel takes 2"),
        Case((arr((5, 2)), arr((3, 2, 4))), raises=True, note="no batch axis"),
        Case((arr((1, 5, 5, 2), "bool"), arr((3, 3, 2, 2), "bool")), raises=True)],
    "conv": [Case((arr((1, 5, 5, 2)), arr((3, 3, 2, 2)))),
             Case((arr((0, 5, 5, 2)), arr((3, 3, 2, 2))), note="empty batch")],
    "nn.depthwise_conv": [
        Case((arr((2, 7, 3)), arr((3, 3, 2)))),
        Case((arr((1, 6, 7, 2)), arr((3, 3, 2, 2))), {"strides": 2, "padding": "same"}),
        Case((arr((1, 2, 6, 6)), arr((3, 3, 2, 1))), {"data_format": "channels_first", "dilation_rate": 2}),
        Case((arr((1, 4, 4, 4, 2)), arr((2, 2, 2, 2, 3))), {"padding": "same"}),
        Case((arr((1, 5, 5, 2), "int32"), arr((3, 3, 2, 2), "int32"))),
        Case((arr((1, 5, 5, 3)), arr((3, 3, 2, 2))), raises=True)],
    "nn.separable_conv": [
        Case((arr((2, 7, 3)), arr((3, 3, 2)), arr((1, 6, 4)))),
        Case((arr((1, 6, 7, 2)), arr((3, 3, 2, 2)), arr((1, 1, 4, 3))), {"strides": 2, "padding": "same"}),
        Case((arr((1, 2, 6, 6)), arr((3, 3, 2, 1)), arr((1, 1, 2, 5))), {"data_format": "channels_first",
                                                                       "dilation_rate": 2}),
        Case((arr((1, 5, 5, 3)), arr((3, 3, 2, 2)), arr((1, 1, 4, 2))), raises=True)],
    "nn.conv_transpose": [
        Case((arr((2, 5, 3)), arr((3, 4, 3)))),
        Case((arr((2, 5, 3)), arr((3, 4, 3))), {"strides": 2, "padding": "same"}),
        Case((arr((2, 5, 3)), arr((4, 4, 3))), {"strides": 3}, note="stride > kernel: zero columns appended"),
        Case((arr((1, 4, 5, 2)), arr((3, 3, 3, 2))), {"strides": 2, "padding": "same", "output_padding": 1}),
        Case((arr((1, 4, 5, 2)), arr((2, 3, 3, 2))), {"strides": (2, 3), "padding": "valid", "output_padding": (1, 2)}),
        Case((arr((1, 4, 4, 2)), arr((3, 3, 3, 2))), {"dilation_rate": 2, "padding": "same"}),
        Case((arr((1, 2, 4, 5)), arr((4, 4, 3, 2))), {"strides": 2, "padding": "same", "data_format": "channels_first"},
             note="even kernel: asymmetric crop"),
        Case((arr((1, 3, 3, 3, 2)), arr((2, 2, 2, 4, 2))), {"strides": 2}),
        Case((arr((1, 4, 4, 3)), arr((3, 3, 3, 2))), raises=True, note="3 channels, kernel takes 2"),
        Case((arr((1, 4, 4, 2), "int32"), arr((3, 3, 3, 2), "int32")), raises=True)],
})

# --------------------------------------------------------------------------- encodings, losses
LABELS = np.array([[0, 2, -1], [3, 3, 1]])
TABLE.update({
    "nn.one_hot": [Case((LABELS, 4)), Case((LABELS, 4), {"axis": 0}), Case((LABELS, 4), {"axis": 1, "dtype": "int32"}),
                   Case((np.array([0.7, 2.2, 1.0]), 3)), Case((np.array(2), 3)),
                   Case((np.array([1, 0]), 2), {"dtype": "bool"}),
                   Case((LABELS, 4), {"sparse": True}, raises=True)],
    "one_hot": [Case((np.array([1, 0, 2]), 3), {"dtype": "float64"}), Case((np.zeros((0,), "int32"), 3))],
    "nn.multi_hot": [Case((LABELS, 4)), Case((np.array([0, 2, 2]), 3)), Case((LABELS, 5), {"dtype": "int32"}),
                     Case((LABELS, 4), {"axis": 0}), Case((LABELS,), {"num_tokens": 4}), Case((LABELS,), raises=True),
                     Case((LABELS, 4), {"dtype": "bool"})],
    "nn.binary_crossentropy": [
        Case((positive((2, 3)) / 3, positive((2, 3)) / 3.1)),
        Case((arr((2, 3), "float32", 0, 1), arr((2, 3))), {"from_logits": True}),
        Case((np.array([0.0, 1.0, 1.0], "float32"), np.array([0.0, 1.0, 1e-9], "float32")), note="clipped at epsilon"),
        Case((arr((2, 3), "float64", 0, 1), positive((2, 3), "float64") / 3.1)),
        Case((arr((2, 3), "float64", 0, 1), positive((2, 3)) / 3.1), raises=True, note="torch refuses mixed dtypes"),
        Case((arr((2, 3), "int32", 0, 1), positive((2, 3)) / 3.1), raises=True),
        Case((arr((2, 3)), arr((3, 2))), raises=True)],
    "nn.categorical_crossentropy": [
        Case((positive((2, 4)), positive((2, 4)))), Case((positive((2, 4)), arr((2, 4))), {"from_logits": True}),
        Case((positive((3, 2)), positive((3, 2))), {"axis": 0}), Case((arr((2, 4), "int32", 0, 1), positive((2, 4)))),
        Case((positive((4,), "float64"), positive((4,), "float64"))),
        Case((arr(()), arr(())), raises=True), Case((arr((2, 3)), arr((2, 4))), raises=True)],
    "nn.sparse_categorical_crossentropy": [
        Case((np.array([0, 2]), positive((2, 3)))), Case((np.array([[0], [2]]), arr((2, 3))), {"from_logits": True}),
        Case((np.array([[0, 1], [2, 0]]), arr((2, 3, 2))), {"from_logits": True, "axis": 1}),
        Case((np.array(1), positive((3,)))), Case((np.array([0, 2]), positive((2, 3), "float64"))),
        Case((np.array([0, 1, 2]), positive((2, 3))), raises=True)],
})

# --------------------------------------------------------------------------- statistics and normalization
TABLE.update({
    "nn.moments": [Case((arr((3, 4)), 0)), Case((arr((2, 3, 4)), [0, 2])),
                   Case((arr((2, 3, 4)), (1,)), {"keepdims": True}),
                   Case((arr((3, 4), "float64"), -1)), Case((arr((4, 5), "float16"), 0), rtol=1e-3, atol=1e-3,
                                                           note="float16 (computed in float32, as Keras)"),
                   Case((arr((3, 4), "int32"), 0), raises=True),
                   Case((arr((3, 4)), 0), {"synchronized": True}, raises=True, note="NotImplementedError, as Keras")],
    "moments": [Case((arr((3, 4)), [0, 1])), Case((arr((0, 4)), 0), note="empty: NaN, as Keras")],
    "nn.batch_normalization": [
        Case((arr((2, 3)), arr((3,)), positive((3,)), -1)),
        Case((arr((2, 3, 4)), arr((3,)), positive((3,)), 1), {"offset": arr((3,)), "scale": arr((3,)), "epsilon": 0.1}),
        Case((arr((2, 3)), arr((2,)), positive((2,)), 0), {"scale": arr((2,))}),
        Case((arr((2, 3)), arr((3,), "float64"), positive((3,)), -1)),
        Case((arr((2, 3), "int32"), arr((3,)), positive((3,)), -1)),
        Case((arr((2, 3)), arr((2,)), positive((2,)), -1), raises=True)],
    "nn.rms_normalization": [Case((arr((2, 5)),)), Case((arr((2, 5)), positive((5,)))),
                             Case((arr((2, 3, 4)),), {"axis": (1, 2), "epsilon": 0.1}),
                             Case((arr((2, 3, 4)),), {"axis": [-1, -2]}),
                             Case((arr((2, 5), "float64"),)), Case((arr((2, 5), "float16"),), rtol=1e-3, atol=1e-3,
                                                                   note="float16 output"),
                             Case((arr((2, 5), "int32"),))],
    "nn.layer_normalization": [Case((arr((2, 5)),)), Case((arr((2, 5)), positive((5,)), arr((5,)))),
                               Case((arr((2, 3, 4)),), {"axis": (1, 2), "epsilon": 0.1}),
                               Case((arr((2, 3, 4)), positive((2, 4)), arr((2, 4))), {"axis": (0, 2)},
                                    note="axes apart: the moments path"),
                               Case((arr((2, 5), "float64"),)), Case((arr((2, 5), "int32"),)), Case((arr((0, 5)),)),
                               Case((arr((2, 5)), positive((5,)), arr((5,))), {"rms_scaling": True})],
    "nn.normalize": [Case((arr((2, 5)),)), Case((arr((2, 5)),), {"axis": 0, "order": 1}),
                     Case((arr((2, 5)),), {"order": 3, "epsilon": 0.5}), Case((arr((2, 3, 4)),), {"axis": (1, 2)}),
                     Case((np.zeros((2, 3), "float32"),)), Case((arr(()),)), Case((arr((2, 5), "int32"),)),
                     Case((arr((2, 5), "int32"),), {"order": 3}), Case((arr((2, 5), "bool"),)),
                     Case((arr((2, 5), "float64"),)), Case((arr((2, 5)),), {"order": 0}, raises=True),
                     Case((arr((2, 5)),), {"order": 2.0}, raises=True)],
    "nn.psnr": [Case((positive((2, 4, 4, 1)), positive((2, 4, 4, 1)), 3.0)),
                Case((positive((3, 3), "float64"), positive((3, 3), "float64"), 1.0)),
                Case((positive((3, 3)), positive((3, 4)), 1.0), raises=True),
                Case((arr((3, 3), "int32"), arr((3, 3), "int32"), 255), raises=True)],
})

# --------------------------------------------------------------------------- CTC
CTC_LOGITS = arr((2, 6, 5))
TABLE.update({
    "nn.ctc_loss": [
        Case((np.array([[1, 2, 2], [3, 4, 0]]), CTC_LOGITS, np.array([3, 2]), np.array([6, 5]))),
        Case((np.array([[1, 2, 2], [3, 4, 0]]), CTC_LOGITS, np.array([3, 2]), np.array([6, 5])), {"mask_index": 4}),
        Case((np.array([[1, 2], [3, 1]]), arr((2, 6, 5), "float64"), np.array([2, 1]), np.array([6, 6])), rtol=1e-10)],
    "nn.ctc_decode": [
        Case((CTC_LOGITS, np.array([6, 4]))), Case((CTC_LOGITS, np.array([6, 6])), {"merge_repeated": False}),
        Case((CTC_LOGITS, np.array([5, 6])), {"mask_index": 4}),
        Case((CTC_LOGITS, np.array([6, 6])), {"mask_index": None}),
        Case((np.array([[[0.1, 0.5, 0.4], [0.1, 0.5, 0.4], [0.7, 0.2, 0.1], [0.1, 0.5, 0.4]]], "float32"),
              np.array([4])),
             note="repeats separated by a blank"),
        Case((CTC_LOGITS, np.array([6, 4])), {"strategy": "beam_search", "beam_width": 4, "top_paths": 2}),
        Case((arr((3, 7, 4)), np.array([7, 5, 3])), {"strategy": "beam_search", "beam_width": 8, "top_paths": 3}),
        Case((arr((2, 5, 6)), np.array([5, 5])), {"strategy": "beam_search", "beam_width": 3, "mask_index": 5,
                                                  "top_paths": 1}),
        Case((arr((2, 5, 3), "float64"), np.array([5, 4])),
             {"strategy": "beam_search", "beam_width": 5, "top_paths": 2},
             note="float64 is decoded in float32, as Keras (result_type narrows 64 bits)"),
        Case((CTC_LOGITS, np.array([6, 4])), {"strategy": "nope"}, raises=True)],
})

# --------------------------------------------------------------------------- attention
Q, K, V = arr((2, 4, 3, 5)), arr((2, 6, 3, 5)), arr((2, 6, 3, 5))
TABLE.update({
    "nn.dot_product_attention": [
        Case((Q, K, V)),
        Case((Q, K, V), {"scale": 0.3, "is_causal": True}),
        Case((Q, K, V), {"mask": arr((2, 1, 4, 6), "bool")}),
        Case((Q, K, V), {"mask": arr((4, 6), "bool"), "is_causal": True}),
        Case((Q, K, V), {"bias": arr((2, 3, 4, 6))}),
        Case((arr((2, 4, 6, 5)), K, V), note="grouped-query (6 heads, 3 kv heads)"),
        Case((arr((2, 4, 6, 5)), arr((2, 6, 1, 5)), arr((2, 6, 1, 5))), note="multi-query (1 kv head, broadcast)"),
        Case((Q, K, V), {"flash_attention": False}),
        Case((Q.astype("float64"), K, V), note="float64 query promotes"),
        Case((Q, K, V), {"flash_attention": True}, raises=True, note="no flash kernel on CPU"),
        Case((Q, K, V), {"mask": arr((4, 6), "bool"), "bias": arr((4, 6))}, raises=True),
        Case((Q, K, V), {"attn_logits_soft_cap": 20.0}, raises=True),
        Case((arr((4, 3, 5)), arr((6, 3, 5)), arr((6, 3, 5))), raises=True),
        Case((arr((0, 4, 3, 5)), arr((0, 6, 3, 5)), arr((0, 6, 3, 5))), note="empty batch")],
})

# --------------------------------------------------------------------------- complex, blocks
TABLE.update({
    "nn.polar": [Case((positive((2, 3)), arr((2, 3)))), Case((positive((3,)), arr((2, 3)))),
                 Case((arr((2, 3), "int32"), arr((2, 3), "int32"))),
                 Case((positive((3,), "float64"), arr((3,), "float64")))],
    # Keras hands unfold/fold's input to torch unconverted (numpy arrays fail there): tensors here.
    "nn.unfold": [Case((tensor(arr((2, 3, 5, 6))), 2)),
                  Case((tensor(arr((1, 2, 6, 7))), (2, 3)), {"dilation": 2, "padding": 1, "stride": (2, 1)}),
                  Case((arr((2, 3, 5)), 2), raises=True)],
    "nn.fold": [Case((tensor(arr((2, 12, 16))), (5, 5), 2)),
                Case((tensor(arr((1, 6, 15))), (4, 5), (2, 3)), {"stride": (2, 1), "padding": 1}),
                Case((arr((2, 3, 4, 4)), (4, 4), 2), raises=True)],
    "nn.depth_to_space": [Case((arr((2, 2, 3, 8)), 2)), Case((arr((1, 8, 2, 3)), 2), {"data_format": "channels_first"}),
                          Case((arr((1, 2, 2, 9), "int32"), 3)), Case((arr((1, 2, 2, 8)), 1), raises=True),
                          Case((arr((2, 3, 8)), 2), raises=True)],
    "nn.space_to_depth": [Case((arr((2, 4, 6, 3)), 2)), Case((arr((1, 2, 4, 6)), 2), {"data_format": "channels_first"}),
                          Case((arr((1, 6, 3, 1), "int32"), 3)), Case((arr((1, 4, 4, 2)), 1), raises=True),
                          Case((arr((1, 5, 4, 2)), 2), raises=True)],
})


@pytest.mark.parametrize("name,case", params(TABLE))
def test_matches_keras(name: str, case: Case) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras's and initium's deliberate warnings (rms_scaling, softmax axis)
        run_case(name, case)


def test_every_op_has_cases() -> None:
    covered = {name.split(".")[-1] for name in TABLE} | {"hard_swish", "swish"}
    assert set(NAMES) <= covered, f"no parity cases for {sorted(set(NAMES) - covered)}"


# --------------------------------------------------------------------------- symbolic specs
SYMBOLIC = [(f"nn.{name}", (Sym((None, 3)),), {}) for name in _ACTIVATIONS] + [
    ("nn.threshold", (Sym((None, 3)), 0.1, 0.0), {}),
    ("nn.glu", (Sym((None, 4)),), {}),
    ("nn.softmax", (Sym((None, 3, 4)),), {"axis": (1, 2)}),
    ("nn.log_softmax", (Sym((None, 3)),), {"axis": 0}),
    ("nn.sparsemax", (Sym((2, None)),), {}),
    ("nn.max_pool", (Sym((None, 7, None, 2)), 2), {"strides": 2, "padding": "same"}),
    ("nn.max_pool", (Sym((None, 7, 3)), 3), {}),
    ("nn.average_pool", (Sym((None, 2, 5, 5, 6)), 2), {"data_format": "channels_first"}),
    ("nn.adaptive_max_pool", (Sym((None, 2, 9, 7)), (3, 2)), {"data_format": "channels_first"}),
    ("nn.adaptive_average_pool", (Sym((None, 2, 9, 7, 5)), (3, 2, 2)), {"data_format": "channels_first"}),
    ("nn.conv", (Sym((None, 9, 9, 3)), Sym((3, 3, 3, 4))), {"strides": 2, "padding": "same"}),
    ("nn.conv", (Sym((None, 3, 9)), Sym((3, 3, 5))), {"data_format": "channels_first", "dilation_rate": 2}),
    ("nn.depthwise_conv", (Sym((None, 8, 8, 3)), Sym((3, 3, 3, 2))), {}),
    ("nn.separable_conv", (Sym((None, 8, 8, 3)), Sym((3, 3, 3, 2)), Sym((1, 1, 6, 5))), {"padding": "same"}),
    ("nn.conv_transpose", (Sym((None, 5, 5, 3)), Sym((3, 3, 4, 3))), {"strides": 2, "padding": "same"}),
    ("nn.conv_transpose", (Sym((None, 3, 5)), Sym((4, 2, 3))), {"strides": 3, "data_format": "channels_first",
                                                             "output_padding": 1}),
    ("nn.one_hot", (Sym((None, 3), "int32"), 5), {}),
    ("nn.one_hot", (Sym((None, 3), "int32"), 5), {"axis": 1, "dtype": "int32"}),
    ("nn.multi_hot", (Sym((None, 3), "float32"), 5), {}),
    ("nn.binary_crossentropy", (Sym((None, 3)), Sym((None, 3))), {}),
    ("nn.categorical_crossentropy", (Sym((None, 3)), Sym((None, 3))), {"from_logits": True}),
    ("nn.sparse_categorical_crossentropy", (Sym((None,), "int32"), Sym((None, 4))), {}),
    ("nn.moments", (Sym((None, 3, 4)), [0, 2]), {}),
    ("nn.moments", (Sym((None, 3)), 1), {"keepdims": True}),
    ("nn.batch_normalization", (Sym((None, 3)), Sym((3,)), Sym((3,)), 1), {"offset": Sym((3,)), "scale": Sym((3,))}),
    ("nn.ctc_loss", (Sym((None, 4), "int32"), Sym((None, 6, 5)), Sym((None,), "int32"), Sym((None,), "int32")), {}),
    ("nn.ctc_decode", (Sym((None, 6, 5)), Sym((None,), "int32")), {}),
    ("nn.ctc_decode", (Sym((None, 6, 5)), Sym((None,), "int32")), {"strategy": "beam_search", "top_paths": 3}),
    ("nn.normalize", (Sym((None, 3)),), {}),
    ("nn.psnr", (Sym((None, 3)), Sym((None, 3)), 1.0), {}),
    ("nn.dot_product_attention", (Sym((None, 4, 3, 5)), Sym((None, 6, 3, 5)), Sym((None, 6, 3, 5))),
     {"is_causal": True}),
    ("nn.rms_normalization", (Sym((None, 5)),), {"scale": Sym((5,))}),
    ("nn.layer_normalization", (Sym((None, 5)), Sym((5,)), Sym((5,))), {}),
    ("nn.layer_normalization", (Sym((None, 5)),), {"rms_scaling": True}),
    ("nn.unfold", (Sym((None, 3, 6, 6)), 2), {}),
    ("nn.fold", (Sym((None, 12, 16)), 5, 2), {}),
    ("nn.depth_to_space", (Sym((None, 2, 3, 8)), 2), {}),
    ("nn.space_to_depth", (Sym((None, 3, 4, 6)), 2), {"data_format": "channels_first"}),
]


@pytest.mark.parametrize("name,args,kwargs", SYMBOLIC, ids=[f"{s[0]}-{i}" for i, s in enumerate(SYMBOLIC)])
def test_symbolic_matches_keras(name: str, args: tuple, kwargs: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rms_scaling's deprecation warning, in both libraries
        run_symbolic(name, *args, **kwargs)


def test_every_op_has_a_symbolic_case() -> None:
    covered = {name.split(".")[-1] for name, _, _ in SYMBOLIC} | {"hard_swish", "swish", "polar"}
    assert set(NAMES) <= covered, f"no symbolic case for {sorted(set(NAMES) - covered)}"


# --------------------------------------------------------------------------- signatures and namespaces
@pytest.mark.parametrize("name", NAMES)
def test_signature_matches_keras(name: str) -> None:
    assert parameters(getattr(iops.nn, name)) == parameters(getattr(kops.nn, name))


def test_namespace() -> None:
    """``ops.nn`` has exactly Keras's names; each is also in the flat ``ops`` namespace, the same
    function; the aliases are the same functions as their targets."""
    assert sorted(iops.nn.__all__) == sorted(NAMES)
    for name in NAMES:
        assert getattr(iops, name) is getattr(iops.nn, name)
    assert iops.nn.swish is iops.nn.silu and iops.nn.hard_swish is iops.nn.hard_silu


# --------------------------------------------------------------------------- graph nodes and configs
@pytest.mark.parametrize("name", NAMES)
def test_graph_node_is_kerass_class(name: str) -> None:
    """Each op's graph node has Keras's class name (from keras.src.ops.nn) and takes Keras's
    constructor arguments, so configs saved by either library load in the other."""
    check_graph_node("nn", getattr(iops.nn, name))


def test_keras_config_runs_in_initium() -> None:
    """An op rebuilt from the config of Keras's Operation computes what the function computes."""
    from keras.src.ops import nn as keras_nn

    x, k = arr((1, 6, 6, 2)), arr((3, 3, 2, 4))
    config = keras_nn.Conv(strides=2, padding="same", data_format="channels_last", dilation_rate=1).get_config()
    op = iops.nn.conv.operation_class.from_config(config)
    torch.testing.assert_close(op(x, k), iops.conv(x, k, strides=2, padding="same"))
    for rms_scaling in (False, True):
        config = keras_nn.LayerNorm(axis=-1, epsilon=0.1, rms_scaling=rms_scaling).get_config()
        op = iops.nn.layer_normalization.operation_class.from_config(config)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # rms_scaling is deprecated
            torch.testing.assert_close(op(x), iops.layer_normalization(x, epsilon=0.1, rms_scaling=rms_scaling))


# --------------------------------------------------------------------------- deliberate differences
# Where Keras's torch backend is wrong, initium does the documented thing; each test says what
# Keras does instead.

def test_norms_over_leading_axes() -> None:
    """Keras's torch backend hands any single or adjacent axes to torch's fused norms, which always
    normalize the *last* axes: wrong values or a RuntimeError for other axes. initium normalizes the
    axes asked for."""
    x = arr((2, 3, 4)).astype("float64")
    gamma, beta = positive((3,)).astype("float64"), arr((3,)).astype("float64")
    mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-3) * gamma[:, None] + beta[:, None]
    got = iops.layer_normalization(torch.tensor(x), torch.tensor(gamma), torch.tensor(beta), axis=1, epsilon=1e-3)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)  # computed in float32, as Keras
    y = arr((3, 3))
    expected = y / np.sqrt((y.astype("float64") ** 2).mean(axis=0, keepdims=True) + 1e-7)
    np.testing.assert_allclose(iops.rms_normalization(y, axis=0).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_unfold_fold_take_arrays() -> None:
    """Keras hands unfold/fold's input to torch unconverted (a TypeError for numpy arrays); initium
    converts it like every other op."""
    x = arr((1, 2, 4, 5))
    np.testing.assert_array_equal(iops.unfold(x, 2).numpy(), torch.nn.functional.unfold(torch.tensor(x), 2).numpy())
    cols = arr((1, 8, 12))
    np.testing.assert_array_equal(iops.fold(cols, (4, 5), 2).numpy(),
                                  torch.nn.functional.fold(torch.tensor(cols), (4, 5), 2).numpy())


def test_refusals_keras_misses() -> None:
    """Arguments Keras's torch backend silently misreads are refused: an unknown padding (Keras
    reads it as 'valid'), a one-hot axis other than -1 or 0..rank (Keras permutes the axes
    wrongly), unknown keywords (Keras ignores them), a 0-d sparse crossentropy (Keras: IndexError)."""
    with pytest.raises(ValueError, match="padding"):
        iops.conv(arr((1, 5, 5, 1)), arr((3, 3, 1, 1)), padding="causal")
    with pytest.raises(ValueError, match="padding"):
        iops.max_pool(arr((1, 5, 5, 1)), 2, padding="full")
    with pytest.raises(ValueError, match="axis"):
        iops.one_hot(np.array([[1, 2]]), 3, axis=-2)
    with pytest.raises(TypeError, match="rms"):
        iops.layer_normalization(arr((2, 3)), rms=True)
    with pytest.raises(TypeError, match="tokens"):
        iops.multi_hot(np.array([1]), 3, tokens=4)
    with pytest.raises(ValueError, match="rank 1"):
        iops.sparse_categorical_crossentropy(np.array(0), arr(()))


def test_one_hot_axes_numpy_order() -> None:
    labels = np.array([[0, 2, -1], [1, 1, 0]])
    eye = np.eye(3, dtype="float32")[labels] * (labels >= 0)[..., None]
    for axis in (0, 1, 2, -1):
        np.testing.assert_array_equal(iops.one_hot(labels, 3, axis=axis).numpy(), np.moveaxis(eye, -1, axis))


@pytest.mark.parametrize("name,args,kwargs", [
    ("polar", (Sym((None, 3)), Sym((None, 3))), {}),
    ("multi_hot", (Sym((None, 3), "int32"), 5), {}),
    ("normalize", (Sym((None, 3), "float64"),), {}),
    ("psnr", (Sym((2, 3), "float64"), Sym((2, 3), "float64"), 1.0), {}),
    ("adaptive_max_pool", (Sym((None, 9, 7, 2)), (3, 2)), {"data_format": "channels_last"}),
    ("adaptive_average_pool", (Sym((None, 9, 2)), 4), {"data_format": "channels_last"}),
])
def test_symbolic_spec_is_eager_spec(name: str, args: tuple, kwargs: dict) -> None:
    """Where Keras's compute_output_spec disagrees with what its own eager op returns (polar:
    float32 for a complex64 result; multi_hot: the input's dtype for a float32 result; normalize and
    psnr: float32 for float64; adaptive pools: a wrong rank for channels_last and a TypeError for an
    int size), initium's symbolic output is what the op returns eagerly."""
    fn = getattr(iops, name)
    symbolic = fn(*[initium.KerasTensor(a.shape, dtype=a.dtype) if isinstance(a, Sym) else a for a in args], **kwargs)
    concrete = [torch.ones([3 if d is None else d for d in a.shape], dtype=initium.backend.torch_dtype(a.dtype))
                if isinstance(a, Sym) else a for a in args]
    eager = fn(*concrete, **kwargs)
    assert initium.backend.standardize_dtype(eager.dtype) == symbolic.dtype
    assert tuple(eager.shape) == tuple(3 if s is None else s for s in symbolic.shape)


# --------------------------------------------------------------------------- CTC beam search
def _collapse(alignment: tuple) -> tuple:
    out, previous = [], None
    for label in alignment:
        if label != previous and label != 0:
            out.append(label)
        previous = label
    return tuple(out)


def test_ctc_beam_search_is_exact_with_a_wide_beam() -> None:
    """With a beam wider than the number of prefixes, prefix beam search is exact: its paths are the
    most probable labelings and its scores their log-probabilities summed over all alignments
    (enumerated here: 3 classes, 5 steps)."""
    import itertools

    logits = arr((1, 5, 3)).astype("float64")
    log_p = torch.log_softmax(torch.tensor(logits[0]), -1).numpy()
    totals: dict[tuple, float] = {}
    for alignment in itertools.product(range(3), repeat=5):
        labels = _collapse(alignment)
        totals[labels] = totals.get(labels, 0.0) + float(np.exp(sum(log_p[t, c] for t, c in enumerate(alignment))))
    best = sorted(totals.items(), key=lambda kv: -kv[1])[:4]
    paths, scores = iops.ctc_decode(torch.tensor(logits), np.array([5]), strategy="beam_search", beam_width=64,
                                    top_paths=4)
    for i, (labels, prob) in enumerate(best):
        assert tuple(int(v) for v in paths[i, 0] if v >= 0) == labels
        assert float(scores[0, i]) == pytest.approx(np.log(prob), rel=1e-5)
