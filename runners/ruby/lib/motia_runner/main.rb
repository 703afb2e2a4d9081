# frozen_string_literal: true

require_relative "errors"
require_relative "settings"
require_relative "stdin_watch"

module MotiaRunner
  # The runner process: settings, process set-up, the session, the exit code.
  module Main
    module_function

    def run
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      settings = begin
        Settings.from_env
      rescue SettingsError => e
        warn("motia runner: #{e.message}")
        return ExitCode::ENVIRONMENT
      end
      configure_process
      StdinWatch.start
      begin
        require_relative "session"
        require_relative "../motia"
      rescue ::LoadError => e
        warn("motia runner: cannot load grpc / google-protobuf under #{RUBY_DESCRIPTION}: #{e.message}\n" \
             "  fix: apt-get install ruby-grpc (Debian's package; the runner needs no other gem)")
        return ExitCode::ENVIRONMENT
      end
      if settings.debug
        ms = ((Process.clock_gettime(Process::CLOCK_MONOTONIC) - started) * 1000).round(1)
        warn("motia runner: libraries loaded in #{ms} ms; connecting to #{settings.address}")
      end
      Session.new(settings).run
    rescue ::Exception => e # rubocop:disable Lint/RescueException -- a bug of ours: say so, exit 1
      raise if e.is_a?(::SystemExit)

      warn("motia runner: internal error: #{e.class}: #{e.message}\n#{(e.backtrace || []).first(15).join("\n")}")
      ExitCode::FAILED
    end

    # Exit without running at_exit handlers or waiting for threads: handler threads still
    # running after a Shutdown's grace period are abandoned, and grpc's own exit handler can block.
    def exit_now(code)
      $stdout.flush
      $stderr.flush
    rescue IOError
      nil
    ensure
      Process.exit!(code)
    end

    def configure_process
      # Lines printed by handlers reach the core (which logs stdout/stderr line by line) at once.
      $stdout.sync = true
      $stderr.sync = true
      # Ctrl-C in the core's terminal reaches the whole process group; the core decides when we stop.
      trap("INT", "IGNORE") unless $stdin.tty?
      # SIGTERM: drain (Session#on_sigterm: Draining to the core, finish the work in flight, exit 0).
      # A trap may not take locks, so the drain starts on a thread of its own. Before the session
      # exists nothing is in flight: exit at once. After a completed drain it is the normal end
      # (the core may terminate a stopping runner as soon as its stream closes): exit 0 quietly.
      trap("TERM") do
        Process.exit!(ExitCode::OK) if MotiaRunner.drained?

        handler = MotiaRunner.on_sigterm
        if handler.nil?
          $stderr.syswrite("motia runner: SIGTERM before connecting; exiting\n")
          Process.exit!(ExitCode::OK)
        end
        Thread.new(&handler).name = "motia-sigterm"
      end
      # A handler's own threads that die are reported on stderr, and never abort the process.
      Thread.abort_on_exception = false
    end
  end
end
