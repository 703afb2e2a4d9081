"""motia_runner: the Python language runner of motia-core.

The core starts it as ``<python> <path>/motia_runner/bootstrap.py`` (or ``python -m motia_runner``);
it connects back over one gRPC stream, imports the step files the core names and runs their
handlers concurrently. See runners/python/README.md.
"""
