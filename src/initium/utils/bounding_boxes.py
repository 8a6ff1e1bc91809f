"""``keras.utils.bounding_boxes``: converting, clipping, transforming and comparing boxes.

Boxes are arrays or tensors whose last axis holds 4 numbers, in one of these formats
(case-insensitive): ``"xyxy"`` (left, top, right, bottom), ``"yxyx"``, ``"xywh"`` (left, top,
width, height), ``"center_xywh"``, ``"center_yxhw"``, and the relative ``"rel_xyxy"``,
``"rel_yxyx"``, ``"rel_xywh"``, ``"rel_center_xywh"`` (coordinates divided by the image's width and
height). Results are torch tensors (what Keras's functions return on its torch backend).

Where initium differs from Keras 3.15.1: ``convert_format`` on a dict returns a new dict (Keras
also overwrites the caller's ``"boxes"``); ``affine_transform`` also takes unbatched ``(N, 4)``
boxes and scalar parameters (Keras needs ``(batch, N, 4)`` and one value per image);
``compute_ciou`` accepts relative formats when ``image_shape`` is given (Keras refuses them even
then).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["convert_format", "clip_to_image_size", "affine_transform", "crop", "pad", "encode_box_to_deltas",
           "decode_deltas_to_boxes", "compute_iou", "compute_ciou", "SUPPORTED_FORMATS"]

SUPPORTED_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
                     "rel_center_xywh")


def _tensor(x: Any, dtype: Any = None) -> Any:
    import torch

    from initium.backend import torch_dtype

    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    return t if dtype is None else t.to(torch_dtype(dtype))


def _epsilon() -> float:
    from initium.backend import epsilon

    return epsilon()


def _unbind(boxes: Any) -> tuple:
    return tuple(boxes[..., i:i + 1] for i in range(4))


def _cat(parts: list) -> Any:
    import torch

    return torch.cat(parts, dim=-1)


def _to_xyxy(boxes: Any, fmt: str, height: Any, width: Any) -> Any:
    a, b, c, d = _unbind(boxes)
    scale_x, scale_y = (width, height) if fmt.startswith("rel_") else (1.0, 1.0)
    base = fmt[4:] if fmt.startswith("rel_") else fmt
    if base == "xyxy":
        x1, y1, x2, y2 = a, b, c, d
    elif base == "yxyx":
        x1, y1, x2, y2 = b, a, d, c
    elif base == "xywh":
        x1, y1, x2, y2 = a, b, a + c, b + d
    elif base == "center_xywh":
        x1, y1, x2, y2 = a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0
    else:  # center_yxhw
        x1, y1, x2, y2 = b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0
    return _cat([x1 * scale_x, y1 * scale_y, x2 * scale_x, y2 * scale_y])


def _from_xyxy(boxes: Any, fmt: str, height: Any, width: Any) -> Any:
    x1, y1, x2, y2 = _unbind(boxes)
    if fmt.startswith("rel_"):
        x1, y1, x2, y2 = x1 / width, y1 / height, x2 / width, y2 / height
        fmt = fmt[4:]
    w, h = x2 - x1, y2 - y1
    cx, cy = x1 + w / 2.0, y1 + h / 2.0
    return _cat({"xyxy": [x1, y1, x2, y2], "yxyx": [y1, x1, y2, x2], "xywh": [x1, y1, w, h],
                 "center_xywh": [cx, cy, w, h], "center_yxhw": [cy, cx, h, w]}[fmt])


def convert_format(boxes: Any, source: str, target: str, height: Any = None, width: Any = None,
                   dtype: Any = "float32") -> Any:
    """``boxes`` (or the ``"boxes"`` of a dict, the rest kept) converted from ``source`` to ``target``
    format, as ``dtype``. ``height`` and ``width`` are needed to go between relative and absolute
    formats."""
    if isinstance(boxes, dict):
        return {**boxes, "boxes": convert_format(boxes["boxes"], source, target, height, width, dtype)}
    boxes = _tensor(boxes)
    if boxes.shape[-1] != 4:
        raise ValueError(f"`boxes` must be a tensor with the last dimension of 4. Received: boxes.shape={tuple(boxes.shape)}")
    source, target = source.lower(), target.lower()
    if source not in SUPPORTED_FORMATS or target not in SUPPORTED_FORMATS:
        raise ValueError(f"Invalid source or target format. Supported formats: {SUPPORTED_FORMATS}. Received: "
                         f"source={source!r}, target={target!r}")
    if (source.startswith("rel_") or target.startswith("rel_")) and (width is None or height is None):
        raise ValueError("convert_format() must receive `height` and `width` transforming between relative and "
                         f"absolute formats. convert_format() received source=`{source}`, target=`{target}`, but "
                         f"height={height} and width={width}.")
    boxes = _tensor(boxes, dtype)
    if source == target:
        return boxes
    if source.startswith("rel_") and target.startswith("rel_"):  # no scaling needed between relative formats
        source, target = source[4:], target[4:]
    height = None if height is None else _tensor(height, dtype)
    width = None if width is None else _tensor(width, dtype)
    return _from_xyxy(_to_xyxy(boxes, source, height, width), target, height, width)


def _check_xyxy(bounding_box_format: str, what: str) -> None:
    if bounding_box_format != "xyxy":
        raise NotImplementedError(f"{what} supports bounding_box_format='xyxy' only (as in Keras). Received: "
                                  f"bounding_box_format={bounding_box_format!r}; convert with convert_format first.")


def clip_to_image_size(bounding_boxes: dict, height: Any = None, width: Any = None,
                       bounding_box_format: str = "xyxy") -> dict:
    """Boxes clipped to the image (``[0, width] x [0, height]``, or ``[0, 1]`` for ``"rel_xyxy"``);
    a box left with no area gets label -1. ``bounding_boxes`` is ``{"boxes": ..., "labels": ...}``."""
    import torch

    if bounding_box_format not in ("xyxy", "rel_xyxy"):
        raise NotImplementedError(f"clip_to_image_size supports 'xyxy' and 'rel_xyxy' only. Received: "
                                  f"bounding_box_format={bounding_box_format!r}")
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError("`height` and `width` must be set if `format='xyxy'`.")
    boxes = _tensor(bounding_boxes["boxes"])
    labels = bounding_boxes.get("labels")
    x_max, y_max = (1.0, 1.0) if bounding_box_format == "rel_xyxy" else (width, height)
    x1, y1, x2, y2 = _unbind(boxes)
    boxes = _cat([x1.clamp(0, x_max), y1.clamp(0, y_max), x2.clamp(0, x_max), y2.clamp(0, y_max)])
    result = dict(bounding_boxes, boxes=boxes)
    if labels is not None:
        x1, y1, x2, y2 = _unbind(boxes)
        area = ((x2 - x1) * (y2 - y1)).squeeze(-1)
        labels = _tensor(labels)
        result["labels"] = torch.where(area > 0, labels, torch.full_like(labels, -1))
    return result


def _inverse_affine_matrix(center_x: Any, center_y: Any, angle: Any, translate_x: Any, translate_y: Any, scale: Any,
                           shear_x: Any, shear_y: Any, height: Any, width: Any) -> Any:
    """Keras's ``(batch, 3, 3)`` matrix for the affine transform (angles in degrees)."""
    import torch

    rad = math.pi / 180.0
    cx, cy = center_x * (width - 1), center_y * (height - 1)
    tx, ty = -translate_x * (width - 1), -translate_y * (height - 1)
    rot, sx, sy = -angle * rad, -shear_x * rad, -shear_y * rad
    a = torch.cos(rot - sy) / torch.cos(sy)
    b = a * torch.tan(sx) + torch.sin(rot)
    c = -torch.sin(rot - sy) / torch.cos(sy)
    d = torch.cos(rot) - c * torch.tan(sx)
    a0, a1, b0, b1 = d * scale, -b * scale, -c * scale, a * scale
    a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
    b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
    zeros, ones = torch.zeros_like(a0), torch.ones_like(a0)
    return torch.stack([a0, a1, a2, b0, b1, b2, zeros, zeros, ones], dim=-1).reshape(-1, 3, 3)


def affine_transform(boxes: Any, angle: Any, translate_x: Any, translate_y: Any, scale: Any, shear_x: Any,
                     shear_y: Any, height: Any, width: Any, center_x: Any = None, center_y: Any = None,
                     bounding_box_format: str = "xyxy") -> Any:
    """``xyxy`` boxes moved by Keras's affine transform (rotation ``angle`` and shears in degrees,
    translations and the centre as fractions of the image): each box becomes the smallest box around
    its four transformed corners. ``boxes`` is ``(batch, N, 4)`` with one parameter value per image,
    or ``(N, 4)`` with scalars."""
    import torch

    _check_xyxy(bounding_box_format, "affine_transform")
    params = [_tensor(v, "float32").reshape(-1) for v in (angle, translate_x, translate_y, scale, shear_x, shear_y)]
    boxes = _tensor(boxes, "float32")
    unbatched = boxes.dim() == 2
    if unbatched:
        boxes = boxes[None]
    batch = boxes.shape[0]
    params = [p.expand(batch) for p in params]
    center_x = 0.5 if center_x is None else center_x
    center_y = 0.5 if center_y is None else center_y
    matrix = _inverse_affine_matrix(center_x, center_y, params[0], params[1], params[2], params[3], params[4],
                                    params[5], height, width)
    x1, y1, x2, y2 = (boxes[..., i] for i in range(4))
    corners = torch.stack([x1, y1, x2, y1, x2, y2, x1, y2], dim=-1).reshape(batch, -1, 4, 2)
    corners = torch.cat([corners, torch.ones_like(corners[..., :1])], dim=-1)
    moved = torch.einsum("bnkj,bij->bnki", corners, matrix[:, :2, :])
    out = torch.cat([moved.amin(dim=2), moved.amax(dim=2)], dim=-1)
    return out[0] if unbatched else out


def crop(boxes: Any, top: Any, left: Any, height: Any, width: Any, bounding_box_format: str = "xyxy") -> Any:
    """``xyxy`` boxes in the frame of the crop whose corner is ``(left, top)``, clipped to it."""
    _check_xyxy(bounding_box_format, "crop")
    x1, y1, x2, y2 = _unbind(_tensor(boxes))
    return _cat([(x1 - left).clamp(0, width), (y1 - top).clamp(0, height), (x2 - left).clamp(0, width),
                 (y2 - top).clamp(0, height)])


def pad(boxes: Any, top: Any, left: Any, height: Any = None, width: Any = None, bounding_box_format: str = "xyxy") -> Any:
    """``xyxy`` boxes shifted by the padding ``left`` and ``top`` (``height``/``width`` are unused, as in Keras)."""
    _check_xyxy(bounding_box_format, "pad")
    x1, y1, x2, y2 = _unbind(_tensor(boxes))
    return _cat([x1 + left, y1 + top, x2 + left, y2 + top])


def _check_variance(variance: Any) -> Any:
    if variance is None:
        return None
    variance = _tensor(variance, "float32")
    if variance.shape[-1] != 4:
        raise ValueError(f"`variance` must be length 4, got {variance}")
    return variance


def _image_size(image_shape: Any) -> tuple:
    if image_shape is None:
        return None, None
    height, width, _ = image_shape
    return height, width


def encode_box_to_deltas(anchors: Any, boxes: Any, anchor_format: str, box_format: str,
                         encoding_format: str = "center_yxhw", variance: Any = None, image_shape: Any = None) -> Any:
    """The offsets (scaled by the anchors' size) and log size ratios that turn ``anchors`` into
    ``boxes``, in ``encoding_format`` order, divided by ``variance`` when given."""
    import torch

    variance = _check_variance(variance)
    if encoding_format not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"`encoding_format` should be one of 'center_xywh' or 'center_yxhw', got {encoding_format}")
    height, width = _image_size(image_shape)
    anchors = convert_format(anchors, anchor_format, encoding_format, height, width)
    boxes = convert_format(boxes, box_format, encoding_format, height, width)
    anchor_size = anchors[..., 2:].clamp(min=_epsilon())
    box_size = boxes[..., 2:].clamp(min=_epsilon())
    deltas = torch.cat([(boxes[..., :2] - anchors[..., :2]) / anchor_size, torch.log(box_size / anchor_size)], dim=-1)
    return deltas if variance is None else deltas / variance


def decode_deltas_to_boxes(anchors: Any, boxes_delta: Any, anchor_format: str, box_format: str,
                           encoded_format: str = "center_yxhw", variance: Any = None, image_shape: Any = None) -> Any:
    """The inverse of ``encode_box_to_deltas``: boxes in ``box_format``. ``anchors`` and
    ``boxes_delta`` may be dicts of pyramid levels (the result is then a dict)."""
    import torch

    variance = _check_variance(variance)
    if encoded_format not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"`encoded_format` should be 'center_xywh' or 'center_yxhw', but got '{encoded_format}'.")
    height, width = _image_size(image_shape)

    def decode(anchor: Any, delta: Any) -> Any:
        anchor = convert_format(anchor, anchor_format, encoded_format, height, width)
        delta = _tensor(delta, "float32")
        if variance is not None:
            delta = delta * variance
        box = torch.cat([delta[..., :2] * anchor[..., 2:] + anchor[..., :2], torch.exp(delta[..., 2:]) * anchor[..., 2:]],
                        dim=-1)
        return convert_format(box, encoded_format, box_format, height, width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)


def compute_iou(boxes1: Any, boxes2: Any, bounding_box_format: str, use_masking: bool = False, mask_val: Any = -1,
                image_shape: Any = None) -> Any:
    """The intersection over union of every box of ``boxes1`` with every box of ``boxes2``: shape
    ``(N, M)`` (or ``(batch, N, M)``). With ``use_masking``, pairs involving a padding box (all
    coordinates negative) get ``mask_val``."""
    import torch

    ranks = (_tensor(boxes1).dim(), _tensor(boxes2).dim())
    for i, rank in enumerate(ranks, 1):
        if rank not in (2, 3):
            raise ValueError(f"compute_iou() expects boxes{i} to be batched, or to be unbatched. Received "
                             f"len(boxes1.shape)={ranks[0]}, len(boxes2.shape)={ranks[1]}. Expected either "
                             f"len(boxes{i}.shape)=2 AND or len(boxes{i}.shape)=3.")
    if "rel" in bounding_box_format and image_shape is None:
        raise ValueError("When using relative bounding box formats (e.g. `rel_yxyx`) the `image_shape` argument must "
                         f"be provided. Received `image_shape`: {image_shape}")
    height, width = _image_size(image_shape)
    b1 = convert_format(boxes1, bounding_box_format, "yxyx", height, width)[..., :, None, :]
    b2 = convert_format(boxes2, bounding_box_format, "yxyx", height, width)[..., None, :, :]
    inter_h = (torch.minimum(b1[..., 2], b2[..., 2]) - torch.maximum(b1[..., 0], b2[..., 0])).clamp(min=0)
    inter_w = (torch.minimum(b1[..., 3], b2[..., 3]) - torch.maximum(b1[..., 1], b2[..., 1])).clamp(min=0)
    inter = inter_h * inter_w
    area1 = (b1[..., 2] - b1[..., 0]) * (b1[..., 3] - b1[..., 1])
    area2 = (b2[..., 2] - b2[..., 0]) * (b2[..., 3] - b2[..., 1])
    iou = inter / (area1 + area2 - inter + _epsilon())
    if not use_masking:
        return iou
    background = (b1.amax(dim=-1) < 0) | (b2.amax(dim=-1) < 0)
    return torch.where(background, torch.full_like(iou, float(mask_val)), iou)


def compute_ciou(boxes1: Any, boxes2: Any, bounding_box_format: str, image_shape: Any = None) -> Any:
    """The complete IoU of each box of ``boxes1`` with the box at the same position in ``boxes2``:
    IoU minus the squared centre distance over the enclosing box's squared diagonal, minus the
    aspect-ratio term ``alpha * v`` (Zheng et al., 2020, as Keras computes it)."""
    import torch

    if "rel" in bounding_box_format and image_shape is None:
        raise ValueError("When using relative bounding box formats (e.g. `rel_yxyx`) the `image_shape` argument must "
                         f"be provided. Received `image_shape`: {image_shape}")
    height, width = _image_size(image_shape)
    eps = _epsilon()
    x1a, y1a, x2a, y2a = _unbind(convert_format(boxes1, bounding_box_format, "xyxy", height, width))
    x1b, y1b, x2b, y2b = _unbind(convert_format(boxes2, bounding_box_format, "xyxy", height, width))
    wa, ha = x2a - x1a, y2a - y1a + eps
    wb, hb = x2b - x1b, y2b - y1b + eps
    inter = (torch.minimum(x2a, x2b) - torch.maximum(x1a, x1b)).clamp(min=0) * \
        (torch.minimum(y2a, y2b) - torch.maximum(y1a, y1b)).clamp(min=0)
    iou = (inter / (wa * ha + wb * hb - inter + eps + eps)).squeeze(-1)
    diagonal = ((torch.maximum(x2a, x2b) - torch.minimum(x1a, x1b)) ** 2
                + (torch.maximum(y2a, y2b) - torch.minimum(y1a, y1b)) ** 2 + eps).squeeze(-1)
    centres = (((x1a + x2a) / 2 - (x1b + x2b) / 2) ** 2 + ((y1a + y2a) / 2 - (y1b + y2b) / 2) ** 2).squeeze(-1)
    v = ((4 / math.pi ** 2) * (torch.atan(wb / hb) - torch.atan(wa / ha)) ** 2).squeeze(-1)
    alpha = v / (v - iou + (1 + eps))
    return iou - (centres / diagonal + v * alpha)
