"""RFC 3161 time-stamping: the interface the rest of consentkit uses.

Implementations: the embedded TSA (in-process, the default; :class:`consentkit.tsa.authority.EmbeddedTsa`), an
HTTP client for external TSAs with failover (:class:`consentkit.tsa.client.HttpTimestamper`), and
``consentkit tsa serve``. A :class:`Timestamper` never falls back to the local clock: when no TSA answers it raises
:class:`consentkit.errors.TimestampError`. :func:`verify_token` checks a token against trust anchors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cryptography import x509

    from consentkit.tsa.authority import EmbeddedTsa
    from consentkit.tsa.client import HttpTimestamper
    from consentkit.tsa.tokens import TrustRoot
    from consentkit.workspace import Workspace


@dataclass(frozen=True)
class TimestampToken:
    """A verified RFC 3161 TimeStampToken (DER ContentInfo/SignedData) and what it asserts."""

    der: bytes
    time: dt.datetime  # genTime, aware UTC
    tsa_name: str  # subject of the TSA certificate, RFC 4514
    serial: int
    digest_algorithm: str  # "sha256"
    message_imprint: bytes


class Timestamper(Protocol):
    def timestamp(self, digest: bytes, *, algorithm: str = "sha256") -> TimestampToken:
        """Get a token over ``digest`` (the hash of the data, not the data)."""
        ...


def verify_token(
    der: bytes,
    digest_or_data: bytes,
    trust_roots: Iterable[TrustRoot],
    *,
    crls: Sequence[x509.CertificateRevocationList] = (),
    is_digest: bool | None = None,
) -> TimestampToken:
    """Check a token (imprint, signature, TSA chain to ``trust_roots``); raises VerificationError.
    See :func:`consentkit.tsa.tokens.verify_token`."""
    from consentkit.tsa import tokens

    return tokens.verify_token(der, digest_or_data, trust_roots, crls=crls, is_digest=is_digest)


def embedded_tsa(ws: Workspace, secret: bytes) -> EmbeddedTsa:
    """The workspace's own TSA: its key unlocked with the workspace passphrase, or on a PKCS#11 token
    (consentkit.toml ``[signing.keys.tsa]``, or ``pki issue tsa --pkcs11``)."""
    from consentkit.pki import WorkspacePki
    from consentkit.sign.tokens import TokenKey, clinic_key_ref, require_certified_key
    from consentkit.tsa.authority import EmbeddedTsa

    pki = WorkspacePki(ws).require()
    cert = pki.certificate("tsa")
    ref = clinic_key_ref(ws, pki, "tsa")
    if ref is None:
        return EmbeddedTsa(cert, pki.private_key("tsa", secret), pki.chain())
    require_certified_key(ref, cert, "tsa")  # else every token it signed would be silently invalid
    key: Any = TokenKey(ref, cert)
    return EmbeddedTsa(cert, key, pki.chain())


def external_tsa(ws: Workspace) -> HttpTimestamper | None:
    """The configured external TSAs (``[timestamping] tsa_urls``), or None for the embedded TSA."""
    from consentkit.sign.trust import workspace_trust_roots
    from consentkit.tsa.client import HttpTimestamper

    cfg = ws.config.timestamping
    if not cfg.tsa_urls:
        return None
    return HttpTimestamper(cfg.tsa_urls, timeout=cfg.timeout_seconds, trust_roots=workspace_trust_roots(ws))


def workspace_timestamper(ws: Workspace, secret: bytes | None = None) -> Timestamper:
    """External TSAs when configured, else the embedded TSA (which needs ``secret``)."""
    from consentkit.errors import TimestampError

    external = external_tsa(ws)
    if external is not None:
        return external
    if secret is None:
        raise TimestampError("the embedded TSA needs the key passphrase")
    return embedded_tsa(ws, secret)
