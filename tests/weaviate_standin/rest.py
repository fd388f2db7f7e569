"""The REST side of the stand-in: meta, readiness, liveness and the schema endpoints.

``/v1/meta``, ``/v1/.well-known/{ready,live,openid-configuration}``,
``GET/POST /v1/schema`` and ``GET/DELETE /v1/schema/{Class}``: what
weaviate-client v4 calls over REST for connecting, creating and reading a
collection. Errors use the server's body shape ``{"error": [{"message": ...}]}``.
HTTP/1.0, one request per connection, so a stopped server is unreachable at once.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.weaviate_standin.schema import SchemaError
from tests.weaviate_standin.state import StandInState

__all__ = ["make_rest_server"]


def make_rest_server(state: StandInState, version: str, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

        def _send(self, status: int, body=None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str) -> None:
            self._send(status, {"error": [{"message": message}]})

        def _handle(self, method: str) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            state.calls.append(f"rest {method} {path}")
            if state.faults.delay:
                time.sleep(state.faults.delay)
            if state.faults.rest_status:
                return self._error(state.faults.rest_status, "stand-in: injected failure")
            if state.api_key and not path.startswith("/v1/.well-known"):
                if self.headers.get("Authorization") != f"Bearer {state.api_key}":
                    return self._error(401, "anonymous access not enabled, please provide an auth scheme")
            route = (method, path)
            if route == ("GET", "/v1/meta"):
                return self._send(200, {"hostname": "http://[::]:8080", "modules": {}, "version": version,
                                        "grpcMaxMessageSize": 104858000})
            if route in {("GET", "/v1/.well-known/ready"), ("GET", "/v1/.well-known/live")}:
                return self._send(200)
            if route == ("GET", "/v1/.well-known/openid-configuration"):
                return self._send(404)
            if route == ("GET", "/v1/schema"):
                with state.lock:
                    return self._send(200, {"classes": list(state.classes.values())})
            if route == ("POST", "/v1/schema"):
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    return self._send(200, state.create_class(json.loads(self.rfile.read(length) or b"{}")))
                except SchemaError as exc:
                    return self._error(422, str(exc))
            if path.startswith("/v1/schema/") and path.count("/") == 3:
                name = path.rsplit("/", 1)[1]
                if method == "GET":
                    cls = state.classes.get(name)
                    return self._send(200, cls) if cls else self._send(404)
                if method == "DELETE":
                    state.delete_class(name)
                    return self._send(200)
            return self._error(404 if method == "GET" else 405, f"stand-in does not serve {method} {path}")

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def do_PUT(self) -> None:
            self._handle("PUT")

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
