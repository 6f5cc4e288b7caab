"""Tree-head timestamps: the cached check agrees with the full one (consentkit.tsa.verify_token) and still
refuses damaged or foreign tokens once a TSA certificate is known."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from asn1crypto import cms

from _audit_fixtures import TestTsa, WorkspaceTsa
from consentkit.audit.tokencache import ChainCache
from consentkit.errors import VerificationError


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> WorkspaceTsa:
    return WorkspaceTsa(tmp_path_factory.mktemp("ws") / "clinic")


def _signed_parts(token: bytes) -> list[tuple[int, int]]:
    signed = cms.ContentInfo.load(token)["content"]
    signer = signed["signer_infos"][0]
    parts = [signed["encap_content_info"]["content"].contents, signer["signed_attrs"].contents]
    parts.append(signer["signature"].contents)
    return [(token.find(p), len(p)) for p in parts]


def test_one_full_check_per_tsa_certificate(tsa: WorkspaceTsa) -> None:
    cache = ChainCache(tsa.verify)
    digests = [hashlib.sha256(str(i).encode()).digest() for i in range(6)]
    tokens = [tsa.timestamp(d).der for d in digests]
    for der, digest in zip(tokens, digests, strict=True):
        assert cache(der, digest).message_imprint == digest
    assert (cache.full_checks, cache.quick_checks) == (1, 5)
    with pytest.raises(VerificationError):
        cache(tokens[1], digests[2])  # over other data


def test_damage_to_what_the_tsa_signed_is_refused_after_caching(tsa: WorkspaceTsa) -> None:
    cache = ChainCache(tsa.verify)
    digest = hashlib.sha256(b"head").digest()
    token = tsa.timestamp(digest).der
    cache(token, digest)
    for start, length in _signed_parts(token):
        for offset in range(0, length, max(1, length // 23)):
            pos = start + offset
            bad = token[:pos] + bytes([token[pos] ^ 0x04]) + token[pos + 1 :]
            with pytest.raises(VerificationError):
                cache(bad, digest)


def test_a_token_from_an_unknown_tsa_is_refused(tsa: WorkspaceTsa, tmp_path: Path) -> None:
    other = TestTsa(tmp_path)  # real tokens, but its root is not a workspace trust anchor
    cache = ChainCache(tsa.verify)
    digest = hashlib.sha256(b"head").digest()
    cache(tsa.timestamp(digest).der, digest)
    with pytest.raises(VerificationError):
        cache(other.timestamp(digest).der, digest)
    assert cache.full_checks == 2
