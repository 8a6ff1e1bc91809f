"""``keras.utils``: data, file, image, serialization and display helpers.

Every name of Keras 3.15.1's ``keras.utils`` is here except ``FeatureSpace`` (its ``adapt`` needs
``tf.data``; see ``tests/test_utils.py::KERAS_ONLY`` for the reasons). Where Keras returns a
``tf.data.Dataset`` (``image_dataset_from_directory``, ``text_dataset_from_directory``,
``audio_dataset_from_directory``, ``timeseries_dataset_from_array``) initium returns an
``initium.utils.Dataset``: re-iterable numpy batches that ``model.fit`` takes.

Importing this package costs numpy only: Pillow, urllib, tarfile, zipfile, pydot and the model
families are imported inside the functions that use them.
"""

from initium.backend import is_keras_tensor, standardize_dtype
from initium.random import set_random_seed
from initium import registry as _registry
from initium.registry import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    register_keras_serializable,
)
from initium.utils import bounding_boxes, legacy
from initium.utils.config import Config
from initium.utils.dataset import (
    Dataset,
    pack_x_y_sample_weight,
    split_dataset,
    timeseries_dataset_from_array,
    unpack_x_y_sample_weight,
)
from initium.utils.directory import audio_dataset_from_directory, image_dataset_from_directory, \
    text_dataset_from_directory
from initium.utils.file_utils import get_file
from initium.utils.graph import get_source_inputs
from initium.utils.image import array_to_img, img_to_array, load_img, save_img
from initium.utils.io_utils import disable_interactive_logging, enable_interactive_logging, \
    is_interactive_logging_enabled
from initium.utils.numerical import normalize, to_categorical
from initium.utils.progbar import Progbar
from initium.utils.py_dataset import PyDataset, Sequence
from initium.utils.sequence import pad_sequences
from initium.utils.serialization import deserialize_keras_object, serialize_keras_object
from initium.utils.visualization import model_to_dot, plot_model


def get_registered_object(name: str, custom_objects: dict | None = None, module_objects: dict | None = None):
    """The object registered (or passed in ``custom_objects``, or in an active
    ``custom_object_scope``) under ``name``; else ``module_objects[name]``; else ``None``."""
    found = _registry.get_registered_object(name, custom_objects)
    return found if found is not None or not module_objects else module_objects.get(name)


def clear_session(free_memory: bool = True) -> None:
    """Reset automatic names (``dense``, ``dense_1``, ...) and uid counters, drop ``torch.compile``'s
    caches if it was used, and with ``free_memory`` run Python's garbage collector (Keras's
    ``clear_session``)."""
    import gc
    import sys

    from initium.backend import clear_session as _reset_names

    if not isinstance(free_memory, bool):
        raise ValueError(f"clear_session: `free_memory` must be True or False. Received: free_memory={free_memory!r}")
    _reset_names()
    if "torch._dynamo" in sys.modules:  # only if compiled code may be cached: importing dynamo is slow
        sys.modules["torch._dynamo"].reset()
    if free_memory:
        gc.collect()


__all__ = [
    "Config", "CustomObjectScope", "Dataset", "Progbar", "PyDataset", "Sequence", "array_to_img",
    "audio_dataset_from_directory", "bounding_boxes", "clear_session", "custom_object_scope", "deserialize_keras_object",
    "disable_interactive_logging", "enable_interactive_logging", "get_custom_objects", "get_file",
    "get_registered_name", "get_registered_object", "get_source_inputs", "image_dataset_from_directory",
    "img_to_array", "is_interactive_logging_enabled", "is_keras_tensor", "legacy", "load_img", "model_to_dot",
    "normalize", "pack_x_y_sample_weight", "pad_sequences", "plot_model", "register_keras_serializable", "save_img",
    "serialize_keras_object", "set_random_seed", "split_dataset", "standardize_dtype", "text_dataset_from_directory",
    "timeseries_dataset_from_array", "to_categorical", "unpack_x_y_sample_weight",
]
