# GET /greetings/:traceId reads what the two other steps wrote.
def config
  {
    "type" => "api",
    "name" => "GetGreeting",
    "description" => "Reads a greeting by the trace id POST /hello answered",
    "method" => "GET",
    "path" => "/greetings/:traceId",
    "emits" => [],
    "flows" => ["hello"]
  }
end

def handler(req, context)
  greeting = context.state.get("greetings", req["pathParams"]["traceId"])
  return { "status" => 404, "body" => { "error" => "no such greeting" } } if greeting.nil?

  { "status" => 200, "body" => greeting }
end
