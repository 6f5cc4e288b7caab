"""Small packets, workspaces with a PKI, and an independent TSA for the signing and verification tests.

``small_packet`` renders a 2-page bilingual PDF with WeasyPrint and writes a manifest.json beside it, with the
signature boxes taken from where the layout put them (``page.anchors``), exactly like the packet renderer.
``OpensslTsa`` runs ``openssl ts -reply`` behind a loopback HTTP server: a TSA nobody here wrote.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from _dates import future_case_text
from consentkit.manifest import MANIFEST_NAME, Manifest, PacketDigest
from consentkit.pki import WorkspacePki, init_pki
from consentkit.workspace import Workspace, init_workspace

if TYPE_CHECKING:
    from consentkit.sign.signing import SignerRef

PASSPHRASE = "correct horse battery"
PHYSICIAN = "王医生"
WITNESS = "张护士"
PATIENT = "李小梅"
CASE_ID = "C-TEST-0001"
PX_TO_PT = 72 / 96

MEANINGS = {
    "clinic": {"zh-CN": "本机构确认本文件内容为经审核批准的版本", "en": "The clinic certifies this document"},
    "physician": {"zh-CN": "我已告知风险", "en": "I explained the risks"},
    "patient": {"zh-CN": "我同意接受本项目", "en": "I consent to the procedure"},
    "witness": {"zh-CN": "我见证了签署过程", "en": "I witnessed the signing"},
    "guardian": {"zh-CN": "我作为监护人同意", "en": "As the guardian I consent"},
}
GUARDIAN = "李大山"

CASE_YAML = f"""\
case_id: {CASE_ID}
procedure: botulinum-toxin
options: {{area: upper-face}}
patient:
  name: {PATIENT}
  date_of_birth: 1990-04-18
  record_number: MRN-000123
  sex: female
  identity: {{type: resident-id, number: "110101199004180023"}}
physicians:
  consulting: {{name: {PHYSICIAN}}}
  operating: {{name: {PHYSICIAN}}}
witness: {{name: {WITNESS}}}
consultation_at: 2026-12-01T10:00:00+08:00
planned_at: 2026-12-08T14:30:00+08:00
locales: [zh-CN, en]
"""


# each signer's own key passphrase (the workspace passphrase does not open their PKCS#12)
OWN_PASSPHRASES = {PHYSICIAN: "王医生的私人口令 only mine", WITNESS: "张护士的私人口令 only mine"}


def own(name: str) -> bytes:
    return OWN_PASSPHRASES[name].encode()


def signer(name: str) -> SignerRef:
    """A workspace signer with their own passphrase, as `consentkit sign --signer NAME` asks for it."""
    from consentkit.sign.signing import SignerRef

    return SignerRef(name=name, passphrase=own(name))


def make_workspace(root: Path, *, passphrase: str = PASSPHRASE) -> tuple[Workspace, WorkspacePki]:
    """A workspace with its PKI and one physician and one witness (PKCS#12 under their own passphrases)."""
    ws = init_workspace(root)
    pki = init_pki(ws, passphrase.encode())
    pki.issue_signer("physician", PHYSICIAN, passphrase.encode(), passphrase=own(PHYSICIAN))
    pki.issue_signer("witness", WITNESS, passphrase.encode(), passphrase=own(WITNESS))
    return ws, pki


def _html(roles: list[str]) -> str:
    boxes = "\n".join(
        f'<div class="sig"><p>{role}</p><div class="box" id="sigbox-{role}"></div></div>' for role in roles
    )
    filler = "<p>" + "本文件说明本项目的性质、风险和替代方案。This page explains the procedure. " * 40 + "</p>"
    return textwrap.dedent(
        f"""\
        <html lang="zh-CN"><head><meta charset="utf-8"><title>Test consent</title><style>
          @page {{ size: A4; margin: 18mm }}
          body {{ font-family: "Noto Sans CJK SC"; font-size: 10pt }}
          .sig {{ break-inside: avoid; margin-top: 4mm }}
          .box {{ border: 0.6pt solid #333; width: 85mm; height: 28mm }}
        </style></head><body><h1>知情同意书 Consent</h1>{filler}{filler}{boxes}</body></html>"""
    )


def small_packet(
    folder: Path,
    *,
    roles: tuple[str, ...] = ("clinic", "physician", "patient", "witness"),
    draft: bool = False,
    locales: tuple[str, ...] = ("zh-CN", "en"),
) -> Path:
    """``folder/packet.pdf`` and ``folder/manifest.json``; returns the PDF path."""
    import weasyprint

    folder.mkdir(parents=True, exist_ok=True)
    document = weasyprint.HTML(string=_html(list(roles))).render()
    boxes = []
    for number, page in enumerate(document.pages, start=1):
        height = page.height * PX_TO_PT
        for role in roles:
            anchor = f"sigbox-{role}"
            if anchor in page.anchors and not any(b["role"] == role for b in boxes):
                x1, y1, x2, y2 = page.anchors[anchor]
                rect = (x1 * PX_TO_PT, height - y2 * PX_TO_PT, x2 * PX_TO_PT, height - y1 * PX_TO_PT)
                names = {
                    "clinic": "示例医疗美容诊所",
                    "physician": PHYSICIAN,
                    "patient": PATIENT,
                    "witness": WITNESS,
                    "guardian": GUARDIAN,
                }
                boxes.append(
                    {
                        "role": role,
                        "field": f"sig-{role}",
                        "page": number,
                        "rect": rect,
                        "signer_name": names[role],
                        "meaning": MEANINGS[role],
                    }
                )
    pdf = document.write_pdf()
    path = folder / "packet.pdf"
    path.write_bytes(pdf)
    now = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
    manifest = Manifest.model_validate(
        {
            "packet_id": f"{CASE_ID}-1",
            "case_id": CASE_ID,
            "subject": "hmac-sha256:" + "0" * 64,
            "procedure": {
                "id": "botulinum-toxin",
                "version": "1.0.0",
                "spec_hash": "sha256:" + "1" * 64,
                "category": "minimally-invasive",
            },
            "jurisdiction": "cn",
            "policy_hash": "sha256:" + "2" * 64,
            "options": {"area": "upper-face"},
            "locales": list(locales),
            "consentkit_version": "0.1.0",
            "generated_at": now,
            "planned_at": now + dt.timedelta(days=7),
            "templates": {},
            "required_roles": list(roles),
            "signature_boxes": boxes,
            "cooling_off": {"days": 7, "not_same_day": True, "earliest_after_signature": "7 days"},
            "draft": draft,
            "packet": {"sha256": hashlib.sha256(pdf).hexdigest(), "size": len(pdf)},
        },
        strict=False,
    )
    (folder / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    return path


def manifest_digest(pdf: bytes) -> PacketDigest:
    return PacketDigest(sha256=hashlib.sha256(pdf).hexdigest(), size=len(pdf))


def case_file(folder: Path, *, guardian: bool = False) -> Path:
    path = folder / "case.yaml"
    text = future_case_text(CASE_YAML)
    if guardian:
        identity = '{type: resident-id, number: "110101196501010011"}'
        text += f"guardian: {{name: {GUARDIAN}, relationship: 父亲, identity: {identity}}}\n"
    path.write_text(text, encoding="utf-8")
    return path


# -- an independent TSA: openssl ts -reply behind a loopback HTTP server -------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


TSA_CNF = """\
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = OpenSSL Test TSA
O = Independent Time Authority
[ tsa_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ ca_ext ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.57264.9.1
other_policies = 1.3.6.1.4.1.57264.9.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


@dataclass
class OpensslTsa:
    """``openssl ts -reply`` served on 127.0.0.1; ``url``, ``root_pem`` (trust anchor) and ``stop()``."""

    dir: Path
    url: str = ""
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> OpensslTsa:
        d = self.dir
        d.mkdir(parents=True, exist_ok=True)
        (d / "tsa.cnf").write_text(TSA_CNF.format(dir=d), encoding="utf-8")
        (d / "serial").write_text("01\n")
        run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)  # noqa: E731
        run(
            "req",
            "-x509",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "7300",
            "-subj",
            "/CN=Independent Test Root/O=Independent Time Authority",
            "-config",
            "tsa.cnf",
            "-extensions",
            "ca_ext",
        )
        run(
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "tsa.key",
            "-out",
            "tsa.csr",
            "-config",
            "tsa.cnf",
        )
        run(
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "tsa.pem",
            "-days",
            "7000",
            "-extfile",
            "tsa.cnf",
            "-extensions",
            "tsa_ext",
        )
        port = _free_port()
        script = d / "serve.py"
        script.write_text(SERVER_SCRIPT, encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, str(script), str(d), str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.url = f"http://127.0.0.1:{port}/tsa"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the openssl TSA wrapper did not start")

    @property
    def root_pem(self) -> Path:
        return self.dir / "ca.pem"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


# The wrapper runs as its own process (a separate program answering HTTP, the TSA work done by openssl).
SERVER_SCRIPT = r"""
import http.server, subprocess, sys, tempfile, os
folder, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with tempfile.TemporaryDirectory() as t:
            q = os.path.join(t, "q.tsq"); r = os.path.join(t, "r.tsr")
            open(q, "wb").write(body)
            p = subprocess.run(["openssl", "ts", "-reply", "-config", os.path.join(folder, "tsa.cnf"),
                                "-queryfile", q, "-out", r], capture_output=True)
            if p.returncode != 0:
                self.send_response(500); self.end_headers(); return
            data = open(r, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers(); self.wfile.write(data)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"""


def which(tool: str) -> bool:
    return shutil.which(tool) is not None


def env_with_passphrase() -> dict[str, str]:
    return {**os.environ, "CONSENTKIT_PASSPHRASE": PASSPHRASE}


# -- signed packets, built once per test process -------------------------------------------------------------------
REPO = Path(__file__).resolve().parent.parent
EXAMPLE_CASE = REPO / "examples" / "case-botulinum-toxin.yaml"


@dataclass
class SignedPacket:
    """A packet taken through every role (sealed, B-LTA) in its own workspace; tests work on copies."""

    ws: Workspace
    pki: WorkspacePki
    folder: Path
    pdf: Path
    case: Path
    roles: tuple[str, ...]

    @property
    def root(self) -> Path:
        return self.pki.cert_path("root-ca")

    def copy(self, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.pdf, dest / "packet.pdf")
        shutil.copy(self.folder / MANIFEST_NAME, dest / MANIFEST_NAME)
        return dest / "packet.pdf"


SIGNERS = {"physician": PHYSICIAN, "witness": WITNESS}


def sign_all(ws: Workspace, pdf: Path, case: Path, roles: tuple[str, ...], *, image: bytes | None = None) -> None:
    from consentkit.case import load_case
    from consentkit.sign.signing import sign_packet

    case_file_ = load_case(case)[0]
    for role in roles:
        sign_packet(
            ws,
            pdf,
            role,
            signer(SIGNERS[role]) if role in SIGNERS else None,
            secret=PASSPHRASE.encode(),
            case=case_file_ if role in ("patient", "guardian") else None,
            signature_image=image if role == "patient" else None,
        )


_BUILT: dict[str, SignedPacket] = {}


def real_signed_packet(base: Path) -> SignedPacket:
    """The example case (botulinum toxin, zh-CN) with a witness, built by ``consentkit.packet.build_packet`` and
    signed by the clinic, the physician, the patient (with a drawn signature) and the witness, then sealed."""
    if "real" not in _BUILT:
        from _review_fixtures import approve_procedures
        from consentkit.packet import build_packet

        ws, pki = make_workspace(base / "ws")
        approve_procedures(ws)
        case = base / "case-with-witness.yaml"
        text = future_case_text(EXAMPLE_CASE.read_text(encoding="utf-8"))
        case.write_text(text + f"witness: {{name: {WITNESS}}}\n", encoding="utf-8")
        result = build_packet(ws, case, base / "packet")
        pdf = result.directory / "packet.pdf"
        roles = tuple(result.manifest.required_roles)
        sign_all(ws, pdf, case, roles, image=signature_png())
        _BUILT["real"] = SignedPacket(ws, pki, pdf.parent, pdf, case, roles)
    return _BUILT["real"]


def guardian_signed_packet(base: Path) -> SignedPacket:
    """The small fixture packet of a minor: clinic, physician, guardian (one-time certificate) and witness."""
    if "guardian" not in _BUILT:
        ws, pki = make_workspace(base / "ws")
        roles = ("clinic", "physician", "guardian", "witness")
        pdf = small_packet(base / "packet", roles=roles)
        case = case_file(base, guardian=True)
        sign_all(ws, pdf, case, roles)
        _BUILT["guardian"] = SignedPacket(ws, pki, pdf.parent, pdf, case, roles)
    return _BUILT["guardian"]


def small_signed_packet(base: Path) -> SignedPacket:
    """The small fixture packet through clinic, physician, patient and witness (five signatures and a document
    timestamp)."""
    if "small" not in _BUILT:
        ws, pki = make_workspace(base / "ws")
        pdf = small_packet(base / "packet")
        case = case_file(base)
        roles = ("clinic", "physician", "patient", "witness")
        sign_all(ws, pdf, case, roles)
        _BUILT["small"] = SignedPacket(ws, pki, pdf.parent, pdf, case, roles)
    return _BUILT["small"]


def signature_png() -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (360, 120), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    points = [(10, 80), (60, 25), (100, 90), (150, 30), (200, 85), (260, 25), (350, 70)]
    draw.line(points, fill=(20, 20, 110, 255), width=6)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# -- independent checks: pdfsig (NSS) and openssl on the bytes, extracted without consentkit's code -----------------
@dataclass
class ExtractedSignature:
    byte_range: tuple[int, int, int, int]
    cms: bytes  # DER, padding removed
    signed_bytes: bytes
    is_document_timestamp: bool
    signature_value: bytes  # the SignerInfo signature (what the signature timestamp covers)
    token: bytes | None  # the signature's RFC 3161 token, if any


def extract_signatures(pdf: bytes) -> list[ExtractedSignature]:
    import re

    from asn1crypto import cms, core

    found = []
    for m in re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf):
        a, b, c, d = (int(x) for x in m.groups())
        hex_text = pdf[b + 1 : c - 1]
        info = cms.ContentInfo.load(bytes.fromhex(hex_text.decode()), strict=False)
        der = info.dump()
        signed = info["content"]
        is_ts = signed["encap_content_info"]["content_type"].native == "tst_info"
        signer = signed["signer_infos"][0]
        token = None
        if not is_ts and not isinstance(signer["unsigned_attrs"], core.Void):
            for attr in signer["unsigned_attrs"]:
                if attr["type"].native == "signature_time_stamp_token":
                    token = attr["values"][0].dump()
        found.append(
            ExtractedSignature(
                (a, b, c, d), der, pdf[a : a + b] + pdf[c : c + d], is_ts, bytes(signer["signature"].contents), token
            )
        )
    return found


def nss_db(folder: Path, *roots: Path) -> Path:
    """An NSS database trusting ``roots`` (what pdfsig reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True, capture_output=True)
    for n, root in enumerate(roots):
        subprocess.run(
            ["certutil", "-A", "-d", f"sql:{folder}", "-n", f"root-{n}", "-t", "CT,C,C", "-i", str(root)],
            check=True,
            capture_output=True,
        )
    return folder


def pdfsig(pdf: Path, db: Path) -> list[dict[str, str]]:
    """pdfsig's report, one dict per signature. pdfsig exits 0 even when a digest does not match: read its text."""
    out = subprocess.run(["pdfsig", "-nssdir", f"sql:{db}", str(pdf)], capture_output=True, text=True).stdout
    blocks: list[dict[str, str]] = []
    for line in out.splitlines():
        if line.startswith("Signature #"):
            blocks.append({})
        elif line.strip().startswith("- ") and blocks and ":" in line:
            key, _, value = line.strip()[2:].partition(":")
            blocks[-1][key.strip()] = value.strip()
        elif line.strip() in ("- Total document signed", "- Not total document signed") and blocks:
            blocks[-1]["Coverage"] = line.strip()[2:]
    return blocks


def openssl_cms_verify(sig: ExtractedSignature, root: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    (folder / "sig.der").write_bytes(sig.cms)
    (folder / "content.bin").write_bytes(sig.signed_bytes)
    return subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(folder / "sig.der"),
            "-content",
            str(folder / "content.bin"),
            "-CAfile",
            str(root),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
    )


def openssl_ts_verify(
    token: bytes, data: bytes, root: Path, untrusted: Path, folder: Path
) -> subprocess.CompletedProcess[str]:
    (folder / "token.der").write_bytes(token)
    (folder / "data.bin").write_bytes(data)
    return subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-data",
            str(folder / "data.bin"),
            "-in",
            str(folder / "token.der"),
            "-token_in",
            "-CAfile",
            str(root),
            "-untrusted",
            str(untrusted),
        ],
        capture_output=True,
        text=True,
    )


def replace_signature_value(pdf: bytes, index: int, new_cms: bytes) -> bytes:
    """Write ``new_cms`` into the /Contents of signature ``index`` (file order), padded to the same size."""
    sig = extract_signatures(pdf)[index]
    _, b, c, _ = sig.byte_range
    width = c - b - 2
    hex_value = new_cms.hex().encode()
    if len(hex_value) > width:
        raise ValueError("the new signature value does not fit")
    return pdf[: b + 1] + hex_value + b"0" * (width - len(hex_value)) + pdf[c - 1 :]


def swap_signer_certificate(cms_der: bytes, other: x509.Certificate) -> bytes:
    """The same CMS with its signer certificate (and the SignerIdentifier) replaced by ``other``."""
    from asn1crypto import cms
    from asn1crypto import x509 as ax509
    from cryptography.hazmat.primitives.serialization import Encoding

    info = cms.ContentInfo.load(cms_der)
    signed = info["content"]
    signer = signed["signer_infos"][0]
    sid = signer["sid"].chosen
    replacement = ax509.Certificate.load(other.public_bytes(Encoding.DER))
    certs = []
    for choice in signed["certificates"]:
        cert = choice.chosen
        if cert.serial_number == sid["serial_number"].native and cert.issuer == sid["issuer"]:
            certs.append(cms.CertificateChoices({"certificate": replacement}))
        else:
            certs.append(choice)
    signed["certificates"] = certs
    signer["sid"] = cms.SignerIdentifier(
        {"issuer_and_serial_number": {"issuer": replacement.issuer, "serial_number": replacement.serial_number}}
    )
    return bytes(info.dump())


def replace_timestamp_token(cms_der: bytes, token: bytes) -> bytes:
    """The same CMS with its signature timestamp token replaced by ``token``."""
    from asn1crypto import cms

    info = cms.ContentInfo.load(cms_der)
    signer = info["content"]["signer_infos"][0]
    attrs = []
    for attr in signer["unsigned_attrs"]:
        if attr["type"].native == "signature_time_stamp_token":
            attr = cms.CMSAttribute({"type": "signature_time_stamp_token", "values": [cms.ContentInfo.load(token)]})
        attrs.append(attr)
    signer["unsigned_attrs"] = cms.CMSAttributes(attrs)
    return bytes(info.dump())
