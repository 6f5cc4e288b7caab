"""``consentkit demo``: the whole story on the embedded defaults, in a fresh workspace — a clinic's PKI and
embedded TSA, a physician's and a witness's credentials, two reviewers approving the procedure text, a sample
patient's packet, the disclosure handed over, every signature, a check-in refused because the cooling-off period
has not passed, a check-in after it (simulated clock) that passes, and the evidence bundle exported and verified
offline against the clinic's published anchors. Every step goes through :mod:`consentkit.workflow`, exactly as the
CLI does."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from consentkit.audit import clock
from consentkit.errors import ConsentkitError, WorkspaceError

CASE_ID = "DEMO-0001"
PROCEDURE = "double-eyelid-blepharoplasty"
PHYSICIAN = "王医生"
WITNESS = "张护士"
REVIEWERS = {"clinical": "Dr Li Na", "legal": "Wang Fang (legal)"}
PLANNED_IN = dt.timedelta(days=21)
LATE_BY = dt.timedelta(minutes=10)  # the simulated check-in: this long after the cooling-off period ends


@dataclass
class Proof:
    step: str
    proved: str
    where: str
    seconds: float = 0.0


@dataclass
class DemoRun:
    root: Path
    proofs: list[Proof] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0
    ok: bool = False
    passphrase: str = ""  # shown only when the workspace is kept (--keep), so it can be used afterwards
    clock_offset: dt.timedelta = dt.timedelta(0)  # how far the simulated clock ran ahead of the real one


class DemoFailed(ConsentkitError):
    """A step of the demo did not end as the story says it must."""


def sample_case(consultation: dt.datetime, planned: dt.datetime) -> str:
    text = resources.files("consentkit.demo_data").joinpath("case.yaml").read_text(encoding="utf-8")
    return Template(text).substitute(
        consultation_at=consultation.isoformat(timespec="seconds"), planned_at=planned.isoformat(timespec="seconds")
    )


def demo_log(ws: Any, secret: bytes) -> Any:
    """The demo's audit log: heads signed with the workspace's audit-log key and timestamped by its embedded TSA,
    which reads :func:`consentkit.audit.clock.now` — so when the demo simulates the clock, the tokens move with the
    events and heads, and the evidence still verifies. Only the demo (and tests) open the log this way; a workspace's
    own log always uses the machine's clock or an external TSA."""
    from consentkit.audit.log import AuditLog
    from consentkit.pki import WorkspacePki
    from consentkit.tsa.authority import EmbeddedTsa

    def tsa() -> EmbeddedTsa:
        pki = WorkspacePki(ws).require()
        return EmbeddedTsa(pki.certificate("tsa"), pki.private_key("tsa", secret), pki.chain(), clock=clock.now)

    return AuditLog.for_workspace(ws, timestamper=tsa)


def demo_root(keep: Path | None) -> Path:
    if keep is None:
        return Path(tempfile.mkdtemp(prefix="consentkit-demo-"))
    if keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
        raise WorkspaceError(f"{keep} exists and is not empty; give --keep a new or empty folder")
    keep.mkdir(parents=True, exist_ok=True)
    return keep.resolve()


class Demo:
    def __init__(self, root: Path, say: Callable[[str], None]) -> None:
        self.root = root
        self.say = say
        self.run = DemoRun(root)
        self.state: dict[str, Any] = {}
        self._clock = ExitStack()  # the simulated clock, from the late check-in to the end of the story

    # -- the story ---------------------------------------------------------------------------------------------
    def steps(self) -> list[tuple[str, Callable[[], Proof]]]:
        return [
            ("Create the clinic's workspace, PKI and embedded TSA", self.workspace),
            ("Issue credentials: physician, witness, two reviewers", self.credentials),
            ("Two reviewers approve the procedure text", self.approve),
            ("Write a sample patient's case file", self.case),
            ("Make the patient's packet", self.packet),
            ("Hand the disclosure to the patient", self.present),
            ("Sign: clinic, physician, patient, witness, seal", self.sign),
            ("Check in straight away (too early)", self.early_checkin),
            ("Check in after the cooling-off period (simulated clock)", self.late_checkin),
            ("Export the evidence bundle", self.evidence),
            ("Verify the evidence offline", self.verify),
            ("Recompute the whole audit log", self.audit),
        ]

    def workspace(self) -> Proof:
        from consentkit.pki import WorkspacePki
        from consentkit.workspace import init_workspace

        ws = init_workspace(self.root, jurisdiction="cn", timezone="Asia/Shanghai")
        passphrase = secrets.token_urlsafe(18)
        os.environ[ws.config.signing.passphrase_env] = passphrase
        self.state.update(ws=ws, secret=passphrase.encode())
        self.run.passphrase = passphrase
        WorkspacePki(ws).create(passphrase.encode())
        self.say(
            f"    a demo passphrase was generated and set in ${ws.config.signing.passphrase_env} for this process; "
            "every private key under .consentkit/ is encrypted with it"
        )
        self.run.paths["workspace"] = ws.root
        self.run.paths["clinic root certificate"] = ws.signatures_dir / "trust" / "clinic-root.pem"
        return Proof(
            "workspace",
            "a clinic root CA, issuing CA, clinic seal and embedded RFC 3161 TSA exist; keys are encrypted, 0600",
            str(ws.root),
        )

    def credentials(self) -> Proof:
        from consentkit.pki import WorkspacePki

        ws, secret = self.state["ws"], self.state["secret"]
        pki = WorkspacePki(ws).require()
        # each signer's key under their own throwaway passphrase: the workspace passphrase does not open it
        own = self.state["own"] = {
            n: secrets.token_urlsafe(18).encode() for n in (PHYSICIAN, WITNESS, *REVIEWERS.values())
        }
        issued = [
            pki.issue_signer(r, n, secret, passphrase=own[n])
            for r, n in (("physician", PHYSICIAN), ("witness", WITNESS))
        ]
        issued += [
            pki.issue_signer("reviewer", name, secret, review_role=role, passphrase=own[name])
            for role, name in REVIEWERS.items()
        ]
        for record in issued:
            self.say(f"    {record.role:<9} {record.name}  serial {record.serial[:12]}…  ({record.slug})")
        return Proof(
            "credentials", "each signer has their own key, certified by the clinic CA", str(pki.dir / "signers")
        )

    def approve(self) -> Proof:
        from consentkit.review import approvals_dir, approve

        ws, secret = self.state["ws"], self.state["secret"]
        for role, reviewer in REVIEWERS.items():
            done = approve(
                ws, PROCEDURE, reviewer=reviewer, role=role, secret=secret, signer_secret=self.state["own"][reviewer]
            )
            self.say(
                f"    {role:<8} approval by {reviewer}: {PROCEDURE} {done.statement.version}, audit event {done.index}"
            )
        return Proof(
            "approval",
            "the exact disclosure text and templates were approved (clinical + legal), signed and logged",
            str(approvals_dir(ws)),
        )

    def case(self) -> Proof:
        now = dt.datetime.now(self.state["ws"].zone).replace(microsecond=0)
        path = self.root / "cases" / f"{CASE_ID}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        planned = (now + PLANNED_IN).replace(hour=10, minute=0, second=0)  # a morning list, three weeks ahead
        path.write_text(sample_case(now, planned), encoding="utf-8")
        self.state["case_path"] = path
        self.run.paths["case file"] = path
        self.say(f"    {PROCEDURE}, consultation now, operation planned {planned:%Y-%m-%d %H:%M %Z}")
        return Proof(
            "case file", "one patient, one procedure (names stay in the documents, never in the log)", str(path)
        )

    def packet(self) -> Proof:
        from consentkit.workflow import generate_packet

        out = self.root / "packets" / CASE_ID
        made = generate_packet(self.state["ws"], self.state["case_path"], out, who=self._who("staff"), log=self._log())
        m = made.packet.manifest
        self.state["packet"] = made.packet
        self.run.paths["packet"] = made.packet.directory / "packet.pdf"
        self.say(
            f"    packet {m.packet_id}: {len(m.outputs) + 1} files; signers {', '.join(m.required_roles)}; "
            f"approvals cited: {', '.join(a.role for a in m.approvals)}"
        )
        return Proof(
            "packet",
            f"PDF/A packet pinned by hashes (manifest) and logged as packet.generated (event {made.event.index})",
            str(made.packet.directory),
        )

    def present(self) -> Proof:
        from consentkit.workflow import present_disclosure

        done = present_disclosure(self.state["ws"], CASE_ID, how="printed", who=self._who("nurse"), log=self._log())
        return Proof(
            "presented",
            f"the printed disclosure was handed over (disclosure.presented, event {done.index})",
            "audit log",
        )

    def sign(self) -> Proof:
        from consentkit.case import load_case
        from consentkit.sign.signing import SignerRef
        from consentkit.workflow import sign_role

        ws, secret = self.state["ws"], self.state["secret"]
        pdf = self.state["packet"].directory / "packet.pdf"
        case = load_case(self.state["case_path"])[0]
        events = []
        for role, signer in (("clinic", None), ("physician", PHYSICIAN), ("patient", None), ("witness", WITNESS)):
            ref = SignerRef(name=signer, passphrase=self.state["own"][signer]) if signer else None
            step = sign_role(ws, pdf, role, ref, secret=secret, case=case, log=self._log())
            r = step.result
            events += [e.index for e in step.events]
            when = r.tsa_time.astimezone(ws.zone)
            self.say(f"    {role:<9} {r.signer_name:<16} RFC 3161 time {when:%Y-%m-%d %H:%M:%S %Z}")
            if r.seal is not None:
                self.say(f"    {'seal':<9} clinic seal locks every field; document timestamp ({r.seal.pades_level})")
        return Proof(
            "signatures",
            f"PAdES B-LTA: each role signed with its own certificate and an RFC 3161 time; logged (events "
            f"{events[0]}–{events[-1]}) with a signed tree head after each",
            str(pdf),
        )

    def early_checkin(self) -> Proof:
        from consentkit.workflow import checkin

        result = checkin(self.state["ws"], CASE_ID, who=self._who("nurse"), log=self._log())
        if result.passed or "cooling-off-not-elapsed" not in result.decision.codes:
            raise DemoFailed(
                f"the early check-in should have been refused for the cooling-off period: {result.decision.codes}"
            )
        self.state["earliest"] = result.decision.earliest
        for failure in result.decision.failures:
            self.say(f"    REFUSED: {failure.message('zh-CN')}")
            self.say(f"             {failure.message('en')}")
        return Proof(
            "gate refused",
            "the gate refused a start before the cooling-off period ended "
            f"(procedure.checkin, event {result.checkin.index})",
            "audit log",
        )

    def late_checkin(self) -> Proof:
        from consentkit.evidence.gate_words import duration, local_time
        from consentkit.workflow import checkin

        ws = self.state["ws"]
        at = self.state["earliest"] + LATE_BY
        offset = self._clock.enter_context(clock.simulated(at))
        self.run.clock_offset = offset
        self.say(
            f"    SIMULATED CLOCK: from this step on the demo's clock reads {local_time(at, ws.zone)}, "
            f"{duration(offset, 'en')} ahead of the real time. The events, the tree heads and the embedded TSA's "
            "timestamps all use it (a demo-only clock: a real workspace always uses the real time)."
        )
        result = checkin(ws, CASE_ID, who=self._who("nurse"), log=self._log())
        if not result.passed or result.started is None:
            raise DemoFailed(f"the check-in after the cooling-off period should pass: {result.decision.codes}")
        self.state["started_at"] = result.decision.at
        return Proof(
            "gate passed",
            f"every condition held, after a timestamped tree head (simulated clock); procedure.started logged (event "
            f"{result.started.index}) with a signed tree head",
            "audit log",
        )

    def evidence(self) -> Proof:
        from consentkit.evidence.zipread import read_bundle
        from consentkit.workflow import export_evidence

        target = self.root / "evidence" / f"{CASE_ID}-evidence.zip"
        done = export_evidence(self.state["ws"], CASE_ID, target, who=self._who("staff"), log=self._log())
        unpacked = target.with_suffix("")
        for name, data in read_bundle(target).items():
            (unpacked / name).parent.mkdir(parents=True, exist_ok=True)
            (unpacked / name).write_bytes(data)
        self.state["bundle"] = target
        self.run.paths["evidence bundle"] = target
        self.run.paths["disclosure certificate"] = unpacked / "disclosure-certificate.pdf"
        self.run.paths["VERIFY.md"] = unpacked / "VERIFY.md"
        self.say(
            f"    {done.size // 1024} KiB, {len(done.bundle.events)} events with inclusion proofs to a tree head of "
            f"{done.head.size} events; unpacked in {unpacked}"
        )
        return Proof(
            "evidence",
            "a self-contained zip anyone can check with openssl, pdfsig and sha256sum (VERIFY.md)",
            str(target),
        )

    def verify(self) -> Proof:
        from consentkit.evidence.verify_bundle import verify_evidence

        ws = self.state["ws"]
        root_pem = ws.signatures_dir / "trust" / "clinic-root.pem"
        log_key = ws.state_dir / "pki" / "audit-log.pub.pem"
        report = verify_evidence(self.state["bundle"], trust_roots=[root_pem], log_key=log_key)
        self.state["report"] = report
        self.say(f"    {report.sentence}")
        for problem in report.problems:
            self.say(f"    ✗ {problem}")
        for note in report.notes:
            self.say(f"    note: {note}")
        if not report.ok:
            raise DemoFailed("verify-evidence did not confirm the evidence")
        return Proof(
            "verified",
            "offline, against the pinned clinic root and log key: the disclosure preceded the procedure by at least "
            "the cooling-off period",
            f"consentkit verify-evidence {self.state['bundle']}",
        )

    def audit(self) -> Proof:
        report = self._log().verify()
        if not report.ok:
            raise DemoFailed(f"the audit log does not verify: {report.problems[0]}")
        self.run.paths["audit log"] = Path(self.state["ws"].database_url().removeprefix("sqlite:///"))
        self.say(f"    {report.size} events, {report.heads_checked} signed and timestamped tree heads, all consistent")
        return Proof(
            "audit log",
            "no event was edited, removed, inserted or reordered; every head verifies",
            "consentkit audit verify",
        )

    # -- helpers -----------------------------------------------------------------------------------------------
    def _who(self, role: str) -> Any:
        from consentkit.workflow import Actor

        return Actor(f"demo-{role}", role)  # type: ignore[arg-type]

    def _log(self) -> Any:
        if "log" not in self.state:
            self.state["log"] = demo_log(self.state["ws"], self.state["secret"])
        return self.state["log"]

    def close(self) -> None:
        log = self.state.pop("log", None)
        if log is not None:
            log.close()
        self._clock.close()


def run_demo(keep: Path | None, console: Any) -> DemoRun:
    """Run the story, showing progress on ``console`` (a rich Console); raises :class:`DemoFailed` if a step does
    not end as it must."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    root = demo_root(keep)
    start = time.perf_counter()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    demo = Demo(root, lambda text: progress.console.print(text, highlight=False, markup=False))
    steps = demo.steps()
    try:
        with progress:
            task = progress.add_task("demo", total=len(steps))
            for n, (title, step) in enumerate(steps, start=1):
                progress.update(task, description=title)
                began = time.perf_counter()
                progress.console.print(f"[bold]{n:>2}. {title}[/bold]", highlight=False)
                proof = step()
                proof.seconds = time.perf_counter() - began
                demo.run.proofs.append(proof)
                progress.console.print(f"    [green]done[/green] ({proof.seconds:.1f} s)", highlight=False)
                progress.advance(task)
    finally:
        demo.close()
    demo.run.seconds = time.perf_counter() - start
    demo.run.ok = True
    return demo.run
