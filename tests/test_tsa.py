"""RFC 3161: the embedded TSA (in-process and `consentkit tsa serve`), token verification, external TSAs with
failover, and checks by `openssl ts`, a TSA implementation no one here wrote."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import tsp

from _signing_fixtures import PASSPHRASE, OpensslTsa, env_with_passphrase, make_workspace
from consentkit.errors import TimestampError, VerificationError
from consentkit.pki import WorkspacePki
from consentkit.sign.trust import load_certificates
from consentkit.tsa import embedded_tsa, verify_token
from consentkit.tsa.client import HttpTimestamper
from consentkit.tsa.tokens import TimeStampResp, describe_token, wrap_response

SECRET = PASSPHRASE.encode()
DATA = "知情同意 consent".encode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> WorkspacePki:
    return make_workspace(tmp_path_factory.mktemp("tsa") / "ws")[1]


@pytest.fixture(scope="module")
def openssl_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpensslTsa]:
    tsa = OpensslTsa(tmp_path_factory.mktemp("openssl-tsa")).start()
    yield tsa
    tsa.stop()


def openssl_verify(
    token: bytes, data: bytes, root: Path, chain: Path | None, folder: Path
) -> subprocess.CompletedProcess[str]:
    (folder / "token.der").write_bytes(token)
    (folder / "data.bin").write_bytes(data)
    args = [
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
    ]
    if chain is not None:
        args += ["-untrusted", str(chain)]
    return subprocess.run(args, capture_output=True, text=True)


def test_embedded_token_verifies_here_and_in_openssl(pki: WorkspacePki, tmp_path: Path) -> None:
    tsa = embedded_tsa(pki.ws, SECRET)
    token = tsa.timestamp(hashlib.sha256(DATA).digest())
    assert token.digest_algorithm == "sha256" and "Time-Stamping Authority" in token.tsa_name
    checked = verify_token(token.der, DATA, [pki.root])
    assert checked.time == token.time and checked.serial == token.serial
    result = openssl_verify(token.der, DATA, pki.cert_path("root-ca"), pki.cert_path("issuing-ca"), tmp_path)
    assert result.returncode == 0 and "Verification: OK" in result.stdout, result.stderr
    text = subprocess.run(
        ["openssl", "ts", "-reply", "-in", "/dev/stdin", "-text"],
        input=wrap_response(token.der),
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "Hash Algorithm: sha256" in text and "Nonce:" in text and "Accuracy: 0x01 seconds" in text


def test_verify_token_failures_are_verification_errors(pki: WorkspacePki, tmp_path: Path) -> None:
    tsa = embedded_tsa(pki.ws, SECRET)
    token = tsa.timestamp(hashlib.sha256(DATA).digest())
    with pytest.raises(VerificationError, match="covers other data"):
        verify_token(token.der, b"other data", [pki.root])
    with pytest.raises(VerificationError, match="damaged or not a token"):
        verify_token(token.der[:-7], DATA, [pki.root])
    with pytest.raises(VerificationError, match="damaged or not a token"):
        verify_token(b"\x30\x03\x02\x01\x01", DATA, [pki.root])
    other = make_workspace(tmp_path / "other")[1]
    with pytest.raises(VerificationError, match="not from a trusted TSA"):
        verify_token(token.der, DATA, [other.root])
    # a flipped bit in the signed TSTInfo (the genTime): the signature no longer verifies
    der = bytearray(token.der)
    at = der.find(token.time.strftime("%Y%m%d%H%M%S").encode())
    der[at + 3] ^= 0x01
    with pytest.raises(VerificationError):
        verify_token(bytes(der), DATA, [pki.root])
    assert verify_token(token.der, hashlib.sha256(DATA).digest(), [pki.root], is_digest=True).der == token.der


def test_embedded_tsa_rejects_bad_requests(pki: WorkspacePki) -> None:
    tsa = embedded_tsa(pki.ws, SECRET)
    reply = TimeStampResp.load(tsa.respond(b"not a request"))
    assert reply["status"]["status"].native == "rejection"
    request = tsp.TimeStampReq(
        {"version": 1, "message_imprint": {"hash_algorithm": {"algorithm": "md5"}, "hashed_message": b"x" * 16}}
    )
    reply = TimeStampResp.load(tsa.respond(request.dump()))
    assert reply["status"]["status"].native == "rejection"
    assert "bad_alg" in reply["status"]["fail_info"].native


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_tsa_serve_answers_openssl_queries(pki: WorkspacePki, tmp_path: Path) -> None:
    port = _port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "consentkit"), "-w", str(pki.ws.root), "tsa", "serve", "--port", str(port)],
        env=env_with_passphrase(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        (tmp_path / "data").write_bytes(DATA)
        subprocess.run(
            [
                "openssl",
                "ts",
                "-query",
                "-data",
                str(tmp_path / "data"),
                "-sha256",
                "-cert",
                "-out",
                str(tmp_path / "q.tsq"),
            ],
            check=True,
            capture_output=True,
        )
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/",
            data=(tmp_path / "q.tsq").read_bytes(),
            headers={"Content-Type": "application/timestamp-query"},
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.headers["Content-Type"] == "application/timestamp-reply"
            (tmp_path / "r.tsr").write_bytes(reply.read())
        result = subprocess.run(
            [
                "openssl",
                "ts",
                "-verify",
                "-queryfile",
                str(tmp_path / "q.tsq"),
                "-in",
                str(tmp_path / "r.tsr"),
                "-CAfile",
                str(pki.cert_path("root-ca")),
                "-untrusted",
                str(pki.cert_path("issuing-ca")),
            ],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0 and "Verification: OK" in result.stdout, result.stderr
        # and the same server is an external TSA for consentkit's client
        client = HttpTimestamper([f"http://127.0.0.1:{port}/"], timeout=5, trust_roots=[pki.root])
        token = client.timestamp(hashlib.sha256(DATA).digest())
        assert verify_token(token.der, DATA, [pki.root]).tsa_name == token.tsa_name
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert b"PRIVATE" not in server.stdout.read() + server.stderr.read()  # type: ignore[union-attr]


def test_failover_to_the_next_tsa(openssl_tsa: OpensslTsa) -> None:
    dead = f"http://127.0.0.1:{_port()}/tsa"  # nothing listens there
    roots = load_certificates(openssl_tsa.root_pem)
    client = HttpTimestamper([dead, openssl_tsa.url], timeout=2, trust_roots=roots)
    token = client.timestamp(hashlib.sha256(DATA).digest())
    assert "OpenSSL Test TSA" in token.tsa_name
    assert verify_token(token.der, DATA, roots).serial == token.serial
    assert describe_token(token.der).message_imprint == hashlib.sha256(DATA).digest()


def test_no_tsa_answers_means_no_timestamp_and_no_local_clock(openssl_tsa: OpensslTsa) -> None:
    dead = [f"http://127.0.0.1:{_port()}/a", f"http://127.0.0.1:{_port()}/b"]
    client = HttpTimestamper(dead, timeout=1, trust_roots=load_certificates(openssl_tsa.root_pem))
    with pytest.raises(TimestampError) as caught:
        client.timestamp(hashlib.sha256(DATA).digest())
    message = str(caught.value)
    assert dead[0] in message and dead[1] in message and "never falls back to the local clock" in message


def test_untrusted_external_tsa_is_refused(openssl_tsa: OpensslTsa, pki: WorkspacePki) -> None:
    client = HttpTimestamper([openssl_tsa.url], timeout=5, trust_roots=[pki.root])
    with pytest.raises(TimestampError, match="not from a trusted TSA"):
        client.timestamp(hashlib.sha256(DATA).digest())


def test_any_damaged_token_is_a_verification_error(pki: WorkspacePki) -> None:
    """Low-level parser errors never leak: every mutation either still verifies or is a VerificationError."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    token = embedded_tsa(pki.ws, SECRET).timestamp(hashlib.sha256(DATA).digest())

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.tuples(st.integers(0, len(token.der) - 1), st.integers(1, 255)), min_size=1, max_size=4))
    def mutate(flips: list[tuple[int, int]]) -> None:
        der = bytearray(token.der)
        for at, mask in flips:
            der[at] ^= mask
        with contextlib.suppress(VerificationError):
            verify_token(bytes(der), DATA, [pki.root])

    mutate()
