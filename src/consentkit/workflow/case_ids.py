"""A case id goes into the audit log in clear, and the log is pseudonymous: no case id may carry the patient's (or
guardian's) identity number or record number, nor a run of 11 or more digits. Checked before a packet is made, so
nothing is written for a refused case."""

from __future__ import annotations

import re
from pathlib import Path

from consentkit.audit.events import personal_number_in
from consentkit.errors import CaseError

_MIN_COMPARED = 4  # shorter numbers (a record number "7") would match by chance


def _plain(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def check_case_file(path: Path) -> None:
    """Refuse (CaseError, exit 3, naming the file, line and field) a case file whose ``case_id`` would put personal
    numbers in the log."""
    from consentkit.case import load_case

    case, doc = load_case(path)
    where = doc.location(("case_id",))
    why = personal_number_in(case.case_id)
    if why is not None:
        raise CaseError(why, location=where)
    numbers = [("record number", case.patient.record_number), ("identity number", case.patient.identity.number)]
    if case.guardian is not None:
        numbers.append(("guardian's identity number", case.guardian.identity.number))
    plain_id = _plain(case.case_id)
    for what, number in numbers:
        plain = _plain(number)
        if len(plain) >= _MIN_COMPARED and plain in plain_id:
            raise CaseError(
                f"case id {case.case_id!r} contains the patient's {what}; the audit log is pseudonymous and a case "
                "id goes into it in clear: use a case number that does not repeat the patient's record or identity "
                "number (e.g. C-2026-0042)",
                location=where,
            )
