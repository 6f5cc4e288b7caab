"""Signing and verification speed on a real packet (the example case, with a witness: four roles, the clinic seal
and the document timestamp), embedded TSA, warm process.

    .venv/bin/python bench/bench_sign.py [--rounds N] [--profile]

Goals (issue 4): one role ≤ 80 ms warm; a packet through every signature ≤ 0.4 s; verification reported.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
PASSPHRASE = "bench passphrase"
OWN = b"a signer's own passphrase"


def setup(base: Path) -> tuple[object, Path, Path, object]:
    from consentkit.case import load_case
    from consentkit.packet import build_packet
    from consentkit.pki import init_pki
    from consentkit.workspace import init_workspace

    ws = init_workspace(base / "ws")
    pki = init_pki(ws, PASSPHRASE.encode())
    case = yaml.safe_load((REPO / "examples" / "case-botulinum-toxin.yaml").read_text(encoding="utf-8"))
    case["witness"] = {"name": "张护士"}
    physician = case["physicians"]["consulting"]["name"]
    # each signer's key under their own passphrase, as `consentkit pki issue` makes it
    pki.issue_signer("physician", physician, PASSPHRASE.encode(), passphrase=OWN)
    pki.issue_signer("witness", "张护士", PASSPHRASE.encode(), passphrase=OWN)
    from consentkit.review import approve

    for role in ("clinical", "legal"):  # packets need the procedure version approved
        pki.issue_signer("reviewer", f"bench {role}", PASSPHRASE.encode(), review_role=role, passphrase=OWN)
        approve(
            ws,
            "botulinum-toxin",
            reviewer=f"bench {role}",
            role=role,
            secret=PASSPHRASE.encode(),
            check_lint=False,
            signer_secret=OWN,
        )
    case_path = base / "case.yaml"
    case_path.write_text(yaml.safe_dump(case, allow_unicode=True), encoding="utf-8")
    result = build_packet(ws, case_path, base / "packet")
    return ws, result.directory / "packet.pdf", case_path, load_case(case_path)[0]


def signers_for(case: object) -> dict[str, str]:
    return {"physician": case.physicians.consulting.name, "witness": "张护士"}  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--profile", action="store_true", help="profile one warm role signature and one packet")
    args = parser.parse_args()

    from consentkit.sign.signing import SignerRef, SigningSession
    from consentkit.sign.trust import workspace_trust_roots
    from consentkit.sign.verify import verify_packet

    base = Path(tempfile.mkdtemp(prefix="bench-sign-"))
    try:
        ws, pdf, _case_path, case = setup(base)
        unsigned = pdf.read_bytes()
        session = SigningSession(ws, PASSPHRASE.encode())  # type: ignore[arg-type]
        who = signers_for(case)
        roles = ["clinic", "physician", "patient", "witness"]

        def sign(role: str) -> None:
            ref = SignerRef(name=who[role], passphrase=OWN) if role in who else None
            session.sign(pdf, role, ref, case=case if role == "patient" else None)  # type: ignore[arg-type]

        def whole_packet() -> float:
            pdf.write_bytes(unsigned)
            start = time.perf_counter()
            for role in roles:
                sign(role)
            return time.perf_counter() - start

        whole_packet()  # warm: imports, fonts, keys, TSA, validation context
        whole_packet()

        # one role: the physician, on a packet the clinic has certified
        pdf.write_bytes(unsigned)
        sign("clinic")
        certified = pdf.read_bytes()
        role_times = []
        for _ in range(args.rounds):
            pdf.write_bytes(certified)
            start = time.perf_counter()
            sign("physician")
            role_times.append(time.perf_counter() - start)

        packet_times = [whole_packet() for _ in range(max(5, args.rounds // 2))]

        # the first signature of a process: every key unlocked again (PBKDF2, 600,000 rounds a key), one session
        from consentkit import keystore

        pdf.write_bytes(certified)
        keystore._CACHE.clear()
        start = time.perf_counter()
        session = SigningSession(ws, PASSPHRASE.encode())  # type: ignore[arg-type]
        sign("physician")
        cold_role = time.perf_counter() - start
        whole_packet()  # a sealed packet again, for the verification rows
        sealed = pdf.read_bytes()
        roots = workspace_trust_roots(ws)  # type: ignore[arg-type]
        verify_packet(pdf, trust_roots=roots)
        verify_times = []
        for _ in range(max(3, args.rounds // 3)):
            start = time.perf_counter()
            report = verify_packet(pdf, trust_roots=roots)
            verify_times.append(time.perf_counter() - start)
            assert report.ok, report.reasons
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3653)
        start = time.perf_counter()
        assert verify_packet(pdf, trust_roots=roots, at=later).ok
        verify_later = time.perf_counter() - start

        rows = [
            ("sign one role (physician), warm, embedded TSA", statistics.median(role_times), 0.080),
            ("packet: 4 roles + seal + document timestamp", statistics.median(packet_times), 0.400),
            ("first role of a process: keys unlocked, new session", cold_role, None),
            ("verify sealed packet (6 signatures, LTV)", statistics.median(verify_times), None),
            ("verify the same, 10 years ahead, offline", verify_later, None),
        ]
        print(
            f"packet: {len(sealed) / 1024:.0f} KiB, {len(report.signatures)} signatures; "
            f"rounds {args.rounds}; cores {os.cpu_count()}"
        )
        print(f"{'measure':<52} {'median':>10} {'goal':>8}  ")
        print("-" * 76)
        for name, value, goal in rows:
            mark = "" if goal is None else ("ok" if value <= goal else "OVER")
            goal_text = f"{goal * 1000:.0f} ms" if goal else "—"
            print(f"{name:<52} {value * 1000:>7.0f} ms {goal_text:>8}  {mark}")
        print(
            f"min/max one role: {min(role_times) * 1000:.0f}/{max(role_times) * 1000:.0f} ms; "
            f"min/max packet: {min(packet_times) * 1000:.0f}/{max(packet_times) * 1000:.0f} ms"
        )

        if args.profile:
            pdf.write_bytes(certified)
            profiler = cProfile.Profile()
            profiler.enable()
            sign("physician")
            whole_packet()
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
            print(out.getvalue())
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
