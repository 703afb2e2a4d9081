# frozen_string_literal: true

require_relative "test_helper"
require "open3"
require "rbconfig"

# YJIT: the core starts the runner with `ruby --yjit --yjit-exec-mem-size=4`
# (core/motia_core/builtin_runners.py); the runner says so in Hello's runtime_version.
class YjitTest < Minitest::Test
  LIB = File.expand_path("../lib", __dir__)
  CLEAN = { "RUBY_YJIT_ENABLE" => nil, "RUBYOPT" => nil }.freeze
  VERSION_SCRIPT = 'require "motia_runner/session"; print MotiaRunner::Session.runtime_version'

  def ruby(*flags, script)
    out, err, status = Open3.capture3(CLEAN, RbConfig.ruby, *flags, "-I", LIB, "-e", script)
    assert status.success?, "ruby failed: #{err}"
    out
  end

  def test_hello_names_yjit_when_it_runs
    skip "this ruby has no YJIT" unless ruby("--yjit", "print(defined?(RubyVM::YJIT) && RubyVM::YJIT.enabled? ? 1 : 0)") == "1"

    assert_equal "#{RUBY_ENGINE} #{RUBY_VERSION}p#{RUBY_PATCHLEVEL} +YJIT",
                 ruby("--yjit", "--yjit-exec-mem-size=4", VERSION_SCRIPT)
  end

  def test_hello_has_the_plain_version_without_yjit
    assert_equal "#{RUBY_ENGINE} #{RUBY_VERSION}p#{RUBY_PATCHLEVEL}", ruby(VERSION_SCRIPT)
  end
end
