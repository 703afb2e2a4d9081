"""The scenarios. Each one starts what it needs, measures, stops it, and writes into `results`.

Layout (`--layout split`, the default): every server under test (motia-core with its runners, the
bare aiohttp server, classic Motia with Redis and its per-call children) runs on CPU 0, and every
load generator (wrk, the chain and streams drivers) on CPU 1, so the load generator never takes CPU from the
server and each server gets the same budget: one core.

One module per scenario: suite_api.py (API, open loop, payloads, chains, profile), suite_streams.py,
suite_transport.py (gRPC ping-pong), suite_startup.py (cold start, import floors), suite_classic.py,
suite_redis.py (the chain on SQLite / Redis x1 / Redis x2 / BullMQ, its own CPU layout),
suite_record.py (what recording logs and span events costs: `serve` vs `serve --no-record`);
what they share (paths, Layout, Durations, SuiteBase) is in suite_base.py.
"""

from __future__ import annotations

from benchlib.suite_api import ApiScenarios
from benchlib.suite_base import BENCH_DIR, Layout
from benchlib.suite_classic import ClassicScenario
from benchlib.suite_record import RecordScenario
from benchlib.suite_redis import RedisScenario
from benchlib.suite_startup import StartupScenarios
from benchlib.suite_streams import StreamsScenario
from benchlib.suite_transport import TransportScenario

__all__ = ["BENCH_DIR", "Layout", "Suite"]


class Suite(
    ApiScenarios, RecordScenario, StreamsScenario, RedisScenario, TransportScenario, StartupScenarios, ClassicScenario
):
    """Every scenario, one method each (run.py calls them in turn); shared state and helpers in
    suite_base.SuiteBase."""
