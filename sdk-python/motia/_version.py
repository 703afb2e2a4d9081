"""The SDK version, reported by the runner in its Hello."""

__version__ = "0.1.0"
