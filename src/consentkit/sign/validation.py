"""What pyHanko's validation is told to trust, and the timestamp checks around it: the validation policy (signers
chain to the clinic's roots only; TSAs to theirs), the document timestamps' validation context read from the DSS,
and the reading of a signature's one embedded timestamp token. Used by :mod:`consentkit.sign.verify` and by
archival renewal (:mod:`consentkit.sign.archive`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

from cryptography import x509

from consentkit.sign.signers import asn1_cert
from consentkit.sign.trust import TrustAnchors

TS_FRESHNESS = dt.timedelta(days=365 * 100)


def validation_spec(anchors: TrustAnchors) -> Any:
    from pyhanko.sign.validation.policy_decl import (
        CertificateFetchingRule,
        PdfSignatureValidationSpec,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
    from pyhanko_certvalidator.registry import SimpleTrustManager

    # Signer certificates chain to the clinic's roots only (an external TSA's root CA issues certificates to anyone);
    # revocation data required, judged at signing time through the document timestamps.
    signers = SimpleTrustManager.build(trust_roots=[asn1_cert(c) for c in anchors.signers])
    signer_policy = CertValidationPolicySpec(trust_manager=signers, revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO))
    tsas = SimpleTrustManager.build(trust_roots=[asn1_cert(c) for c in anchors.tsa])
    ts_policy = CertValidationPolicySpec(trust_manager=tsas, revinfo_policy=ts_revocation_policy())
    return PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=signer_policy,
            ts_cert_validation_policy=ts_policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
                certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
            ),
        )
    )


def ts_revocation_policy() -> Any:
    """TSA certificates: revocation data is required when the certificate names where to find it (external TSAs);
    the embedded TSA's certificate names none. The newest timestamp is judged "now", when no fresh CRL can exist
    offline, so embedded revocation data is accepted however old (a revocation listed in it still fails)."""
    from pyhanko_certvalidator.policy_decl import (
        CertRevTrustPolicy,
        FreshnessReqType,
        RevocationCheckingPolicy,
        RevocationCheckingRule,
    )

    declared = RevocationCheckingRule.CHECK_IF_DECLARED
    return CertRevTrustPolicy(
        RevocationCheckingPolicy(ee_certificate_rule=declared, intermediate_ca_cert_rule=declared),
        freshness=TS_FRESHNESS,
        freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION,
    )


def timestamp_context(trust_roots: Sequence[x509.Certificate], reader: Any, at: dt.datetime) -> tuple[Any, str]:
    """The validation context of the document timestamps, from the DSS; a damaged certificate or CRL in the DSS is
    left out and reported (second value) rather than raised from deep inside the certificate registry."""
    from asn1crypto import crl as asn1_crl
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko_certvalidator import ValidationContext

    crls: list[Any] = []
    certs: list[Any] = []
    damaged = 0
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except Exception:  # no DSS: the timestamp chain will be reported untrusted
        dss = None
    if dss is not None:
        for ref in dss.crls:
            try:
                crl = asn1_crl.CertificateList.load(ref.get_object().data)
                _ = crl.native  # parse it all now: asn1crypto parses lazily, and would raise later
                crls.append(crl)
            except Exception:
                damaged += 1
        try:
            loaded = list(dss.load_certs())
        except Exception:
            loaded, damaged = [], damaged + 1
        for cert in loaded:
            try:
                _ = cert.native, cert.key_identifier, cert.authority_key_identifier
                certs.append(cert)
            except Exception:
                damaged += 1
    context = ValidationContext(
        trust_roots=[asn1_cert(c) for c in trust_roots],
        other_certs=certs,
        crls=crls,
        moment=at,
        allow_fetching=False,
        revinfo_policy=ts_revocation_policy(),
    )
    problem = f"the validation data (DSS) holds {damaged} damaged certificate(s) or CRL(s)" if damaged else ""
    return context, problem


def token_trusted_at(sig: Any, trust_roots: Sequence[x509.Certificate], reader: Any, when: dt.datetime) -> bool:
    """Whether the signature's timestamp token validates at ``when`` (the time a later document timestamp proves
    the signature existed), with the packet's own validation data."""
    from asn1crypto import cms as asn1_cms
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data

    from consentkit.tsa.tokens import signature_tokens

    tokens = signature_tokens(sig.signer_info)
    if len(tokens) != 1:  # the same token as _embedded_token reads, or none
        return False
    der = tokens[0]
    value = bytes(sig.signer_info["signature"].native)
    context, _ = timestamp_context(trust_roots, reader, when)
    token = asn1_cms.ContentInfo.load(der)["content"]
    result = asyncio.run(validate_tst_signed_data(token, context, lambda algo: hashlib.new(algo, value).digest()))
    return bool(
        result.get("intact")
        and result.get("valid")
        and result.get("trust_problem_indic") is None
        and result.get("validation_path") is not None
    )


def embedded_token(sig: Any) -> tuple[Any, str | None]:
    """The signature's one timestamp token, described, and a problem when it holds several (pyHanko takes the first
    it trusts, so a reader could show another one than was checked) or the token names its TSA ambiguously."""
    from consentkit.errors import VerificationError
    from consentkit.tsa.tokens import describe_token, signature_tokens

    try:
        tokens = signature_tokens(sig.signer_info)
    except Exception:  # no unsigned attributes, or damaged ones
        return None, None
    if len(tokens) > 1:
        return None, f"its signature holds {len(tokens)} timestamp tokens (one was added or replaced)"
    if not tokens:
        return None, None
    try:
        return describe_token(tokens[0]), None
    except VerificationError as exc:
        return None, f"its timestamp token: {exc.message}"
    except Exception:  # a damaged token: pyHanko's own check reports it
        return None, None


def token_covers_signature(token: Any, sig: Any) -> bool:
    """An RFC 3161 signature timestamp must be over the signature value it sits beside."""
    try:
        value = bytes(sig.signer_info["signature"].native)
        return bool(hashlib.new(token.digest_algorithm, value).digest() == token.message_imprint)
    except (ValueError, TypeError, KeyError):
        return False
