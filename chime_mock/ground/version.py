"""The package version, in the ground floor so every layer may read it."""
__version__ = "0.2.0"
