"""The package version (a leaf: files record it in their metadata)."""

__version__ = "0.1.0"
