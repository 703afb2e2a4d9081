# frozen_string_literal: true

require_relative "errors"

module MotiaRunner
  # What the core tells the runner through its environment, read once at start.
  #
  #   MOTIA_CORE_ADDRESS   gRPC target used as is, e.g. "unix:/tmp/motia-core-x/runners.sock" (required)
  #   MOTIA_RUNNER_SECRET  per-spawn secret echoed in Hello.secret
  #   MOTIA_PROJECT_DIR    the project root (default: the working directory)
  #   MOTIA_RUNNER_SLOTS   Hello.concurrency_slots: invocations in flight the core may send (default 1024)
  #   MOTIA_RUNNER_THREADS most worker threads running handlers at once (default: the slots)
  #   MOTIA_RUNNER_INLINE  "0" runs every handler on the worker pool (default: short ones inline, reader.rb)
  #   MOTIA_RUNNER_DIRECT_WRITE "0" leaves all writing to the writer thread (default: the reader writes
  #                        the answers to a frame it dispatched, outbox.rb)
  #   MOTIA_RUNNER_DEBUG   "1" prints the runner's own timings and decisions to stderr
  class Settings
    DEFAULT_SLOTS = 1024

    attr_reader :address, :secret, :project_dir, :slots, :threads, :debug, :inline, :direct_write

    def initialize(address:, secret:, project_dir:, slots: DEFAULT_SLOTS, threads: nil, debug: false, inline: true,
                   direct_write: true)
      @address = address
      @secret = secret
      @project_dir = project_dir
      @slots = slots
      @threads = threads || slots
      @debug = debug
      @inline = inline
      @direct_write = direct_write
      freeze
    end

    def self.from_env(env = ENV)
      address = env.fetch("MOTIA_CORE_ADDRESS", "").strip
      if address.empty?
        raise SettingsError, "MOTIA_CORE_ADDRESS is not set: the runner is started by motia-core, " \
                             "which passes the address of its gRPC socket"
      end
      project_dir = env.fetch("MOTIA_PROJECT_DIR", "").strip
      project_dir = Dir.pwd if project_dir.empty?
      slots = positive_int(env, "MOTIA_RUNNER_SLOTS", DEFAULT_SLOTS)
      new(
        address: address,
        secret: env.fetch("MOTIA_RUNNER_SECRET", ""),
        project_dir: File.expand_path(project_dir),
        slots: slots,
        threads: positive_int(env, "MOTIA_RUNNER_THREADS", slots),
        debug: %w[1 true yes].include?(env.fetch("MOTIA_RUNNER_DEBUG", "").strip.downcase),
        inline: !off?(env, "MOTIA_RUNNER_INLINE"), direct_write: !off?(env, "MOTIA_RUNNER_DIRECT_WRITE")
      )
    end

    def self.positive_int(env, name, default)
      raw = env.fetch(name, "").strip
      return default if raw.empty?

      value = Integer(raw, 10, exception: false)
      raise SettingsError, "#{name}=#{raw.inspect} is not an integer" if value.nil?
      raise SettingsError, "#{name}=#{raw.inspect} must be at least 1" if value < 1

      [value, 2**32 - 1].min
    end
    private_class_method :positive_int

    def self.off?(env, name)
      %w[0 false no].include?(env.fetch(name, "").strip.downcase)
    end
    private_class_method :off?
  end
end
