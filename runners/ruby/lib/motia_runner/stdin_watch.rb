# frozen_string_literal: true

require_relative "errors"

module MotiaRunner
  # Exit the moment the core goes away: its end of our stdin pipe closes (even on kill -9).
  #
  # A thread blocks on reading stdin (the read releases the GVL, so it works whatever handlers
  # do). Only a pipe or a socket is watched: a terminal or /dev/null (running the runner by hand)
  # is not.
  module StdinWatch
    module_function

    # Start the watcher thread; false when stdin is not a pipe or a socket.
    def start(input = $stdin)
      stat = input.stat
      return false unless stat.pipe? || stat.socket?

      thread = Thread.new do
        begin
          nil while input.readpartial(65_536)
        rescue EOFError, IOError, SystemCallError
          nil
        end
        gone
      end
      thread.name = "motia-stdin-watch"
      thread.report_on_exception = false
      true
    rescue IOError, SystemCallError
      false
    end

    def gone
      $stderr.write("motia runner: stdin closed (the core went away); exiting\n")
      $stdout.flush
      $stderr.flush
    ensure
      Process.exit!(ExitCode::FAILED)
    end
  end
end
