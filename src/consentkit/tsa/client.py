"""RFC 3161 over HTTP: ask each configured TSA in turn until one gives a valid token. When none does, signing
stops with a :class:`TimestampError` naming every TSA and what went wrong; there is no local-clock fallback."""

from __future__ import annotations

import asyncio
import secrets
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import tsp
from cryptography import x509

from consentkit.errors import TimestampError, VerificationError
from consentkit.tsa import TimestampToken
from consentkit.tsa.tokens import DIGESTS, TimeStampResp, async_verify_token, describe_token, parse_token

MAX_REPLY = 1 << 20
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"


def post_request(url: str, request_der: bytes, timeout: float) -> bytes:
    """One HTTP exchange; any failure becomes an OSError-free TimestampError naming the URL."""
    if not url.startswith(("http://", "https://")):
        raise TimestampError(f"{url}: only http:// and https:// TSA URLs are supported")
    req = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=request_der, method="POST", headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as reply:  # noqa: S310
            body: bytes = reply.read(MAX_REPLY + 1)
            ctype = reply.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        raise TimestampError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except TimeoutError as exc:
        raise TimestampError(f"{url}: no answer within {timeout:g} s") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)
        raise TimestampError(f"{url}: {text.lower() if text else type(exc).__name__}") from exc
    if len(body) > MAX_REPLY:
        raise TimestampError(f"{url}: the reply is too large")
    if ctype and not ctype.startswith(REPLY_TYPE):
        raise TimestampError(f"{url}: answered '{ctype}', not a time-stamp reply")
    return body


def build_request(digest: bytes, algorithm: str, *, nonce: int | None = None) -> tsp.TimeStampReq:
    if algorithm not in DIGESTS or len(digest) != DIGESTS[algorithm]:
        raise TimestampError(f"a {algorithm} digest of the right length is needed to ask for a time-stamp")
    fields: dict[str, object] = {
        "version": 1,
        "message_imprint": {"hash_algorithm": {"algorithm": algorithm}, "hashed_message": digest},
        "cert_req": True,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    return tsp.TimeStampReq(fields)


def token_from_reply(url: str, reply_der: bytes, nonce: int | None, digest: bytes) -> bytes:
    """The token DER from a TimeStampResp after checking status, nonce and imprint."""
    try:
        response = TimeStampResp.load(reply_der, strict=True)
        status = response["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            texts = "; ".join(response["status"]["status_string"].native or [])
            fail = ", ".join(sorted(response["status"]["fail_info"].native or []))
            raise TimestampError(
                f"{url}: refused ({status}{': ' + texts if texts else ''}{' ' + fail if fail else ''})"
            )
        token = response["time_stamp_token"]
        der = bytes(token.dump())
    except TimestampError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(f"{url}: the reply is not an RFC 3161 TimeStampResp") from exc
    try:
        info = describe_token(der)
        _, tst = parse_token(der)
    except VerificationError as exc:
        raise TimestampError(f"{url}: {exc.message}") from exc
    if nonce is not None and tst["nonce"].native != nonce:
        raise TimestampError(f"{url}: the reply does not echo our nonce (a replayed or mixed-up answer)")
    if info.message_imprint != digest:
        raise TimestampError(f"{url}: the token covers other data than we asked for")
    return der


@dataclass
class HttpTimestamper:
    """External TSAs tried in order (failover), each token checked against ``trust_roots``.
    Implements :class:`consentkit.tsa.Timestamper`."""

    urls: Sequence[str]
    timeout: float = 10.0
    trust_roots: Sequence[x509.Certificate] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.urls:
            raise TimestampError("no TSA URL configured")
        self.name = ", ".join(self.urls)

    def answer(self, request: tsp.TimeStampReq) -> Any:
        """Ask each TSA in turn; return the first reply whose token checks out (status, nonce, imprint,
        signature, trusted TSA certificate)."""
        return asyncio.run(self.async_answer(request))

    async def async_answer(self, request: tsp.TimeStampReq) -> Any:
        """:meth:`answer` for callers already in an event loop (pyHanko while signing)."""
        digest = bytes(request["message_imprint"]["hashed_message"].native)
        nonce = request["nonce"].native
        errors: list[str] = []
        for url in self.urls:
            try:
                reply = await asyncio.to_thread(post_request, url, request.dump(), self.timeout)
                der = token_from_reply(url, reply, nonce, digest)
                await self.async_check(url, der, digest)
                return TimeStampResp.load(reply)
            except TimestampError as exc:
                errors.append(exc.message)
        raise self._none_answered(errors)

    def timestamp(self, digest: bytes, *, algorithm: str = "sha256") -> TimestampToken:
        response = self.answer(build_request(digest, algorithm, nonce=secrets.randbits(63)))
        return describe_token(response["time_stamp_token"].dump())

    async def async_check(self, url: str, der: bytes, digest: bytes) -> TimestampToken:
        if not self.trust_roots:
            raise TimestampError(
                f"{url}: no trust anchor for external TSAs; put the TSA's root certificate in signatures/trust/"
            )
        try:
            return await async_verify_token(der, digest, self.trust_roots, is_digest=True)
        except VerificationError as exc:
            raise TimestampError(f"{url}: {exc.message}") from exc

    def _none_answered(self, errors: list[str]) -> TimestampError:
        return TimestampError(
            "no time-stamping authority gave a valid token, so nothing was signed (consentkit never falls back to "
            "the local clock): " + "; ".join(errors)
        )
