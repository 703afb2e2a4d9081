"""The generated protocol code, imported in one place."""

from __future__ import annotations

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb

CONNECT_METHOD = "/motia.runner.v1.RunnerService/Connect"
PROTOCOL_VERSION = 1
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# Room for the envelope around a payload (ids, stack traces) when checking payload sizes.
ENVELOPE_MARGIN_BYTES = 64 * 1024

__all__ = ["CONNECT_METHOD", "DEFAULT_MAX_MESSAGE_BYTES", "ENVELOPE_MARGIN_BYTES", "PROTOCOL_VERSION", "pb"]
