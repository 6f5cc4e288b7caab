"""``consentkit tsa serve``: the embedded TSA over HTTP (RFC 3161 §3.4), for other machines of the clinic.

POST a DER TimeStampReq with ``Content-Type: application/timestamp-query`` to any path; the answer is a DER
TimeStampResp with ``Content-Type: application/timestamp-reply``. Requests are small, so bodies over 64 KiB are
refused. Requests are answered one at a time (the key is used from one thread)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Protocol

log = logging.getLogger(__name__)
MAX_REQUEST = 64 * 1024


class Respond(Protocol):
    name: str

    def respond(self, request_der: bytes) -> bytes: ...


def make_server(tsa: Respond, host: str, port: int) -> HTTPServer:
    class Handler(BaseHTTPRequestHandler):
        server_version = "consentkit-tsa"
        sys_version = ""

        def do_POST(self) -> None:
            ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
            if ctype != "application/timestamp-query":
                self._plain(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send application/timestamp-query\n")
                return
            try:
                length = int(self.headers.get("Content-Length", "-1"))
            except ValueError:
                length = -1
            if length < 0 or length > MAX_REQUEST:
                self._plain(HTTPStatus.LENGTH_REQUIRED if length < 0 else HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "")
                return
            body = self.rfile.read(length)
            reply = tsa.respond(body)
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def do_GET(self) -> None:
            self._plain(HTTPStatus.METHOD_NOT_ALLOWED, f"RFC 3161 time-stamping authority: {tsa.name}\n")

        def _plain(self, status: HTTPStatus, text: str) -> None:
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            log.info("%s %s", self.address_string(), format % args)

    return HTTPServer((host, port), Handler)
