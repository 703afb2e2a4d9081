# frozen_string_literal: true

module MotiaRunner
  # How the runner process ends.
  module ExitCode
    OK = 0          # the core sent Shutdown and we drained
    FAILED = 1      # the stream ended or failed without a Shutdown, or stdin reached EOF
    REFUSED = 2     # the core answered Hello with a Refusal
    ENVIRONMENT = 3 # the environment cannot run the runner (missing variable, grpc not loadable)
  end

  @drained = false

  # True once a Shutdown's drain finished and the stream was half-closed: from then on, any end
  # of the process is a clean one (exit 0).
  def self.drained?
    @drained
  end

  def self.drained!
    @drained = true
  end

  @on_sigterm = nil

  # What SIGTERM does once a Session runs (the trap in Main starts it on a thread of its own).
  class << self
    attr_accessor :on_sigterm
  end

  # Base of the errors the runner raises on purpose. Errors inside step code never escape as
  # these: load failures become LoadError records and handler failures Failed results.
  class RunnerError < StandardError; end

  # An environment variable is missing or malformed (exit 3).
  class SettingsError < RunnerError; end

  # The core refused the handshake (exit 2).
  class RefusedError < RunnerError; end

  # The core sent something the protocol does not allow at this point (exit 1).
  class ProtocolError < RunnerError; end

  # A value in a step's `config` cannot be sent as JSON; the message names the field path.
  class ConfigNotJsonError < RunnerError; end

  # A value (handler result, emit data, state value) cannot be encoded as JSON; names the path.
  class NotJsonError < RunnerError; end

  # An envelope is larger than the negotiated maximum message size.
  class MessageTooLargeError < RunnerError
    attr_reader :size, :limit

    def initialize(message, size, limit)
      super(message)
      @size = size
      @limit = limit
    end
  end
end
