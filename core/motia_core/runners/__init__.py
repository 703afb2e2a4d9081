"""Language runners: the transport interface, its gRPC implementation, and process supervision."""

import os

from motia_core.runners import grpc_polling

# The core forks runner processes while grpc threads run; grpc's fork handlers only log noise then.
# Set before any module of this package imports grpc.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

# Before any module of this package imports grpc, which reads GRPC_EXPERIMENTS once, at import
# (grpc_polling.py says why; grpc_session.py takes the variable back out once grpc is in).
grpc_polling.choose()
