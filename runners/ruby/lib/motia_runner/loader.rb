# frozen_string_literal: true

require_relative "backtrace"
require_relative "config_json"
require_relative "errors"

module MotiaRunner
  # A step file that loaded: what the invocations need to run it. `inline_record`: what
  # InlinePolicy learned from its runs (nil until the first).
  LoadedStep = Struct.new(
    :step_id, :path, :relative_path, :type, :config, :config_json, :handler, :middleware, :inline_record,
    keyword_init: true
  )

  # A step file that did not load (becomes a protocol LoadError).
  LoadFailure = Struct.new(:step_id, :error_type, :message, :stack, keyword_init: true)

  # Loads Ruby step files, each into its own anonymous module.
  #
  # A step file defines top-level `config` and `handler` methods. Evaluated as is, every file
  # would define them on Object and the last one would win, so each file is evaluated with
  # `module_eval` in a fresh anonymous module that extends itself: its `def`s, constants, classes
  # and top-level instance variables stay inside that module, `self` is the module both at the top
  # level and inside the methods (as it is `main` in a plain script), and `__FILE__`, `__dir__`,
  # `require_relative` and backtraces point at the real file. Every load reads the file afresh, so
  # a hot reload (LoadSteps again) runs the new source in a new module.
  #
  # Files the steps `require` from the project are shared by every step (they load once). When
  # one of them changed on disk since the previous LoadSteps, they are all forgotten from
  # $LOADED_FEATURES so the steps' next `require` runs the new version.
  #
  # Nothing a file does at load time stops the runner: syntax errors, exceptions, `exit` and a
  # missing or non-JSON config all become a LoadFailure naming the file and line.
  class Loader
    KERNEL_METHOD = ::Kernel.instance_method(:method)
    LIBRARY_DIRS = %w[vendor node_modules .bundle .motia .git python_modules .venv venv].freeze

    attr_reader :project_dir

    def initialize(project_dir)
      @project_dir = File.expand_path(project_dir)
      @prefix = "#{@project_dir}/"
      real = File.realpath(@project_dir) rescue @project_dir # rubocop:disable Style/RescueModifier
      @feature_prefixes = [@prefix, "#{real}/"].uniq.freeze # $LOADED_FEATURES may hold real paths
      @features = {}
      # `require "lib/pricing"` finds project files; installed libraries still win a name clash.
      $LOAD_PATH.push(@project_dir) unless $LOAD_PATH.include?(@project_dir)
    end

    # files: objects answering step_id, path, relative_path. Returns [loaded, failures].
    def load(files)
      forget_changed_features
      loaded = []
      failures = []
      files.each do |file|
        result = load_one(file.step_id, file.path, file.relative_path)
        (result.is_a?(LoadedStep) ? loaded : failures) << result
      end
      remember_features
      [loaded, failures]
    end

    def load_one(step_id, path, relative_path)
      relative_path = relative(path) if relative_path.nil? || relative_path.empty?
      mod = step_module(relative_path)
      begin
        source = File.read(path, mode: "r:UTF-8")
        mod.module_eval(source, path, 1)
      rescue ::SignalException
        raise
      rescue ::Exception => e # rubocop:disable Lint/RescueException -- any failure of user code is a LoadError
        return failure(step_id, e)
      end
      build(step_id, path, relative_path, mod)
    end

    private

    def step_module(relative_path)
      mod = Module.new
      mod.extend(mod) # `def handler` is callable on the module, with self == the module
      label = "#<motia step #{relative_path}>"
      mod.define_singleton_method(:inspect) { label }
      mod.define_singleton_method(:to_s) { label }
      mod
    end

    def build(step_id, path, relative_path, mod)
      config_method = own_method(mod, :config)
      if config_method.nil?
        return config_failure(step_id, "no `config` export: #{relative_path} must define a top-level " \
                                       "`def config` returning a Hash")
      end

      config = begin
        config_method.call
      rescue ::SignalException
        raise
      rescue ::Exception => e # rubocop:disable Lint/RescueException
        return failure(step_id, e)
      end
      where = location(config_method)
      unless config.is_a?(::Hash)
        return config_failure(step_id, "`config` must return a Hash, got #{config.class} (#{where})")
      end

      begin
        config_json = ConfigJson.dump(config)
      rescue ConfigNotJsonError => e
        return config_failure(step_id, "#{e.message} (#{where})")
      end
      type = config.key?("type") ? config["type"] : config[:type]
      LoadedStep.new(
        step_id: step_id, path: path, relative_path: relative_path, type: type.to_s,
        config: config, config_json: config_json, handler: own_method(mod, :handler),
        middleware: ConfigJson.middleware(config).freeze
      )
    end

    # The step file's own `name` method (def name / def self.name), never one inherited from Object.
    def own_method(mod, name)
      defined = mod.method_defined?(name, false) || mod.private_method_defined?(name, false) ||
                mod.singleton_class.method_defined?(name, false) ||
                mod.singleton_class.private_method_defined?(name, false)
      defined ? KERNEL_METHOD.bind_call(mod, name) : nil
    end

    def location(method)
      file, line = method.source_location
      file ? "#{relative(file)}:#{line}" : relative(method.owner.to_s)
    end

    def failure(step_id, error)
      type = Backtrace.class_name(error)
      text = Backtrace.message_of(error)
      message = if error.is_a?(::SyntaxError)
                  relative_paths(text)
                else
                  at = Backtrace.project_location(error, @project_dir)
                  at ? "#{relative_paths(text)} (#{at})" : relative_paths(text)
                end
      LoadFailure.new(step_id: step_id, error_type: type, message: message, stack: Backtrace.format(error))
    end

    def config_failure(step_id, message)
      LoadFailure.new(step_id: step_id, error_type: "ConfigError", message: message, stack: "")
    end

    def relative(path)
      path.to_s.delete_prefix(@prefix)
    end

    def relative_paths(text)
      text.gsub(@prefix, "")
    end

    # -- helpers required from the project ---------------------------------------------------------

    def project_feature?(path)
      prefix = @feature_prefixes.find { |candidate| path.start_with?(candidate) }
      !prefix.nil? && !LIBRARY_DIRS.intersect?(path.delete_prefix(prefix).split("/"))
    end

    def stamp(path)
      stat = File.stat(path)
      [stat.mtime.to_r, stat.size]
    rescue SystemCallError
      nil
    end

    def forget_changed_features
      return if @features.none? { |path, seen| stamp(path) != seen }

      $LOADED_FEATURES.reject! { |path| project_feature?(path) }
      @features = {}
    end

    def remember_features
      $LOADED_FEATURES.each do |path|
        @features[path] ||= stamp(path) if project_feature?(path)
      end
    end
  end
end
