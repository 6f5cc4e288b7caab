"""The embedded RFC 3161 time-stamping authority: the clinic's own TSA key answers time-stamp requests in-process
(the default) or over HTTP (``consentkit tsa serve``). Its clock is the machine's clock; a clinic that needs an
independent time source configures an external TSA instead (``[timestamping] tsa_urls``).

Tokens: SHA-256 imprints (SHA-384/512 accepted), a random 127-bit serial, accuracy one second, the nonce echoed,
ESS signing-certificate-v2 (SHA-256), certificates included when the request asks for them. ``openssl ts -verify``
accepts them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from consentkit.errors import TimestampError
from consentkit.pki.certs import TSA_POLICY_OID
from consentkit.tsa import TimestampToken
from consentkit.tsa.tokens import DIGESTS, TimeStampResp, describe_token

Clock = Callable[[], dt.datetime]


_INTEGER_3 = bytes([0x02, 0x01, 0x03])
_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")  # 1.2.840.113549.1.7.2
_STATUS_GRANTED = bytes.fromhex("3003020100")  # PKIStatusInfo { status granted(0) }


def _tlv(tag: int, content: bytes) -> bytes:
    """One DER tag-length-value (definite length)."""
    size = len(content)
    if size < 0x80:
        header = bytes([tag, size])
    else:
        length = size.to_bytes((size.bit_length() + 7) // 8, "big")
        header = bytes([tag, 0x80 | len(length)]) + length
    return header + content


# id-ct-TSTInfo by number: asn1crypto knows the name "tst_info" only if asn1crypto.tsp was imported before the first
# name lookup of a content type anywhere in the process (its reverse map is built once)
TST_INFO = "1.2.840.113549.1.9.16.1.4"


class _Rejected(Exception):
    def __init__(self, fail_info: str, text: str) -> None:
        super().__init__(text)
        self.fail_info = fail_info
        self.text = text


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class EmbeddedTsa:
    """An RFC 3161 responder holding the TSA key. Implements :class:`consentkit.tsa.Timestamper`."""

    def __init__(
        self,
        certificate: x509.Certificate,
        key: PrivateKeyTypes,
        chain: Sequence[x509.Certificate] = (),
        *,
        clock: Clock = _utc_now,
        policy: str = TSA_POLICY_OID,
    ) -> None:
        on_token = getattr(key, "on_token", False)  # a consentkit.sign.tokens.TokenKey: same sign() interface
        if not (on_token or isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)):
            raise TimestampError(f"the TSA key must be RSA or EC, not {type(key).__name__}")
        self._key: Any = key
        self._rsa = isinstance(certificate.public_key(), rsa.RSAPublicKey)
        self._clock = clock
        self._policy = policy
        der = certificate.public_bytes(serialization.Encoding.DER)
        self._cert = asn1_x509.Certificate.load(der)
        # the chain without its root: a verifier holds the root as its trust anchor
        self._chain = [
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
            for c in chain
            if c.issuer != c.subject
        ]
        self.name = certificate.subject.rfc4514_string()
        ess = tsp.SigningCertificateV2(
            {
                "certs": [
                    {
                        "cert_hash": hashlib.sha256(der).digest(),
                        "issuer_serial": {
                            "issuer": [asn1_x509.GeneralName({"directory_name": self._cert.issuer})],
                            "serial_number": self._cert.serial_number,
                        },
                    }
                ]
            }
        )
        # Encoded once and re-loaded per token: asn1crypto copies (and re-encodes) parsed values put into new
        # structures, which cost more than the signature.
        self._ess_attr = cms.CMSAttribute({"type": "signing_certificate_v2", "values": [ess]}).dump()
        self._tsa_name = asn1_x509.GeneralName({"directory_name": self._cert.subject}).dump()
        self._sid = cms.SignerIdentifier(
            {
                "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                    {"issuer": self._cert.issuer, "serial_number": self._cert.serial_number}
                )
            }
        ).dump()
        # [0] IMPLICIT CertificateSet: the TSA certificate and its intermediates, encoded once
        self._certificate_set = _tlv(0xA0, b"".join(c.dump() for c in [self._cert, *self._chain]))
        if self._rsa:
            self._sig_algo = algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"})
        else:
            self._sig_algo = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})

    # -- the Timestamper protocol --------------------------------------------------------------------------------
    def timestamp(self, digest: bytes, *, algorithm: str = "sha256") -> TimestampToken:
        request = tsp.TimeStampReq(
            {
                "version": 1,
                "message_imprint": {"hash_algorithm": {"algorithm": algorithm}, "hashed_message": digest},
                "nonce": secrets.randbits(63),
                "cert_req": True,
            }
        )
        try:
            reply = self._grant(request)
        except _Rejected as rejected:
            raise TimestampError(f"the embedded TSA refused the request: {rejected.text}") from None
        der = TimeStampResp.load(reply)["time_stamp_token"].dump()
        return describe_token(der)  # our own signature over our own token: nothing more to check

    # -- RFC 3161 ------------------------------------------------------------------------------------------------
    def respond(self, request_der: bytes) -> bytes:
        """A DER TimeStampResp for a DER TimeStampReq; malformed requests get a 'rejection', never an exception."""
        try:
            request = tsp.TimeStampReq.load(request_der, strict=True)
            request.native  # noqa: B018 - parse fully now
        except (ValueError, TypeError, KeyError, OverflowError):
            return self._rejection("bad_data_format", "the request is not a DER TimeStampReq")
        try:
            return self._grant(request)
        except _Rejected as rejected:
            return self._rejection(rejected.fail_info, rejected.text)

    def answer(self, request: tsp.TimeStampReq) -> Any:
        try:
            return TimeStampResp.load(self._grant(request))
        except _Rejected as rejected:
            return TimeStampResp.load(self._rejection(rejected.fail_info, rejected.text))

    def _rejection(self, fail_info: str, text: str) -> bytes:
        """A TimeStampResp with only a status (asn1crypto's model insists on a token, so it is assembled here)."""
        status = tsp.PKIStatusInfo(
            {"status": "rejection", "status_string": [text], "fail_info": tsp.PKIFailureInfo({fail_info})}
        )
        return _tlv(0x30, status.dump())

    def _grant(self, request: tsp.TimeStampReq) -> bytes:
        """The DER TimeStampResp. The outer layers are assembled from DER pieces: asn1crypto re-encoding the
        embedded certificates cost ten times the RSA signature."""
        if request["version"].native != "v1":
            raise _Rejected("bad_request", "only version 1 requests are supported")
        imprint = request["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        if algorithm not in DIGESTS:
            raise _Rejected("bad_alg", f"hash algorithm {algorithm} is not accepted (use sha256)")
        if len(imprint["hashed_message"].native) != DIGESTS[algorithm]:
            raise _Rejected("bad_data_format", f"the {algorithm} imprint has the wrong length")
        requested_policy = request["req_policy"].native
        if requested_policy is not None and requested_policy != self._policy:
            raise _Rejected("unaccepted_policy", f"policy {requested_policy} is not offered")
        if request["extensions"].native:
            raise _Rejected("unaccepted_extension", "extensions are not supported")

        now = self._clock().astimezone(dt.UTC)
        now = now.replace(microsecond=(now.microsecond // 1000) * 1000)  # millisecond resolution
        tst_fields: dict[str, object] = {
            "version": "v1",
            "policy": self._policy,
            "message_imprint": imprint,
            "serial_number": secrets.randbits(127),
            "gen_time": now,
            "accuracy": {"seconds": 1},
            "tsa": asn1_x509.GeneralName.load(self._tsa_name),
        }
        if request["nonce"].native is not None:
            tst_fields["nonce"] = request["nonce"]
        tst_der = tsp.TSTInfo(tst_fields).dump()

        signed_attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": [TST_INFO]}),
                cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": core.UTCTime(now)})]}),
                cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]}),
                cms.CMSAttribute.load(self._ess_attr),
            ]
        )
        to_sign = signed_attrs.dump()
        if self._rsa:
            signature = self._key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256())
        else:
            signature = self._key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
        digest_algo = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier.load(self._sid),
                "digest_algorithm": digest_algo,
                "signed_attrs": signed_attrs,
                "signature_algorithm": self._sig_algo,
                "signature": signature,
            }
        )
        encap = cms.EncapsulatedContentInfo(
            {"content_type": TST_INFO, "content": cms.ParsableOctetString(tst_der)}
        ).dump()
        signed_data = _tlv(
            0x30,
            _INTEGER_3
            + _tlv(0x31, digest_algo.dump())
            + encap
            + (self._certificate_set if request["cert_req"].native else b"")
            + _tlv(0x31, signer_info.dump()),
        )
        token = _tlv(0x30, _SIGNED_DATA_OID + _tlv(0xA0, signed_data))
        return _tlv(0x30, _STATUS_GRANTED + token)
