"""Keras's ``keras.utils`` names that exist so far."""

from initium.backend import clear_session
from initium.random import set_random_seed
from initium.saving import custom_object_scope, get_registered_name, register_keras_serializable

__all__ = ["clear_session", "set_random_seed", "register_keras_serializable", "get_registered_name", "custom_object_scope"]
