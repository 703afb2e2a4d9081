# frozen_string_literal: true

# The Ruby step API of motia-core: what a step's handler receives.
#
#   Motia::Context   ctx: trace_id/traceId, flows, logger, state, emit, streams, cancelled?
#   Motia::Data      a Hash with string keys and dot access (requests, event data, state values)
#   Motia::Error, Motia::CallError, Motia::StreamNotDeclaredError
#   Motia::RetryAfter, Motia::NonRetryable   raised by a handler to steer the retry of its failure
#   Motia::Cancelled  the core cancelled the invocation (an Exception, not a StandardError)
#
# Step files need not require this file: the runner loads it before any step.
require_relative "motia/errors"
require_relative "motia/data"
require_relative "motia/context"
