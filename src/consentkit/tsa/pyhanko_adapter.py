"""A pyHanko :class:`TimeStamper` backed by a consentkit responder (the embedded TSA or the HTTP failover client).

pyHanko asks for one dummy token per hash algorithm (to size the signature) and caches it on the instance, so one
instance is kept per process and reused for every signature (one of the speed fixes in signing-notes.md)."""

from __future__ import annotations

from typing import Any, Protocol

from asn1crypto import tsp
from pyhanko.sign.timestamps.api import TimeStamper


class Responder(Protocol):
    name: str

    def answer(self, request: tsp.TimeStampReq) -> Any: ...


class ResponderTimeStamper(TimeStamper):
    def __init__(self, responder: Responder) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self.responder = responder

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        answer_async = getattr(self.responder, "async_answer", None)
        # same fields as tsp.TimeStampResp; the token may be absent (a refusal)
        response: tsp.TimeStampResp = await answer_async(req) if answer_async else self.responder.answer(req)
        return response
