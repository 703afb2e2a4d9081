"""Go steps for motia-core: collect the project's Go files, build one runner binary, run it."""

__version__ = "0.1.0"
