"""Language runners: the transport interface, its gRPC implementation, and process supervision."""

import os

# The core forks runner processes while grpc threads run; grpc's fork handlers only log noise then.
# Set before any module of this package imports grpc.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
