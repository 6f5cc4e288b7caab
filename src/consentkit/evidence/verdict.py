"""The one sentence ``verify-evidence`` answers first: did the disclosure provably precede the procedure by at least
the cooling-off period? YES only when the proof rests on RFC 3161 times (:class:`consentkit.evidence.timeline.
CoolingOff`); otherwise NO, NOT SHOWN or NOT PROVEN, saying which and why."""

from __future__ import annotations

import datetime as dt

from consentkit.cooling_off import CoolingOffPeriod
from consentkit.evidence.gate_words import duration
from consentkit.evidence.report import EvidenceReport
from consentkit.evidence.timeline import CoolingOff, cooling_off

VERDICTS = {"kept": "kept", "too-early": "too-early", "no-start": "no-start"}  # every other judgement: not-proven


def conclude(report: EvidenceReport, started: dt.datetime | None, given: dt.datetime | None) -> EvidenceReport:
    """Set ``report.verdict`` and ``report.sentence`` from its facts; ``given`` is ``--procedure-at``."""
    if given is not None:
        report.procedure_at, report.procedure_source = given.astimezone(dt.UTC), "--procedure-at"
    else:
        report.procedure_at = started
    judged = cooling_off(
        report.period or CoolingOffPeriod(0, False, "packet"),
        report.consent_signed_at,
        report.procedure_at,
        report.zone,
        checked_in_after=report.checked_in_after,
        recorded_before=report.recorded_before,
        given=given is not None,
    )
    kind = "problems" if report.problems else judged.verdict
    report.verdict = VERDICTS.get(kind, "not-proven")
    unpinned = any(not a.pinned for a in report.anchors)
    relative = (
        " (relative to the clinic root and audit-log key inside the bundle, which were not pinned — compare their "
        "fingerprints below with the clinic's published ones)"
        if unpinned and kind != "problems"
        else ""
    )
    report.sentence = _sentence(kind, report, judged) + relative + "."
    return report


def _sentence(kind: str, report: EvidenceReport, c: CoolingOff) -> str:
    zone = report.zone

    def when(value: dt.datetime | None, fraction: bool = False) -> str:
        if value is None:
            return "?"
        here = value.astimezone(zone)
        seconds = f"{here:%S.%f}"[:6] if fraction else f"{here:%S}"
        return f"{here:%Y-%m-%d %H:%M}:{seconds} {here.tzname()}"

    s, e, p, after, before = c.signed_at, c.earliest, c.started, c.checked_in_after, c.recorded_before
    rule = c.period.describe("en") if report.period is not None else "the cooling-off period"
    if kind == "problems":
        count = len(report.problems)
        return (
            f"NOT PROVEN: the evidence does not verify ({count} problem{'s' if count > 1 else ''}, below), so it "
            "cannot show that the disclosure preceded the procedure by the cooling-off period"
        )
    if kind == "unsigned" or s is None or e is None:
        return "NOT PROVEN: the packet holds no verified consent signature, so the cooling-off period never began"
    if kind == "no-start" or p is None:
        return (
            f"NOT SHOWN: no procedure start is recorded in the bundle and none was given (--procedure-at); the "
            f"patient signed the disclosure at {when(s)} and the procedure could start from {when(e)}"
        )
    if kind == "too-early":
        close = e - p < dt.timedelta(minutes=1)  # show the fraction of a second that decided it
        return (
            f"NO: the procedure started at {when(p, close)}, only {duration(p - s, 'en', seconds=True)} after the "
            f"patient signed the disclosure ({when(s, close)}), before the cooling-off period ({rule}) ended at "
            f"{when(e, close)}"
        )
    yes = "YES: the disclosure provably preceded the procedure by at least the cooling-off period — the patient"
    if kind == "kept" and c.given:
        return (
            f"{yes} signed it at {when(s)} (RFC 3161 time) and the procedure started at {when(p)} (the time given "
            f"with --procedure-at), {duration(p - s, 'en', down=True)} later; the period is {rule}"
        )
    if kind == "kept" and after is not None:
        return (
            f"{yes} signed it at {when(s)} and the check-in that let the procedure start happened after {when(after)} "
            f"(both RFC 3161 times), at least {duration(after - s, 'en', down=True)} later; the start was recorded "
            f"for {when(p)}; the period is {rule}"
        )
    if kind == "ahead":
        return (
            f"NOT PROVEN: the start was recorded for {when(p)}, later than the RFC 3161 time of the log right after "
            f"it was recorded ({when(before)}): it was recorded ahead of time, so the log does not show when the "
            "procedure started"
        )
    if kind == "before-checkin":
        return (
            f"NOT PROVEN: the start was recorded for {when(p)}, before the RFC 3161 time the check-in that let it "
            f"start provably followed ({when(after)}): the procedure did not provably follow the gate (a check-in "
            "recorded after the start, or a start back-dated)"
        )
    if kind == "early-checkin":
        return (
            f"NOT PROVEN: the check-in that let the procedure start is proven only to have happened after "
            f"{when(after)} (RFC 3161 time), before the cooling-off period ({rule}) ended at {when(e)}; the start "
            f"time recorded ({when(p)}) is the clinic's own clock"
        )
    return (
        f"NOT PROVEN: no RFC 3161 time shows when the check-in happened (its event names no timestamped tree head), "
        f"so the start recorded for {when(p)} is only the clinic's own clock; give the time from the operating record "
        "with --procedure-at to judge it"
    )
