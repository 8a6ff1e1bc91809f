import os

# Real Keras is a test-time oracle only, and must run on the torch backend (never TensorFlow/JAX).
os.environ.setdefault("KERAS_BACKEND", "torch")
