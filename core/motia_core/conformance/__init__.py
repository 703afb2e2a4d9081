"""Runner conformance kit (see docs/writing-a-runner.md)."""
