"""Does an approval cover a packet? The packet's manifest records what its documents were made from; the approval
statement pins what the reviewer approved. They must agree on the procedure version and spec content, on every
template and fixed-wording file the packet used, on the meaning printed beside each signature, and on the
cooling-off rule the documents state. ``verify-evidence`` calls this for every approval a manifest cites, offline.

    problems = approval_covers(manifest, statement)   # [] when the approval covers exactly what the patient read
"""

from __future__ import annotations

from consentkit.manifest import Manifest
from consentkit.review.statement import ApprovalStatement


def _short(name: str, items: list[str]) -> str:
    shown = ", ".join(items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")
    return f"{name} {shown}"


def approval_covers(manifest: Manifest, statement: ApprovalStatement) -> list[str]:
    """What in the packet the approval does not cover, in words (empty: it covers all of it). A statement made
    before approvals pinned the signing-profile and policy wording (``consentkit/approval/v1``) is compared on the
    rest only; :func:`pins_wording` tells the caller to say so."""
    st, m = statement, manifest
    who = f"the {st.role} approval ({st.reviewer.name})"
    problems = []
    if (st.procedure, st.version) != (m.procedure.id, m.procedure.version):
        problems.append(
            f"{who} is of {st.procedure} {st.version}, the packet of {m.procedure.id} {m.procedure.version}"
        )
    if st.spec != m.procedure.spec_hash:
        problems.append(f"{who} approved other spec content than the packet's")
    if st.jurisdiction != m.jurisdiction:
        problems.append(f"{who} was made under the {st.jurisdiction} policy, the packet under {m.jurisdiction}")
    missing = [loc for loc in m.locales if loc not in st.locales]
    if missing:
        problems.append(f"{who} does not cover the locale{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    differing = sorted(n for n, h in m.templates.items() if st.templates.get(n) != h)
    if differing:
        problems.append(
            f"{who} pinned other versions of the {_short('template' + 's' * (len(differing) > 1), differing)}"
        )
    if st.signing_profile is None or st.policy is None:  # a v1 statement: see pins_wording()
        return problems
    meanings = st.signing_profile.meanings
    for box in m.signature_boxes:
        pinned = meanings.get(box.role)
        if pinned is None:
            problems.append(f"{who} does not cover the {box.role} signature (no meaning approved for it)")
            continue
        printed = [*m.locales, *(["en"] if "en" not in m.locales else [])]  # a signature always adds English
        changed = [loc for loc in printed if loc in box.meaning and pinned.get(loc) != box.meaning[loc]]
        if changed:
            problems.append(f"{who} approved another {box.role} signature meaning ({', '.join(changed)})")
    cooling = st.policy.cooling_off
    if (cooling.days, cooling.not_same_day) != (m.cooling_off.days, m.cooling_off.not_same_day):
        problems.append(
            f"{who} approved a cooling-off of {cooling.days} d{' (not the same day)' * cooling.not_same_day}, the "
            f"packet states {m.cooling_off.days} d{' (not the same day)' * m.cooling_off.not_same_day}"
        )
    elif cooling.text.get("en", m.cooling_off.earliest_after_signature) != m.cooling_off.earliest_after_signature:
        problems.append(f"{who} approved other cooling-off wording than the packet states")
    return problems


def pins_wording(statement: ApprovalStatement) -> bool:
    """Whether the approval pins the signature meanings and policy wording (statements before format v2 do not)."""
    return statement.signing_profile is not None and statement.policy is not None
