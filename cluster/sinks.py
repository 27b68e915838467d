"""Where the notifications go during a load or cluster run: an SMTP sink and a webhook sink.

``python -m cluster.sinks HOST SMTP_PORT HTTP_PORT``. Both count what arrives by idempotency key
(the e-mail's Message-ID, the webhook's ``Idempotency-Key`` header); ``GET /counts`` on the HTTP
port answers ``{"email": {key: n}, "webhook": {key: n}}``, so a key seen twice is a double send.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

COUNTS: dict[str, Counter[str]] = {"email": Counter(), "webhook": Counter()}
LOCK = threading.Lock()


class MailHandler:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content)
        key = str(message.get("Message-ID", "")).strip("<>").split("@", 1)[0]
        with LOCK:
            # One notification row per recipient, each its own key: a key seen twice is a double send.
            COUNTS["email"][key] += len(envelope.rcpt_tos)
        return "250 OK"


class WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        with LOCK:
            COUNTS["webhook"][self.headers.get("Idempotency-Key", "")] += 1
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:
        with LOCK:
            body = json.dumps({kind: dict(counter) for kind, counter in COUNTS.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def main() -> int:
    host, smtp_port, http_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    controller = Controller(MailHandler(), hostname=host, port=smtp_port)
    controller.start()
    server = ThreadingHTTPServer((host, http_port), WebhookHandler)
    print(f"sinks: smtp {host}:{smtp_port}, webhook http://{host}:{http_port}/", flush=True)
    try:
        server.serve_forever()
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
