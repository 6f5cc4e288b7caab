"""VERIFY.md step 9, the cooling-off period, with RFC 3161 times only: the patient's signing time (the token in the
packet) against a lower bound on the check-in (the token of the tree head the check-in names, which nobody could
know before the TSA issued it), and the recorded start against an upper bound (the token of the first head whose
tree holds the start). See :mod:`consentkit.evidence.checkin_heads`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from consentkit.evidence import bundle as b
from consentkit.evidence.checkin_heads import head_dir, start_and_checkin
from consentkit.evidence.timeline import START_SKEW
from consentkit.evidence.verify_md_sh import CHECK, DUMP, FOLD, STAMP, TSA_ANCHORS, TSA_TIME, check_call, out, sh

if TYPE_CHECKING:
    from consentkit.audit.heads import SignedTreeHead
    from consentkit.evidence.bundle import BundleContext

NS = 1_000_000_000
MANIFEST_VALUE = 'grep -o \'"{key}": "[^"]*"\' packet/manifest.json | cut -d\'"\' -f4'


def cooling_section(c: BundleContext) -> str:
    """The section's text. Its block stands alone: it checks the consenting signatures and their RFC 3161 tokens
    itself (as steps 7 and 8 do), and the events and heads it reads; it rests only on step 2's anchors (and step 5
    for the packet being the one the log recorded)."""
    m = c.manifest
    zone = c.ws.zone.key
    consenting = [r for r in ("patient", "guardian") if r in m.required_roles]
    days, same_day = m.cooling_off.days, m.cooling_off.not_same_day
    rule = f"at least {days} days ({days * 24} hours)" + (", and not on the day of signing" if same_day else "")
    period_ns = days * 86400 * NS
    case_events = [e for e in c.events if e.index >= c.generated.index]
    start, checkin = start_and_checkin(case_events)
    lines = [
        "## 9. The cooling-off period\n\n",
        f"The packet promised the patient a cooling-off period of {rule} after signing "
        f"(`cooling_off` in `packet/manifest.json`). The signing time is the RFC 3161 time of the "
        f"{' and '.join(consenting)} signature. The block checks that signature over the packet and its token "
        "itself (as steps 7 and 8 do): it rests only on step 2's anchors, and on step 5 for `packet.pdf` being the "
        "packet the log recorded.\n\n",
    ]
    signed = [(role, _token_time(c, role)) for role in consenting]
    consent = _consent_checks(c, consenting)
    if start is None:
        lines.append(
            "**No procedure start is recorded in this bundle.** Set `STARTED` to the start time from the operating "
            "record (e.g. `STARTED=2026-12-10T09:00:00+08:00`) before running the block; it then checks that time "
            "against the signature's.\n\n"
        )
        cmds = [
            "STARTED=${STARTED:?set STARTED to the procedure start time, e.g. 2026-12-10T09:00:00+08:00}",
            TSA_TIME,
            *consent,
        ]
        for role, _ in signed:
            cmds += _signed(role, zone, "STARTED", period_ns, same_day)
        lines += [sh(*cmds), _fails(days, same_day, "the time you set")]
        return "".join(lines)
    lower, upper = c.checkin_lower, c.checkin_upper
    if checkin is None or lower is None or upper is None:
        lines.append(
            "**This cannot be proven from RFC 3161 times**: the check-in that let the procedure start names no "
            "timestamped tree head (it was logged before consentkit recorded one), so the start time is only the "
            "clinic's own record. The block says so and fails.\n\n"
        )
        lines.append(sh('echo "no RFC 3161 time bounds the check-in"', "exit 1"))
        return "".join(lines)
    low, high = head_dir(lower), head_dir(upper)
    skew = int(START_SKEW.total_seconds())
    start_file, checkin_file = b.event_name(start.index, start.type), b.event_name(checkin.index, checkin.type)
    lines.append(
        "The start time in the `procedure.started` event is the clinic's record; what proves the period is RFC 3161 "
        f"time. Just before the check-in, the clinic's log made a tree head (`{low}/`) and had it timestamped; the "
        "check-in event holds the SHA-256 of that head and of its token, which nobody could know before the TSA "
        "issued it, so **the check-in happened after that token's time**. The first head whose tree holds the start "
        f"(`{high}/`) was timestamped after the start was recorded, so **the start was recorded before its time**. "
        "The block checks both heads, that the check-in passed and both events are this case's and this patient's "
        "(the manifest's), that the patient's signature plus the period came before the check-in, and that the "
        "start recorded lies between the two times.\n\n"
    )
    cmds = [
        *FOLD,
        TSA_TIME,
        f"START={start_file}",
        f"CHECKIN={checkin_file}",
        f"LOW={low}    # the head the check-in names",
        f"HIGH={high}  # the first head whose tree holds the start",
        "# the start refers to the check-in, which passed; both are about the manifest's case and patient",
        'grep -q "sha256:$( (printf \'\\000\'; cat "$CHECKIN") | sha256sum | cut -c1-64)" "$START"',
        'grep -qF \'"outcome":"pass","reasons":[]}\' "$CHECKIN"  # data: at, outcome, reasons',
        f"CASE=$({MANIFEST_VALUE.format(key='case_id')})",
        f"SUBJECT=$({MANIFEST_VALUE.format(key='subject')})",
        'for event in "$CHECKIN" "$START"; do grep -qF "\\"case\\":\\"$CASE\\",\\"data\\"" "$event"; '
        'grep -qF "\\"subject\\":\\"$SUBJECT\\",\\"time\\"" "$event"; done',
        "# the check-in names the lower head and its token",
        'grep -q "sha256:$(sha256sum < "$LOW/head.json" | cut -c1-64)" "$CHECKIN"',
        'grep -q "sha256:$(sha256sum < "$LOW/head.tsr" | cut -c1-64)" "$CHECKIN"',
        f'openssl ts -verify -data "$LOW/head.json" -in "$LOW/head.tsr" {TSA_ANCHORS}',
        "# the upper head is the clinic's, timestamped, and its tree holds the start",
        'openssl dgst -sha256 -verify keys/audit-log.pub.pem -signature "$HIGH/head.sig" "$HIGH/head.json"',
        f'openssl ts -verify -data "$HIGH/head.json" -in "$HIGH/head.tsr" {TSA_ANCHORS}',
        f'test "$(root_of "$START" "$HIGH/proofs/{start.index:08d}.path")" = '
        '"$(grep -o \'"root":"[0-9a-f]*"\' "$HIGH/head.json" | cut -d\'"\' -f4)"',
        'STARTED=$(grep -o \'"at":"[^"]*"\' "$START" | cut -d\'"\' -f4)',
        'AFTER=$(tsa_time "$LOW/head.tsr")',
        'BEFORE=$(tsa_time "$HIGH/head.tsr")',
        f'echo "check-in after:     $(TZ={zone} date -d "$AFTER" \'+%Y-%m-%d %H:%M:%S %Z\')"',
        f'echo "start recorded for: $(TZ={zone} date -d "$STARTED" \'+%Y-%m-%d %H:%M:%S %Z\')"',
        f'echo "recorded before:    $(TZ={zone} date -d "$BEFORE" \'+%Y-%m-%d %H:%M:%S %Z\')"',
        f"# not recorded ahead of time (up to {skew} s of clock difference)",
        f'test "$(date -d "$STARTED" +%s)" -le $(( $(date -d "$BEFORE" +%s) + {skew} ))',
        f"# nor for a time before the check-in provably happened (up to {skew} s of clock difference)",
        f'test "$(date -d "$STARTED" +%s%N)" -ge $(( $(date -d "$AFTER" +%s%N) - {skew * NS} ))',
        *consent,
    ]
    expected = [
        f"check-in after:     {_local(_head_time(lower), c)}",
        f"start recorded for: {_local(start.event.data.at, c)}",
        f"recorded before:    {_local(_head_time(upper), c)}",
    ]
    for role, when in signed:
        cmds += _signed(role, zone, "AFTER", period_ns, same_day)
        cmds += _signed_before(role, zone, period_ns, same_day)
        if when is not None:
            gap = _head_time(lower) - when
            expected += [
                f"{role} signed:     {_local(when, c)}",
                f"from the signature to the check-in: {gap.days} days {gap.seconds // 3600} hours "
                f"{gap.seconds % 3600 // 60} minutes",
            ]
    lines += [sh(*cmds), "Expected:\n\n", out(*expected), _fails(days, same_day, "the check-in or the start")]
    return "".join(lines)


def _consent_checks(c: BundleContext, consenting: Sequence[str]) -> list[str]:
    """The consenting signatures over the packet and their RFC 3161 tokens, checked in this block (the
    ``timestamps/<role>.tsr`` whose time it reads is the token in the signature)."""
    times = {e.event.data.field: e.event.data.tsa_time for e in c.signed_events}
    sigs = [s for s in c.signatures if s.role in consenting and not s.is_document_timestamp]
    if not sigs:
        return []
    return [
        f"# the {' and '.join(consenting)} signature over the packet, and its RFC 3161 token (as steps 7 and 8 do)",
        DUMP,
        *CHECK,
        *STAMP,
        *(check_call(s, times.get(s.field)) for s in sigs),
        *(f"stamp {s.number} {s.name}" for s in sigs),
    ]


def _signed(role: str, zone: str, later: str, period_ns: int, same_day: bool) -> list[str]:
    """Read ``role``'s RFC 3161 signing time and test that ``$later`` is at least the period after it (and not on the
    same day in the clinic's zone, where the packet says so)."""
    what = "the check-in" if later == "AFTER" else "the start"
    var = role.upper()
    lines = [
        f"{var}=$(tsa_time timestamps/{role}.tsr)",
        f'echo "{role} signed:     $(TZ={zone} date -d "${var}" \'+%Y-%m-%d %H:%M:%S %Z\')"',
        f'GAP=$(( $(date -d "${later}" +%s%N) - $(date -d "${var}" +%s%N) ))  # nanoseconds',
        f'echo "from the signature to {what}: $((GAP / 86400000000000)) days $((GAP / 3600000000000 % 24)) hours '
        '$((GAP / 60000000000 % 60)) minutes"',
        f'test "$GAP" -ge {period_ns}',
    ]
    if same_day:
        lines.append(f'test "$(TZ={zone} date -d "${later}" +%F)" != "$(TZ={zone} date -d "${var}" +%F)"')
    return lines


def _signed_before(role: str, zone: str, period_ns: int, same_day: bool) -> list[str]:
    """The recorded start, too, is at least the period after ``role``'s signature (and not on its day)."""
    var = role.upper()
    lines = [f'test $(( $(date -d "$STARTED" +%s%N) - $(date -d "${var}" +%s%N) )) -ge {period_ns}']
    if same_day:
        lines.append(f'test "$(TZ={zone} date -d "$STARTED" +%F)" != "$(TZ={zone} date -d "${var}" +%F)"')
    return lines


def _fails(days: int, same_day: bool, what: str) -> str:
    return (
        f"The block fails (exit status 1) when less than {days} days ({days * 86400} seconds) passed between the "
        f"signature and {what}" + (" or both fell on the same day (in the clinic's zone)" if same_day else "") + ".\n\n"
    )


def _token_time(c: BundleContext, role: str) -> dt.datetime | None:
    from consentkit.tsa.tokens import describe_token

    sig = next((s for s in c.signatures if s.role == role and s.token_der), None)
    return describe_token(sig.token_der).time if sig is not None and sig.token_der is not None else None


def _head_time(sth: SignedTreeHead) -> dt.datetime:
    from consentkit.tsa.tokens import describe_token

    return describe_token(sth.token).time


def _local(value: dt.datetime, c: BundleContext) -> str:
    here = value.astimezone(c.ws.zone)
    return f"{here:%Y-%m-%d %H:%M:%S} {here.tzname()}"
