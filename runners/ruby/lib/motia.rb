# frozen_string_literal: true

# The Ruby step API of motia-core: what a step's handler receives.
#
#   Motia::Context   ctx: trace_id/traceId, flows, logger, state, emit, streams
#   Motia::Data      a Hash with string keys and dot access (requests, event data, state values)
#   Motia::Error, Motia::CallError, Motia::StreamNotDeclaredError
#
# Step files need not require this file: the runner loads it before any step.
require_relative "motia/errors"
require_relative "motia/data"
require_relative "motia/context"
