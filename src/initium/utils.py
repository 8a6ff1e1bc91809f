"""Keras's ``keras.utils`` names that exist so far."""

from initium.random import set_random_seed
from initium.saving import custom_object_scope, get_registered_name, register_keras_serializable

__all__ = ["set_random_seed", "register_keras_serializable", "get_registered_name", "custom_object_scope"]
