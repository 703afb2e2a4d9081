"""One raw HTTP exchange for tests/test_security.py, in-process or as a script run inside a network
namespace (`python tests/security_client.py '<json spec>'` prints the JSON result). http.client
sends exactly the headers given (a Host header included), which is what these tests need."""

from __future__ import annotations

import base64
import http.client
import json
import sys
import urllib.parse
from typing import Any


def exchange(spec: dict[str, Any]) -> dict[str, Any]:
    """spec: {url, method?, headers?: {name: value}, body_b64?} -> {status, headers: [[name, value]], body_b64}."""
    url = urllib.parse.urlsplit(spec["url"])
    conn = http.client.HTTPConnection(url.hostname or "", url.port or 80, timeout=15)
    try:
        path = url.path + (f"?{url.query}" if url.query else "")
        body = base64.b64decode(spec["body_b64"]) if spec.get("body_b64") is not None else None
        conn.request(spec.get("method", "GET"), path or "/", body=body, headers=spec.get("headers") or {})
        resp = conn.getresponse()
        return {
            "status": resp.status,
            "headers": [[k, v] for k, v in resp.getheaders()],
            "body_b64": base64.b64encode(resp.read()).decode(),
        }
    finally:
        conn.close()


if __name__ == "__main__":
    print(json.dumps(exchange(json.loads(sys.argv[1]))))
