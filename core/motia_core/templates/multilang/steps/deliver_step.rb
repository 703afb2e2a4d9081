# The Ruby hop: marks the greeting delivered.
def config
  {
    "type" => "event",
    "name" => "Deliver",
    "description" => "Marks the greeting delivered (Ruby)",
    "subscribes" => ["hello.greeted"],
    "emits" => [],
    "input" => { "type" => "object", "properties" => { "message" => { "type" => "string" } }, "required" => ["message"] },
    "flows" => ["hello"]
  }
end

def handler(input, context)
  greeting = context.state.get("greetings", context.trace_id) || { "hops" => [] }
  greeting["hops"] << "ruby"
  greeting["status"] = "greeted"
  context.state.set("greetings", context.trace_id, greeting)
  context.logger.info("greeting delivered", { "message" => input["message"] })
end
