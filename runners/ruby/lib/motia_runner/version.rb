# frozen_string_literal: true

module MotiaRunner
  # Version of the runner and its step API, reported in Hello.sdk_version.
  VERSION = "0.1.0"
  # The protocol versions this runner speaks (Hello.protocol_min..protocol_max).
  PROTOCOL_VERSION = 1
end
