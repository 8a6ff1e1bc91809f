"""Datasets that never download: scikit-learn's bundled digits, and MNIST from local files."""

from initium.datasets import digits, mnist

__all__ = ["digits", "mnist"]
