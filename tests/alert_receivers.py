"""Local receivers for the alert channels, on 127.0.0.1 only.

``HttpReceiver`` stands in for Slack, PagerDuty and generic webhooks: it
records every request and answers with a status chosen per path (so one
path can fail with 500 while the others succeed). ``SmtpReceiver`` is an
aiosmtpd server that records every message and accepts one login.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = ["HttpReceiver", "ReceivedRequest", "SmtpReceiver", "ReceivedMail", "free_port"]


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    """An HTTP server on loopback recording requests; ``status[path]`` sets the answer (default 200)."""

    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self.status: dict[str, int] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._lock:
                    receiver.requests.append(ReceivedRequest("POST", self.path, dict(self.headers.items()), body))
                    status = receiver.status.get(self.path, 200)
                answer = b'{"status": "success"}' if status < 400 else b"upstream_error"
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:  # keep test output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def at(self, path: str) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def __enter__(self) -> "HttpReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    raw: bytes
    login: str | None = None

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)


@dataclass
class _Handler:
    messages: list[ReceivedMail] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                                          login))
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A loopback port nothing listens on (a receiver binds it next, or a test expects a refusal)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpReceiver:
    """An SMTP server on loopback (no TLS) that accepts ``username``/``password`` and records mail."""

    def __init__(self, username: str = "alerts", password: str = "smtp-pass-0123") -> None:
        self._handler = _Handler()
        self.username, self.password = username, password
        self.port = free_port()

        def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
            ok = isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) == (
                self.username, self.password)
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port,
                                      authenticator=authenticate, auth_require_tls=False)

    @property
    def messages(self) -> list[ReceivedMail]:
        return self._handler.messages

    def __enter__(self) -> "SmtpReceiver":
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()
