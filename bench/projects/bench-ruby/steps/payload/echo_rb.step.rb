# Payload scenario in Ruby: the request body comes back as the response body.
def config
  { "type" => "api", "name" => "EchoRb", "method" => "POST", "path" => "/echo/rb", "emits" => [], "flows" => ["bench"] }
end

def handler(req, _context)
  { "status" => 200, "body" => req["body"] }
end
