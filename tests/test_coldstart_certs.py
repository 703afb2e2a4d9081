"""Cold start (issue 15 item 4): the core imports aiohttp without loading the CA bundle into its two
default client TLS contexts (core/motia_core/lazy_certs.py), and a client call still verifies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Runs in a fresh interpreter (aiohttp must not be imported yet): the cold path's import_core, then
# a real HTTPS request through aiohttp's default connector to a local server whose certificate only
# the CA in SSL_CERT_FILE signed. Prints what the contexts held before and after.
PROBE = r"""
import asyncio, json, ssl, sys
from motia_core.coldstart import import_core
import_core()
from aiohttp import ClientSession, connector, web

def cas():
    return [connector._SSL_CONTEXT_VERIFIED.cert_store_stats()["x509_ca"],
            connector._SSL_CONTEXT_UNVERIFIED.cert_store_stats()["x509_ca"]]

async def main():
    before = cas()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    app = web.Application()
    app.router.add_get("/", lambda request: web.Response(text="ok"))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    async with ClientSession() as session:
        async with session.get(f"https://localhost:{port}/") as resp:
            body = await resp.text()
    await runner.cleanup()
    print(json.dumps({"before": before, "after": cas(), "body": body}))

asyncio.run(main())
"""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca_and_server_cert(tmp: Path) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=motia-test-ca", cwd=tmp)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=tmp)  # fmt: skip
    (tmp / "ext.cnf").write_text("subjectAltName=DNS:localhost\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf", cwd=tmp)  # fmt: skip


def test_aiohttp_imported_on_the_cold_path_loads_its_cas_at_the_first_client_call(tmp_path: Path) -> None:
    _ca_and_server_cert(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "SSL_CERT_FILE": str(tmp_path / "ca.pem"), "SSL_CERT_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "server.pem"), str(tmp_path / "server.key")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "PYTHONPATH": ":".join(sys.path)},
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["before"] == [0, 0]  # the import loaded no CA into either context
    assert seen["after"][0] == 1  # the verified context got SSL_CERT_FILE's CA before it was used...
    assert seen["body"] == "ok"  # ...so the server's certificate verified against it


def test_an_aiohttp_already_imported_is_left_alone() -> None:
    code = (
        "import aiohttp\n"
        "from motia_core.lazy_certs import import_aiohttp\n"
        "from aiohttp import connector\n"
        "print(import_aiohttp(), connector._SSL_CONTEXT_VERIFIED.cert_store_stats()['x509_ca'] > 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["False", "True"]
