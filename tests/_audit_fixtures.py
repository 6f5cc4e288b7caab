"""Test helpers for the audit log: a throwaway RFC 3161 TSA, an audit-log key, sample events.

``TestTsa`` issues real RFC 3161 tokens in-process (pyHanko's DummyTimeStamper with a generated RSA TSA certificate,
EKU timeStamping), so exported heads verify with ``openssl ts -verify``. Its Python-side ``verify`` only checks that
a token parses and is over the right digest: a unit-test stand-in for the TSA module's real verifier.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from consentkit.audit import events as ev
from consentkit.audit.heads import HeadSigner
from consentkit.audit.log import AuditLog
from consentkit.tsa import TimestampToken


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class TestTsa:
    __test__ = False

    def __init__(self, folder: Path) -> None:
        from asn1crypto import keys
        from asn1crypto import x509 as ax509
        from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

        now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        root_key = ec.generate_private_key(ec.SECP256R1())
        root = (
            x509.CertificateBuilder()
            .subject_name(_name("Test TSA Root"))
            .issuer_name(_name("Test TSA Root"))
            .public_key(root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(root_key, hashes.SHA256())
        )
        tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tsa = (
            x509.CertificateBuilder()
            .subject_name(_name("Test TSA"))
            .issuer_name(root.subject)
            .public_key(tsa_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .sign(root_key, hashes.SHA256())
        )
        self.root_pem = folder / "tsa-root.pem"
        self.root_pem.write_bytes(root.public_bytes(serialization.Encoding.PEM))
        self._stamper = DummyTimeStamper(
            tsa_cert=ax509.Certificate.load(tsa.public_bytes(serialization.Encoding.DER)),
            tsa_key=keys.PrivateKeyInfo.load(
                tsa_key.private_bytes(
                    serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            ),
        )
        self.calls = 0
        self.fixed_time: dt.datetime | None = None

    def timestamp(self, digest: bytes, *, algorithm: str = "sha256") -> TimestampToken:
        from asn1crypto import tsp

        self.calls += 1
        self._stamper.fixed_dt = self.fixed_time
        req = tsp.TimeStampReq(
            {
                "version": 1,
                "message_imprint": {"hash_algorithm": {"algorithm": algorithm}, "hashed_message": digest},
                "cert_req": True,
            }
        )
        resp = self._stamper.request_tsa_response(req)
        der = resp["time_stamp_token"].dump()
        return self.verify(der, digest)

    @staticmethod
    def verify(token: bytes, digest: bytes) -> TimestampToken:
        """Unit-test stand-in: parse the token and check it is over ``digest`` (no signature check)."""
        from asn1crypto import cms

        info = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed
        imprint = info["message_imprint"]["hashed_message"].native
        if imprint != digest:
            raise ValueError("the token is over other data")
        return TimestampToken(
            der=token,
            time=info["gen_time"].native.astimezone(dt.UTC),
            tsa_name="Test TSA",
            serial=int(info["serial_number"].native),
            digest_algorithm="sha256",
            message_imprint=imprint,
        )


def new_signer() -> HeadSigner:
    return HeadSigner(ec.generate_private_key(ec.SECP256R1()))


def open_log(url: str, tsa: TestTsa, signer: HeadSigner | None = None) -> AuditLog:
    signer = signer or new_signer()
    return AuditLog.open(url, signer=signer, timestamper=tsa, public_key=signer.public_key, verify_token=tsa.verify)


SUBJECT = "hmac-sha256:" + hashlib.sha256(b"patient").hexdigest()


def sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass
class EventFactory:
    """Varied, valid events (cycling through the types), so tests exercise every schema."""

    n: int = 0

    def __call__(self, case: str | None = None) -> ev._Event:
        i = self.n
        self.n += 1
        case = case or f"C-{i % 7:03d}"
        t = dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=i)
        common = {"case": case, "subject": SUBJECT, "time": t}
        kind = i % 6
        if kind == 0:
            return ev.packet_generated(
                **common,
                actor="dr-wang",
                actor_role="physician",
                procedure="botulinum-toxin",
                version="1.2.0",
                spec=sha("spec"),
                locales=("zh-CN", "en"),
                files={"packet.pdf": sha(f"p{i}"), "manifest.json": sha(f"m{i}")},
            )
        if kind == 1:
            return ev.disclosure_presented(
                **common, actor="li.na", actor_role="nurse", how="printed", locales=["zh-CN"]
            )
        if kind == 2:
            return ev.document_signed(
                **common,
                actor=SUBJECT,
                actor_role="patient",
                role="patient",
                field="sig-patient",
                signer_cert=sha(f"cert{i}"),
                tsa_time=t,
                file_name="packet.pdf",
                file_sha256=sha(f"s{i}"),
            )
        if kind == 3:
            return ev.procedure_checkin(
                **common, actor="li.na", actor_role="nurse", outcome="refused", at=t, reasons=["cooling-off"]
            )
        if kind == 4:
            return ev.case_read(**common, actor="auditor-1", actor_role="auditor", via="audit-show")
        return ev.spec_approved(
            actor="legal-1",
            actor_role="reviewer",
            procedure="rhinoplasty",
            version="2.0.1",
            content=sha("c"),
            review="legal",
            time=t,
        )
