# API no-op in Ruby (copied into the bench project only when runners/ruby/bin/motia-ruby-runner exists).
def config
  { "type" => "api", "name" => "NoopRb", "method" => "GET", "path" => "/noop/rb", "emits" => [], "flows" => ["bench"] }
end

def handler(_req, _context)
  { "status" => 200, "body" => { "ok" => true } }
end
