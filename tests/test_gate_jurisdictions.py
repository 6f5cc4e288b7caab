"""The gate's cooling-off period per jurisdiction, decided by the real policy files (procedures/policies/fr.yaml,
uk.yaml, tw.yaml) over a spec whose own period is shorter (0 days: a workspace override of the demo's procedure,
approved by both reviewers); and the refusals that need a case of their own: a signature the log never recorded,
an operating physician nobody named, a packet file gone.

Each jurisdiction's packet is made, presented and signed for real (embedded TSA); check-ins run on the simulated
clock the demo uses, so the RFC 3161 times move with them."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from _workflow_fixtures import (
    NURSE,
    SECRET,
    Clinic,
    clock_at,
    make_clinic,
    make_packet,
    packet_dir,
    sign,
)
from consentkit.demo import PROCEDURE, REVIEWERS
from consentkit.resources import builtin_dir
from consentkit.review import approve
from consentkit.workflow import CheckinResult, checkin, present_disclosure
from consentkit.workspace import require_workspace

JURISDICTIONS = {  # policy, clinic zone, what the policy requires for a surgical procedure
    "fr": ("Europe/Paris", "at least 15 days"),
    "uk": ("Europe/London", "at least 14 days"),
    "tw": ("Asia/Taipei", "not on the same day"),
}


def use_jurisdiction(clinic: Clinic, jurisdiction: str, zone: str) -> None:
    """Point the clinic's consentkit.toml at another jurisdiction's policy and time zone."""
    toml = clinic.ws.root / "consentkit.toml"
    text = toml.read_text(encoding="utf-8")
    text = re.sub(r'^jurisdiction = "[a-z]+"', f'jurisdiction = "{jurisdiction}"', text, flags=re.M)
    text = re.sub(r'^timezone = "[^"]+"', f'timezone = "{zone}"', text, flags=re.M)
    toml.write_text(text, encoding="utf-8")
    clinic.ws = require_workspace(explicit=clinic.ws.root)
    assert clinic.ws.config.clinic.jurisdiction == jurisdiction
    if jurisdiction not in _APPROVED:  # an approval pins the policy the text was approved under
        for role, name in REVIEWERS.items():
            approve(clinic.ws, PROCEDURE, reviewer=name, role=role, secret=SECRET, check_lint=False)
        _APPROVED.add(jurisdiction)


_APPROVED: set[str] = set()


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Clinic:
    clinic = make_clinic(tmp_path_factory.mktemp("jurisdictions"))
    spec = yaml.safe_load((builtin_dir("procedures") / f"{PROCEDURE}.yaml").read_text(encoding="utf-8"))
    assert spec["category"] == "surgical"
    spec["version"] = "1.0.900"
    spec["cooling_off"] = {"days": 0}  # shorter than every policy below: the policy decides
    own = clinic.ws.root / "procedures" / f"{PROCEDURE}.yaml"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    _APPROVED.clear()
    use_jurisdiction(clinic, "cn", "Asia/Shanghai")
    return clinic


_SIGNED: dict[str, dt.datetime] = {}


def signed_in(clinic: Clinic, jurisdiction: str) -> dt.datetime:
    """Case C-JUR-<JURISDICTION>: a packet made under that jurisdiction's policy and signed by every role (once per
    module); the clinic is left on that jurisdiction. Returns the patient's RFC 3161 signing time."""
    zone, _ = JURISDICTIONS[jurisdiction]
    use_jurisdiction(clinic, jurisdiction, zone)
    case_id = f"C-JUR-{jurisdiction.upper()}"
    if case_id not in _SIGNED:
        from consentkit.audit.log import AuditLog

        make_packet(clinic, case_id)
        present_disclosure(clinic.ws, case_id, how="printed", who=NURSE)
        roles = json.loads((packet_dir(clinic, case_id) / "manifest.json").read_text(encoding="utf-8"))
        sign(clinic, case_id, tuple(roles["required_roles"]))
        with AuditLog.for_workspace(clinic.ws) as log:
            signed = [s.event for s in log.case_events(case_id) if s.event.type == "document.signed"]
        _SIGNED[case_id] = next(e.data.tsa_time for e in signed if e.data.role == "patient")
    return _SIGNED[case_id]


def checkin_at(clinic: Clinic, case_id: str, when: dt.datetime) -> CheckinResult:
    with clock_at(clinic, when) as log:
        return checkin(clinic.ws, case_id, who=NURSE, log=log)


@pytest.mark.parametrize(("jurisdiction", "days"), [("fr", 15), ("uk", 14)])
def test_the_policy_sets_the_period_over_a_shorter_spec(clinic: Clinic, jurisdiction: str, days: int) -> None:
    signed = signed_in(clinic, jurisdiction)
    case_id = f"C-JUR-{jurisdiction.upper()}"
    manifest = yaml.safe_load((packet_dir(clinic, case_id) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["cooling_off"]["days"] == days  # the patient was shown the policy's period
    early = checkin_at(clinic, case_id, signed + dt.timedelta(days=days) - dt.timedelta(hours=1))
    assert early.decision.codes == ["cooling-off-not-elapsed"]
    assert early.decision.period is not None and early.decision.period.days == days
    assert JURISDICTIONS[jurisdiction][1] in early.decision.failures[0].message("en")
    late = checkin_at(clinic, case_id, signed + dt.timedelta(days=days, minutes=1))
    assert late.passed, late.decision.codes


def test_taiwan_not_on_the_same_day_in_the_clinics_zone(clinic: Clinic) -> None:
    signed = signed_in(clinic, "tw")
    zone = ZoneInfo("Asia/Taipei")
    local = signed.astimezone(zone)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    same_day = checkin_at(clinic, "C-JUR-TW", midnight - dt.timedelta(minutes=1))
    assert same_day.decision.codes == ["cooling-off-not-elapsed"]
    assert "not on the same day" in same_day.decision.failures[0].message("en")
    assert same_day.decision.earliest == midnight.astimezone(dt.UTC)
    next_day = checkin_at(clinic, "C-JUR-TW", midnight + dt.timedelta(minutes=1))
    assert next_day.passed, next_day.decision.codes


@pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("openssl", "pdfsig", "xxd", "sha256sum")),
    reason="VERIFY.md needs openssl, pdfsig, xxd and sha256sum (bootstrap.sh installs them)",
)
def test_a_start_on_the_signing_day_fails_the_cooling_off_block_as_verify_evidence_says_no(
    clinic: Clinic, tmp_path: Path
) -> None:
    """VERIFY.md step 9 checked "not on the same day" for the check-in's RFC 3161 lower bound but not for the start
    recorded: a start back-dated to the last minute of the signing day, with the check-in just after midnight,
    passed the block while verify-evidence said NO."""
    from _bundle_tools import blocks, read, run_block, unpack
    from _workflow_fixtures import forge_start
    from consentkit.evidence.verify_bundle import verify_evidence

    signed = signed_in(clinic, "tw")
    zone = ZoneInfo("Asia/Taipei")
    midnight = dt.datetime.combine(signed.astimezone(zone).date() + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    bundle = forge_start(
        clinic,
        "C-JUR-TW",
        tmp_path / "tw.zip",
        clock_reads=midnight + dt.timedelta(seconds=30),
        at=midnight - dt.timedelta(seconds=30),
    )
    report = verify_evidence(bundle)
    assert report.verdict == "too-early" and report.sentence.startswith("NO: the procedure started at")
    folder = unpack(read(bundle), tmp_path / "tw")
    result = run_block(folder, 9, blocks((folder / "VERIFY.md").read_text(encoding="utf-8"))[9])
    assert result.returncode != 0, result.stdout
    assert "from the signature to the check-in: 0 days" in result.stdout  # the check-in itself was the next day


def test_a_signature_the_log_never_recorded_is_refused(clinic: Clinic) -> None:
    """A patient's signature made outside the logged workflow (sign_packet called directly): the file verifies,
    but the clinic's record does not show the patient signing."""
    use_jurisdiction(clinic, "cn", "Asia/Shanghai")
    case_id = "C-JUR-UNLOGGED"
    make_packet(clinic, case_id)
    sign(clinic, case_id, ("clinic", "physician"))
    from consentkit.case import load_case
    from consentkit.sign.signing import sign_packet

    pdf = packet_dir(clinic, case_id) / "packet.pdf"
    sign_packet(clinic.ws, pdf, "patient", None, secret=SECRET, case=load_case(clinic.cases[case_id])[0])
    result = checkin_at(clinic, case_id, dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    assert "signature-not-logged" in result.decision.codes
    failure = next(f for f in result.decision.failures if f.code == "signature-not-logged")
    assert "The clinic's record does not show the patient signing." in failure.message("en")
    assert "signature-invalid" not in result.decision.codes and "packet-altered" in result.decision.codes


def test_an_operating_physician_nobody_named_is_refused(clinic: Clinic, tmp_path: Path) -> None:
    """Where the policy says the operating physician must be the one who consented (fr), a case whose case file is
    gone, with no --physician, cannot be checked: physician-unknown."""
    signed = signed_in(clinic, "fr")
    case_file = clinic.cases["C-JUR-FR"]
    moved = tmp_path / "case.yaml"
    shutil.move(case_file, moved)
    try:
        result = checkin_at(clinic, "C-JUR-FR", signed + dt.timedelta(days=20))
    finally:
        shutil.move(moved, case_file)
    assert result.decision.codes == ["physician-unknown"]
    assert "Give the name with --physician" in result.decision.failures[0].message("en")


def test_a_missing_packet_file_is_refused(clinic: Clinic) -> None:
    use_jurisdiction(clinic, "cn", "Asia/Shanghai")
    case_id = "C-JUR-GONE"
    make_packet(clinic, case_id)
    (packet_dir(clinic, case_id) / "packet.pdf").unlink()
    result = checkin_at(clinic, case_id, dt.datetime.now(dt.UTC))
    assert result.decision.codes == ["packet-missing"]
    assert "The signed packet file is missing" in result.decision.failures[0].message("en")
