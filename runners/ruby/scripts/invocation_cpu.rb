# frozen_string_literal: true

# CPU of one invocation on a worker thread, in-process: the API no-op handler's StartInvocation
# through Invocations#run (payload decode, context, handler, result encoding, the outbox queue),
# without gRPC or thread hand-offs. Compares runner trees interleaved (ABBA) in fresh processes:
#
#   ruby runners/ruby/scripts/invocation_cpu.rb [--rounds 4] LIB_DIR [LIB_DIR ...]
#
# e.g. runners/ruby/lib against `git archive HEAD runners/ruby | tar -x -C /tmp/old`'s
# /tmp/old/runners/ruby/lib. Prints each process's thread CPU per invocation and the median per tree.

if ENV["MOTIA_INVOCATION_CPU_CHILD"]
  $LOAD_PATH.unshift(ARGV.fetch(0))
  require "motia"
  require "motia_runner/session"
  pb = MotiaRunner::PB
  outbox = MotiaRunner::Outbox.new
  router = MotiaRunner::CallRouter.new(outbox)
  handler = ->(_req, _ctx) { { "status" => 200, "body" => { "ok" => true } } }
  step = MotiaRunner::LoadedStep.new(step_id: "s", relative_path: "s.rb", type: "api", config: {}, middleware: [],
                                     handler: handler)
  invocations = MotiaRunner::Invocations.new(steps: { "s" => step }, router: router, outbox: outbox,
                                             pool: MotiaRunner::WorkerPool.new(max_threads: 1))
  # As the core sends it (bench/projects noop, GET with no body), decoded from bytes like the reader does.
  start = pb::StartInvocation.decode(pb::StartInvocation.encode(pb::StartInvocation.new(
    invocation_id: "39d67732e99f31", step_id: "s", attempt: 1, fencing_token: 48, deadline_unix_ms: 1_796_664_649_869,
    trace_id: "JKWB1-4619868", flows: ["bench"], trigger: :TRIGGER_API, http_body: pb::HttpRequestBody.new,
    payload_json: '{"body":{},"headers":{"host":"127.0.0.1:19745"},"pathParams":{},"queryParams":{}}'
  )))
  queue = outbox.instance_variable_get(:@queue) # nothing writes here: drop what piles up
  run = lambda do |n|
    started = Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID)
    n.times do |i|
      invocations.send(:run, start, step, MotiaRunner::Running.new(start.invocation_id, 1))
      queue.clear if (i % 16).zero?
    end
    (Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID) - started) / n * 1e6
  end
  run.call(5_000) # warm-up
  puts format("%.2f", run.call(30_000))
  exit
end

rounds = 4
if ARGV.first == "--rounds"
  ARGV.shift
  rounds = Integer(ARGV.shift)
end
abort("usage: invocation_cpu.rb [--rounds N] LIB_DIR [LIB_DIR ...]") if ARGV.empty?
results = Hash.new { |h, k| h[k] = [] }
rounds.times do |r|
  (r.even? ? ARGV : ARGV.reverse).each do |lib|
    out = IO.popen({ "MOTIA_INVOCATION_CPU_CHILD" => "1" }, [RbConfig.ruby, __FILE__, lib], &:read)
    abort("invocation_cpu.rb: the run with #{lib} failed") unless $?.success?
    results[lib] << Float(out)
    puts "round #{r + 1} #{lib}: #{out.strip} us"
  end
end
results.each do |lib, values|
  sorted = values.sort
  median = sorted.size.odd? ? sorted[sorted.size / 2] : (sorted[sorted.size / 2 - 1] + sorted[sorted.size / 2]) / 2
  puts format("%<lib>s: median %<median>.1f us per invocation (%<runs>d runs: %<all>s)",
              lib: lib, median: median, runs: values.size, all: sorted.map { |v| v.round(1) }.join(", "))
end
