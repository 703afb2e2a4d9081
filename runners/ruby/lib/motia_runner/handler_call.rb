# frozen_string_literal: true

module MotiaRunner
  # Calling a step's handler the way its trigger wants it:
  #
  #   API   -> config["middleware"] in order as mw(req, ctx, next_fn), then handler(req, ctx)
  #   EVENT -> handler(data, ctx)
  #   CRON  -> handler(ctx)
  #   STREAM_AUTH -> handler(request, ctx)   (the stream auth file; request: {headers, url, authToken})
  #
  # `next_fn.call` (no arguments) runs the next middleware, finally the handler, and returns its
  # result; a middleware may answer without calling it, or change `req` first. A handler or
  # middleware that declares fewer parameters gets only the first ones (`def handler(ctx)` for an
  # event step that ignores its input works).
  module HandlerCall
    module_function

    # trigger: :TRIGGER_API | :TRIGGER_EVENT | :TRIGGER_CRON | :TRIGGER_STREAM_AUTH
    # (STREAM_ACCESS calls a config's canAccess, not a handler: see Invocations#can_access.)
    def run(step, trigger, payload, context)
      case trigger
      when :TRIGGER_API
        return invoke(step.handler, [payload, context]) if step.middleware.empty?

        chain(step.middleware, step.handler, payload, context, 0)
      when :TRIGGER_CRON then invoke(step.handler, [context])
      else invoke(step.handler, [payload, context])
      end
    end

    SUPPORTED = %i[TRIGGER_API TRIGGER_EVENT TRIGGER_CRON TRIGGER_STREAM_AUTH].freeze

    # The trigger to run a step as: the StartInvocation's, or the config's type when unspecified;
    # nil for a trigger this runner does not support (a newer core).
    def effective_trigger(trigger, step)
      return trigger if SUPPORTED.include?(trigger)
      return nil unless trigger == :TRIGGER_UNSPECIFIED || trigger == 0

      case step.type
      when "api" then :TRIGGER_API
      when "cron" then :TRIGGER_CRON
      else :TRIGGER_EVENT
      end
    end

    def chain(middleware, handler, req, context, index)
      return invoke(handler, [req, context]) if index >= middleware.size

      next_fn = -> { chain(middleware, handler, req, context, index + 1) }
      invoke(middleware[index], [req, context, next_fn])
    end

    def invoke(callable, args)
      arity = callable.respond_to?(:arity) ? callable.arity : -1
      args = args.first(arity) if arity >= 0 && arity < args.size
      callable.call(*args)
    end
  end
end
