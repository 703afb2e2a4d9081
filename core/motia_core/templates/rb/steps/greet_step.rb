# A Ruby event step: writes the greeting for every hello.sent.
def config
  {
    "type" => "event",
    "name" => "Greet",
    "description" => "Writes the greeting",
    "subscribes" => ["hello.sent"],
    "emits" => [],
    "input" => { "type" => "object", "properties" => { "name" => { "type" => "string" } }, "required" => ["name"] },
    "flows" => ["hello"]
  }
end

def handler(input, context)
  greeting = context.state.get("greetings", context.trace_id) || { "hops" => [] }
  greeting["hops"] << "ruby"
  greeting["status"] = "greeted"
  greeting["message"] = "Hello, #{input['name']}!"
  context.state.set("greetings", context.trace_id, greeting)
  context.logger.info("greeted", { "name" => input["name"] })
end
