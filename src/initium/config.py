"""Keras's ``keras.config`` names that exist so far."""

from initium.backend import floatx, set_floatx

__all__ = ["floatx", "set_floatx"]
