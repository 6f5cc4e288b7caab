"""VERIFY.md: how to check an evidence bundle with tools no one at the clinic wrote — ``sha256sum``, ``openssl``,
``pdfsig``/``certutil``, ``xxd`` and GNU ``date`` — one copy-pasteable ``sh`` block per check, each ending in a
command that fails when the check fails, followed by the output to expect. ``tests/test_evidence_verify_md.py``
runs every block against real bundles, intact and tampered."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from consentkit.evidence import bundle as b
from consentkit.evidence.gate_words import duration
from consentkit.evidence.history import LoggedEvent, file_events
from consentkit.evidence.signatures import PacketSignature
from consentkit.evidence.verify_md_cooling import cooling_section
from consentkit.evidence.verify_md_sh import CHECK, DUMP, FOLD, STAMP, check_call, out, sh

if TYPE_CHECKING:
    from consentkit.evidence.bundle import BundleContext

TOOLS = "sha256sum, date (GNU coreutils), openssl (1.1 or 3), pdfsig (poppler-utils), certutil (libnss3-tools), xxd"


def _openssl_time(value: dt.datetime) -> str:
    """How ``openssl ts -reply -text`` prints a time: ``Nov 25 05:49:23.421 2026 GMT``."""
    value = value.astimezone(dt.UTC)
    millis = f".{value.microsecond // 1000:03d}".rstrip("0").rstrip(".")
    return f"{value:%b} {value.day:2d} {value:%H:%M:%S}{millis} {value.year} GMT"


def _colon_fingerprint(digest: bytes) -> str:
    return ":".join(f"{x:02X}" for x in digest)


def verify_md(c: BundleContext, files: dict[str, bytes]) -> str:
    m = c.manifest
    zone = c.ws.zone
    root = x509.load_pem_x509_certificate(files[b.CLINIC_ROOT])
    log_key = serialization.load_pem_public_key(files[b.LOG_KEY])
    spki = log_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    log_fp = hashlib.sha256(spki).hexdigest()
    root_fp = root.fingerprint(hashes.SHA256())
    head = c.head
    head_time = _openssl_time(_token_time(head.token))
    parts: list[str] = []
    add = parts.append
    add("# Checking this evidence without consentkit\n\n")
    add(
        f"Case **{m.case_id}**, packet **{m.packet_id}** ({m.procedure.id} {m.procedure.version}), exported "
        f"{c.now:%Y-%m-%d %H:%M:%S} UTC by consentkit. Times below are UTC unless a zone is named; the clinic's zone "
        f"is {zone.key}.\n\n"
        "This folder holds a signed consent packet and the clinic's audit-log records of what happened to it. Each "
        "block below is a bash script to run in the folder where the bundle was unzipped "
        "(`unzip bundle.zip -d evidence && cd evidence`): paste it into bash, or save it as `block.sh` and run "
        "`bash block.sh` (not `sh`, which lacks `pipefail` and refuses the first line). Each starts with "
        "`set -eu -o pipefail`, so it stops with a non-zero exit status at the first check that fails; each is "
        f"followed by the output to expect. Tools: {TOOLS}.\n\n"
        "Two things must come from somewhere other than this bundle: the fingerprints of the clinic's root "
        "certificate and of its audit-log key (step 2). Everything else is proved from those two.\n\n"
    )
    add("## 1. The files are the ones exported\n\n")
    add(sh("sha256sum -c SHA256SUMS"))
    add(
        f"Expected: {len(files) - 1} lines, each ending in `OK`. This only shows the files were not damaged in "
        "transit: whoever edits a file can edit SHA256SUMS too. The checks below are the ones that count.\n\n"
    )
    add("## 2. The trust anchors\n\n")
    add(
        sh(
            "ROOT_FP=$(openssl x509 -in certs/clinic-root.pem -noout -fingerprint -sha256 | cut -d= -f2)",
            "LOG_FP=$(openssl pkey -pubin -in keys/audit-log.pub.pem -outform DER | openssl dgst -sha256 -r "
            "| cut -c1-64)",
            'echo "clinic root:   $ROOT_FP"',
            'echo "audit-log key: $LOG_FP"',
            f'test "$ROOT_FP" = "{_colon_fingerprint(root_fp)}"',
            f'test "$LOG_FP" = "{log_fp}"',
        )
    )
    add("Expected:\n\n")
    add(out(f"clinic root:   {_colon_fingerprint(root_fp)}", f"audit-log key: {log_fp}"))
    add(
        "The block fails if the files are not the ones this bundle was exported with. That is not enough: "
        "compare both values with the fingerprints the clinic published (or with an earlier copy). If either "
        "differs, stop: nothing below proves anything.\n\n"
    )
    add("## 3. The audit log's tree head: signed with the log key, timestamped\n\n")
    add(
        sh(
            "openssl dgst -sha256 -verify keys/audit-log.pub.pem -signature log/head.sig log/head.json",
            "openssl ts -verify -data log/head.json -in log/head.tsr -CAfile certs/trust-roots.pem "
            "-untrusted certs/issuing-ca.pem",
            "openssl ts -reply -in log/head.tsr -text | grep '^Time stamp'",
            "LOG=$(openssl pkey -pubin -in keys/audit-log.pub.pem -outform DER | openssl dgst -sha256 -r | cut -c1-64)",
            'grep -q "\\"log\\":\\"sha256:$LOG\\"" log/head.json',
            "echo 'the head names this log key'",
        )
    )
    add("Expected:\n\n")
    add(out("Verified OK", "Verification: OK", f"Time stamp: {head_time}", "the head names this log key"))
    add(
        f"`log/head.json` says that at that time the clinic's log held **{head.size}** events and that their "
        f"Merkle tree (RFC 9162) had the root `{head.root.hex()}`.\n\n"
    )
    add(_events_section(c))
    add(_packet_section(c))
    add(_pdfsig_section(c.signatures))
    add(_cms_section(c.signatures, c.signed_events))
    add(_timestamp_section(c.signatures))
    add(cooling_section(c))
    add(_approvals_section(c, files))
    add(
        "## What these checks do not show\n\n"
        "- That the bundle holds *every* event of the case: the head commits to the whole log, so the clinic can "
        "be asked for any other event of this case with its proof to the same head.\n"
        "- The procedure's start time is the clinic's record (the check-in time the gate judged), not an RFC 3161 "
        "time; the patient's signature time is.\n"
        '- The clinic\'s time zone, used only to show local times and for a "not on the same day" rule, comes '
        "from `bundle.json`, which nothing signs.\n"
    )
    return "".join(parts)


def _token_time(token_der: bytes) -> dt.datetime:
    from consentkit.tsa.tokens import describe_token

    return describe_token(token_der).time


def _events_section(c: BundleContext) -> str:
    lines = [
        "## 4. Every event in this bundle is in that tree\n\n",
        "Each `log/events/<index>-<type>.json` holds an event's exact bytes. Its leaf hash is "
        "SHA-256(0x00 ‖ bytes); `log/proofs/<index>.path` lists the sibling hashes from the leaf up to the root, "
        "`L` when the sibling is on the left, and each step is SHA-256(0x01 ‖ left ‖ right). The loop folds every "
        "proof and compares the result with the root in `log/head.json`. (`log/proofs/<index>.json` holds the same "
        "proof with the leaf index and tree size, for RFC 9162 verifiers.)\n\n",
        sh(
            *FOLD,
            'ROOT=$(grep -o \'"root":"[0-9a-f]*"\' log/head.json | cut -d\'"\' -f4)',
            "fail=0",
            "for event in log/events/*.json; do",
            '  n=$(basename "$event" .json)',
            '  if [ "$(root_of "$event" "log/proofs/${n%%-*}.path")" = "$ROOT" ]; then echo "$n: in the tree"',
            '  else echo "$n: NOT in the tree"; fail=1; fi',
            "done",
            'test "$fail" = 0',
        ),
        "Expected:\n\n",
        out(*(f"{b.event_name(e.index, e.type)[11:-5]}: in the tree" for e in c.events)),
        "The events, in log order (read any of them with `cat`; they hold codes, ids and hashes, never names):\n\n",
        "| # | event | logged (UTC) | what it records |\n|---|---|---|---|\n",
    ]
    for e in c.events:
        lines.append(f"| {e.index} | `{e.type}` | {e.time:%Y-%m-%d %H:%M:%S} | {_describe(e)} |\n")
    lines.append("\n")
    return "".join(lines)


def _describe(e: LoggedEvent) -> str:
    d = e.event.data
    if e.type == "packet.generated":
        return f"packet made from {d.procedure} {d.version}; hashes of the manifest and every file"
    if e.type == "disclosure.presented":
        return (
            f"disclosure {'handed over, printed' if d.how == 'printed' else 'shown on screen'} ({', '.join(d.locales)})"
        )
    if e.type == "document.signed":
        return f"`{d.field}` signed ({d.role}); RFC 3161 time {d.tsa_time:%Y-%m-%d %H:%M:%S}; the file after it"
    if e.type == "document.timestamped":
        return (
            f"archival timestamp `{d.field}` renewed; RFC 3161 time {d.tsa_time:%Y-%m-%d %H:%M:%S}; the file after it"
        )
    if e.type == "procedure.checkin":
        why = f": {', '.join(d.reasons)}" if d.reasons else ""
        return f"check-in for {d.at:%Y-%m-%d %H:%M:%S}: **{d.outcome}**{why}"
    if e.type == "procedure.started":
        return f"procedure started at {d.at:%Y-%m-%d %H:%M:%S}"
    if e.type == "spec.approved":
        return f"{d.review} approval of {d.procedure} {d.version} by `{e.event.actor.id}`"
    return e.type


def _packet_section(c: BundleContext) -> str:
    m = c.manifest
    assert m.packet is not None
    gen = b.event_name(c.generated.index, c.generated.type)
    recorded = file_events(c.events, c.generated)  # each signature, and each archival timestamp renewal
    last = recorded[-1] if recorded else None
    final = hashlib.sha256(c.pdf).hexdigest()
    lines = [
        "## 5. The packet is the one the log recorded\n\n",
        "`packet.pdf` was printed from the first "
        f"{m.packet.size} bytes; every signature appended a revision after them"
        + (", and so did each archival timestamp renewal (`document.timestamped`)" if _renewals(recorded) else "")
        + ".\n\n",
    ]
    cmds = [
        "sha256sum packet/packet.pdf packet/manifest.json",
        f"head -c {m.packet.size} packet/packet.pdf | sha256sum",
        f'grep -q "sha256:$(sha256sum < packet/manifest.json | cut -c1-64)" {gen}',
        'echo "manifest: recorded when the packet was made"',
        f'grep -q "sha256:$(head -c {m.packet.size} packet/packet.pdf | sha256sum | cut -c1-64)" {gen}',
        'echo "packet as printed: recorded when it was made"',
    ]
    expected = [
        f"{final}  packet/packet.pdf",
        f"{hashlib.sha256(c.manifest_bytes).hexdigest()}  packet/manifest.json",
        f"{m.packet.sha256}  -",
        "manifest: recorded when the packet was made",
        "packet as printed: recorded when it was made",
    ]
    ends = sorted({s.ranges[2] + s.ranges[3] for s in c.signatures})  # the file as each signature left it
    for before, renewal in _renewals(recorded):
        previous = renewal.event.data.previous.removeprefix("sha256:")
        size = next((n for n in ends if hashlib.sha256(c.pdf[:n]).hexdigest() == previous), None)
        if size is None:
            continue  # verify-evidence reports it; no prefix of this file is the one renewed
        prefix = f"$(head -c {size} packet/packet.pdf | sha256sum | cut -c1-64)"
        field = renewal.event.data.field
        cmds += [
            f'grep -q "sha256:{prefix}" {b.event_name(before.index, before.type)}',
            f'grep -q "\\"previous\\":\\"sha256:{prefix}\\"" {b.event_name(renewal.index, renewal.type)}',
            f'echo "{field}: renewed the file the log recorded before it"',
        ]
        expected.append(f"{field}: renewed the file the log recorded before it")
    if last is not None:
        name = b.event_name(last.index, last.type)
        what = "archival timestamp" if last.type == "document.timestamped" else "signature"
        cmds += [
            f'grep -q "sha256:$(sha256sum < packet/packet.pdf | cut -c1-64)" {name}',
            f'echo "signed packet: recorded after the last {what}"',
        ]
        expected.append(f"signed packet: recorded after the last {what}")
    lines += [sh(*cmds), "Expected:\n\n", out(*expected), "\n"]
    return "".join(lines)


def _renewals(recorded: list[LoggedEvent]) -> list[tuple[LoggedEvent, LoggedEvent]]:
    """Each archival timestamp renewal with the file event just before it."""
    return [(recorded[n - 1], e) for n, e in enumerate(recorded) if n and e.type == "document.timestamped"]


def _pdfsig_section(signatures: Sequence[PacketSignature]) -> str:
    signed = [s for s in signatures if not s.is_document_timestamp]
    listing = ", ".join(f"#{s.number + 1} `{s.field}` ({s.role})" for s in signatures)
    return "".join(
        [
            "## 6. The signatures, with pdfsig\n\n",
            f"pdfsig numbers the signatures from 1: {listing}.\n\n",
            sh(
                "rm -rf nss && mkdir nss && certutil -N -d sql:nss --empty-password",
                'certutil -A -d sql:nss -n clinic-root -t "CT,C,C" -i certs/clinic-root.pem',
                "pdfsig -nssdir sql:nss packet/packet.pdf > pdfsig.txt; cat pdfsig.txt",
                f"test \"$(grep -c 'Signature is Valid.' pdfsig.txt)\" -eq {len(signed)}",
                f"test \"$(grep -c 'Certificate is Trusted.' pdfsig.txt)\" -eq {len(signed)}",
            ),
            f"Expected: for each of the {len(signed)} signatures `Signature Validation: Signature is Valid.` and "
            "`Certificate Validation: Certificate is Trusted.`; "
            + (
                "each document timestamp (the last entries) shows "
                if len(signatures) - len(signed) > 1
                else "the document timestamp (the last entry) shows "
            )
            + "`Signature has not yet been verified.` — pdfsig cannot check timestamps (step 8 does). pdfsig exits 0 "
            "even when a signature is broken (`Digest Mismatch.`), so the `test` lines count its words.\n\n",
        ]
    )


def _cms_section(signatures: Sequence[PacketSignature], events: Sequence[LoggedEvent]) -> str:
    times = {e.event.data.field: e.event.data.tsa_time for e in events}
    calls = [check_call(s, times.get(s.field)) for s in signatures if not s.is_document_timestamp]
    return "".join(
        [
            "## 7. Each signature, with openssl\n\n",
            "`pdfsig -dump` writes each signature's CMS as `packet.pdf.sig<N>` (from 0). A signature covers two byte "
            "ranges of the file (pdfsig's `Signed Ranges`): everything except its own value. The certificates are "
            "checked at the signing time (`-attime`, the RFC 3161 time in seconds since 1970): a patient's one-time "
            "certificate is valid for 30 days only.\n\n",
            sh(
                DUMP,
                *CHECK,
                *calls,
            ),
            f"Expected: `CMS Verification successful` {len(calls)} times.\n\n",
        ]
    )


def _timestamp_section(signatures: Sequence[PacketSignature]) -> str:
    calls = [f"stamp {s.number} {s.name}" for s in signatures if not s.is_document_timestamp and s.token_der]
    docs = [s for s in signatures if s.is_document_timestamp]  # the seal's, then each archival renewal's
    expected = []
    for s in signatures:
        if s.token_der is None:
            continue
        expected.append("Verification: OK")
        expected.append(f"{s.name}: Time stamp: {_openssl_time(_token_time(s.token_der))}")
    lines = [
        "## 8. The RFC 3161 timestamps\n\n",
        "Each signature carries a token from the time-stamping authority over its signature value: the proof of "
        "*when* it was made. `stamp` cuts the value and the token out of the CMS, checks the token, checks that "
        "`timestamps/<role>.tsr` in this bundle holds the same token, and prints its time (UTC).\n\n",
    ]
    cmds = [
        DUMP,
        *STAMP,
        *calls,
    ]
    for doc in docs:
        _, first, start, length = doc.ranges
        n, name = doc.number, doc.name
        cmds += [
            f"# {name} ({doc.field}): its CMS is itself the token, over the file's byte ranges",
            f"head -c {first} packet/packet.pdf > sig{n}.signed",
            f"head -c {start + length} packet/packet.pdf | tail -c {length} >> sig{n}.signed",
            f"D=$(openssl asn1parse -inform DER -in packet.pdf.sig{n} | sed -n 1p)  # the token: header and length",
            f'openssl asn1parse -inform DER -in packet.pdf.sig{n} -length "$(_len "$D")" -out sig{n}.token -noout',
            f"openssl ts -verify -data sig{n}.signed -in sig{n}.token -token_in -CAfile certs/trust-roots.pem "
            "-untrusted certs/issuing-ca.pem",
            f"openssl ts -reply -in timestamps/{name}.tsr -token_out -out {name}.token",
            f"cmp {name}.token sig{n}.token",
            f"echo \"{name}: $(openssl ts -reply -in timestamps/{name}.tsr -text | grep '^Time stamp')\"",
        ]
    lines += [sh(*cmds), "Expected:\n\n", out(*expected), "\n"]
    return "".join(lines)


def _approvals_section(c: BundleContext, files: dict[str, bytes]) -> str:
    m = c.manifest
    lines = ["## 10. Who approved the disclosure text the patient signed\n\n"]
    if not m.approvals:
        lines.append("The manifest cites no approval of this procedure version.\n\n")
        return "".join(lines)
    lines.append(
        f"The manifest cites {len(m.approvals)} approval(s) of {m.procedure.id} {m.procedure.version} (spec hash "
        f"`{m.procedure.spec_hash}`). Each reviewer signed a statement naming that hash with their own key; the "
        "log recorded it as a `spec.approved` event (step 4 proved it is in the tree).\n\n"
    )
    by_leaf = {"sha256:" + e.leaf.hex(): e for e in c.events if e.type == "spec.approved"}
    cmds: list[str] = []
    expected: list[str] = []
    unproven: list[str] = []  # approvals cited without their signed statement: the block fails on them
    for ref in m.approvals:
        event = by_leaf.get(ref.event_hash)
        if event is None:
            lines.append(f"- {ref.role}: {ref.reviewer} — its event is not in this bundle.\n")
            unproven.append(f"{ref.role}: its spec.approved event is not in this bundle")
            continue
        names = [d.name for d in event.event.documents]
        statement = next((n for n in names if n.endswith(".statement.json")), None)
        signature = next((n for n in names if n.endswith(".p7s")), None)
        lines.append(
            f"- **{ref.role}**: {ref.reviewer}, {ref.approved_at:%Y-%m-%d %H:%M:%S} UTC "
            f"(`{b.event_name(event.index, event.type)}`)\n"
        )
        if statement and signature and f"approvals/{statement}" in files and f"approvals/{signature}" in files:
            ev_file = b.event_name(event.index, event.type)
            cmds += [
                f"openssl cms -verify -binary -inform DER -in approvals/{signature} -content approvals/{statement} \\",
                f"  -CAfile certs/clinic-root.pem -purpose any -attime {int(ref.approved_at.timestamp())} "
                "-out /dev/null",
                f'grep -q "sha256:$(sha256sum < approvals/{statement} | cut -c1-64)" {ev_file}',
                f'echo "{ref.role}: statement recorded in the log"',
                f'grep -q \'"spec":"{m.procedure.spec_hash}"\' approvals/{statement}',
                f'echo "{ref.role}: approves the spec hash in the manifest"',
            ]
            expected += [
                "CMS Verification successful",
                f"{ref.role}: statement recorded in the log",
                f"{ref.role}: approves the spec hash in the manifest",
            ]
        else:
            lines.append("  Its signed statement is not in this bundle, so this approval is not proven.\n")
            unproven.append(f"{ref.role}: no signed statement in this bundle")
    lines.append("\n")
    if cmds:
        cmds += [
            'grep -o \'"spec_hash": "[^"]*"\' packet/manifest.json',
            f'grep -q \'"spec_hash": "{m.procedure.spec_hash}"\' packet/manifest.json',
        ]
        expected.append(f'"spec_hash": "{m.procedure.spec_hash}"')
    if unproven:
        cmds += [*(f'echo "{why}: NOT proven"' for why in unproven), "exit 1"]
    if cmds:
        lines += [sh(*cmds), "Expected:\n\n", out(*expected), "\n"]
    return "".join(lines)


__all__ = ["duration", "verify_md"]
