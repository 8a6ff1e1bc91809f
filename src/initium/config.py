"""Keras's ``keras.config``: global settings (float type, fuzz factor, image layout, backend name)."""

from initium.backend import backend, epsilon, floatx, image_data_format, set_epsilon, set_floatx, set_image_data_format

__all__ = ["backend", "epsilon", "floatx", "image_data_format", "set_epsilon", "set_floatx", "set_image_data_format"]
