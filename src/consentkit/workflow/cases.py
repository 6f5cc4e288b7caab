"""The case index: ``.consentkit/cases/<case_id>.json`` says where a case's current packet is, so that
``present``, ``checkin`` and ``evidence`` take a case id. It holds ids and paths only — no names, no identity
numbers — like the audit log it sits beside::

    {"format": "consentkit/case-index/v1", "case_id": "C-2026-0042", "packet_id": "C-2026-0042-20261201020000",
     "packet_dir": "packets/C-2026-0042", "case_file": "cases/C-2026-0042.yaml",
     "packets": [{"packet_id": "…", "packet_dir": "…", "generated_at": "2026-12-01T02:00:00Z"}]}

Paths inside the workspace are stored relative to it, so a copied or moved workspace finds its own packets. A path
outside it is stored as it is, and refused when read back (a copied workspace must never use another workspace's
packet): such a case is checked in with ``--packet DIR``, given explicitly.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consentkit.errors import InputError, SourceLocation
from consentkit.files import write_atomically
from consentkit.manifest import MANIFEST_NAME, PACKET_PDF, Manifest, read_manifest
from consentkit.workspace import Workspace

INDEX_FORMAT = "consentkit/case-index/v1"
CASES_DIR = "cases"
_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class CasePacket:
    """A case's packet folder, its manifest and (when known) the case file it was made from."""

    case_id: str
    directory: Path
    manifest: Manifest
    case_file: Path | None

    @property
    def pdf(self) -> Path:
        return self.directory / PACKET_PDF

    @property
    def manifest_path(self) -> Path:
        return self.directory / MANIFEST_NAME


def check_case_id(case_id: str) -> str:
    if not _CASE_ID.fullmatch(case_id):
        raise InputError(f"{case_id!r} is not a case id (letters, digits, '.', '_' and '-', up to 64 characters)")
    return case_id


def index_path(ws: Workspace, case_id: str) -> Path:
    return ws.state_dir / CASES_DIR / f"{check_case_id(case_id)}.json"


def _read_index(ws: Workspace, case_id: str) -> dict[str, Any] | None:
    path = index_path(ws, case_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"the case index is damaged: {exc}", location=SourceLocation(path)) from exc
    if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT or data.get("case_id") != case_id:
        raise InputError("not a consentkit case index for this case", location=SourceLocation(path))
    return data


def record_packet(ws: Workspace, manifest: Manifest, packet_dir: Path, case_file: Path | None) -> Path:
    """Make ``packet_dir`` the case's current packet (atomically); earlier packets stay listed."""
    path = index_path(ws, manifest.case_id)
    data = _read_index(ws, manifest.case_id) or {"format": INDEX_FORMAT, "case_id": manifest.case_id, "packets": []}
    entry = {
        "packet_id": manifest.packet_id,
        "packet_dir": _stored(ws, packet_dir),
        "generated_at": manifest.generated_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "draft": manifest.draft,
    }
    data["packets"] = [p for p in data.get("packets", []) if p.get("packet_dir") != entry["packet_dir"]] + [entry]
    data["packet_id"] = manifest.packet_id
    data["packet_dir"] = entry["packet_dir"]
    data["case_file"] = _stored(ws, case_file) if case_file is not None else data.get("case_file")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomically(path, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    return path


def _stored(ws: Workspace, path: Path) -> str:
    """``path`` as the index keeps it: relative to the workspace when inside it, else absolute."""
    full = path.resolve()
    try:
        return full.relative_to(ws.root.resolve()).as_posix()
    except ValueError:
        return str(full)


def _inside(ws: Workspace, stored: str, what: str, case_id: str, index: Path, *, refuse: bool) -> Path | None:
    """A path read from the index, resolved against the workspace; one outside it is refused (``refuse``) or
    ignored."""
    root = ws.root.resolve()
    full = (root / stored).resolve()
    try:
        full.relative_to(root)
    except ValueError:
        if not refuse:
            return None
        raise InputError(
            f"the case index says case {case_id}'s {what} is {full}, outside this workspace ({root}) — a copied or "
            "moved workspace must not use another one's packet. Name the packet folder with --packet DIR, or make "
            "the packet again in this workspace",
            location=SourceLocation(index),
        ) from None
    return full


def find_packet(ws: Workspace, case_id: str, packet_dir: Path | None = None) -> CasePacket:
    """The case's current packet (from the index), or the one in ``packet_dir`` (``--packet DIR``). Paths in the
    index are the workspace's own; one pointing outside it is refused unless ``packet_dir`` is given."""
    check_case_id(case_id)
    data = _read_index(ws, case_id)
    index = index_path(ws, case_id)
    explicit = packet_dir is not None
    case_file = None
    if data and data.get("case_file"):
        case_file = _inside(ws, str(data["case_file"]), "case file", case_id, index, refuse=not explicit)
    if packet_dir is None:
        if data is None or not data.get("packet_dir"):
            raise InputError(
                f"no packet is recorded for case {case_id} in this workspace; make one with "
                f"'consentkit packet CASE.yaml -o DIR', or name its folder with --packet DIR"
            )
        packet_dir = _inside(ws, str(data["packet_dir"]), "packet folder", case_id, index, refuse=True)
        assert packet_dir is not None
    if not packet_dir.is_dir():
        raise InputError("the packet folder is missing (moved or deleted?)", location=SourceLocation(packet_dir))
    manifest = read_manifest(packet_dir / MANIFEST_NAME)
    if manifest.case_id != case_id:
        raise InputError(
            f"this packet is for case {manifest.case_id}, not {case_id}", location=SourceLocation(packet_dir)
        )
    return CasePacket(case_id, packet_dir.resolve(), manifest, case_file)
