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
from typing import Any

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


class RawDb:
    """Someone with a database shell: drops the append-only triggers and edits rows directly."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pg = not url.startswith("sqlite:")
        if self.pg:
            import psycopg

            self.conn: Any = psycopg.connect(url, autocommit=True)
            for table in ("events", "nodes", "heads"):
                self.conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            import sqlite3

            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            names = [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
            for name in names:
                self.conn.execute(f"DROP TRIGGER {name}")

    def run(self, sql: str, *params: Any) -> list[Any]:
        if self.pg:
            sql = sql.replace("?", "%s")
        cur = self.conn.execute(sql, params)
        try:
            return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in cur.fetchall()]
        except Exception:  # statements without rows
            return []

    def bodies(self) -> list[tuple[int, bytes]]:
        return [(int(i), bytes(b)) for i, b in self.run("SELECT idx, body FROM events ORDER BY idx")]

    def rebuild_tree(self) -> None:
        """Recompute every stored subtree from the (tampered) events, as a careful attacker would."""
        from consentkit.audit.merkle import Frontier, leaf_hash

        self.run("DELETE FROM nodes")
        frontier = Frontier.empty()
        rows = []
        for index, body in self.bodies():
            assert index == frontier.size
            rows += frontier.append(leaf_hash(body))
        for (level, index), value in rows:
            self.run("INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)", level, index, value)

    def close(self) -> None:
        self.conn.close()


PASSPHRASE = "correct horse battery"


class WorkspaceTsa:
    """The workspace's embedded TSA and the real token verifier (``consentkit.tsa.verify_token`` against the
    workspace's trust anchors), plus its audit-log key: the parts ``AuditLog.for_workspace`` uses."""

    def __init__(self, root: Path) -> None:
        from consentkit import keystore
        from consentkit.audit.log import workspace_token_verifier
        from consentkit.pki import init_pki
        from consentkit.tsa import embedded_tsa
        from consentkit.workspace import init_workspace

        self.ws = init_workspace(root)
        init_pki(self.ws, PASSPHRASE.encode())
        self._tsa = embedded_tsa(self.ws, PASSPHRASE.encode())
        self.verify = workspace_token_verifier(self.ws)
        key = keystore.load_private_key(keystore.pki_dir(self.ws) / "audit-log.key", PASSPHRASE.encode())
        self.signer = HeadSigner(key)
        self.root_pem = self.ws.signatures_dir / "trust" / "clinic-root.pem"
        self.public_pem = keystore.pki_dir(self.ws) / "audit-log.pub.pem"

    def timestamp(self, digest: bytes, *, algorithm: str = "sha256") -> TimestampToken:
        return self._tsa.timestamp(digest, algorithm=algorithm)

    def open(self, url: str) -> AuditLog:
        return AuditLog.open(
            url, signer=self.signer, timestamper=self, public_key=self.signer.public_key, verify_token=self.verify
        )
