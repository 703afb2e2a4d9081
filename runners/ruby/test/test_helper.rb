# frozen_string_literal: true

# Unit tests of the Ruby runner: `ruby runners/ruby/test/run.rb` (tests/test_ruby_wire_lifecycle.py runs them too).
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "minitest/autorun"
require "motia"
require "motia_runner/session"
