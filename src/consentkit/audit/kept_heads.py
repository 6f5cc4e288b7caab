"""Signed tree heads kept outside the database, so that a log rolled back or wiped with a database shell is caught
without anyone remembering to pass an exported head.

Every head the workspace's log makes is also appended, as one line, to ``.consentkit/heads/heads.jsonl`` (opened
with ``O_APPEND``, fsynced; no code path rewrites or truncates it)::

    {"checkpoint":"<base64 head.json>","signature":"<base64 head.sig>","timestamp":"<base64 RFC 3161 token>"}

``consentkit audit verify`` checks the log against every kept head by default: a head the log no longer extends — a
deleted tail, a restored backup, emptied tables — is a finding. ``--against`` adds heads kept elsewhere: a head.json
from ``audit head --export``, an evidence bundle (zip) or an unpacked bundle folder (:func:`load_exported`).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

from consentkit.audit.heads import SignedTreeHead, TreeHead, response_to_token
from consentkit.errors import InputError, VerificationError

KEPT_DIR = "heads"
KEPT_FILE = "heads.jsonl"


@dataclass(frozen=True)
class KeptHead:
    line: int  # 1-based line of heads.jsonl
    head: SignedTreeHead | None  # None: the line is not a readable head
    problem: str | None = None


class KeptHeads:
    """The append-only copy of a workspace's heads (``<state dir>/heads/heads.jsonl``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / KEPT_FILE

    def keep(self, sth: SignedTreeHead) -> None:
        """Append one head and fsync (the folder and file are created owner-only)."""
        line = json.dumps(
            {
                "checkpoint": base64.b64encode(sth.checkpoint).decode(),
                "signature": base64.b64encode(sth.signature).decode(),
                "timestamp": base64.b64encode(sth.token).decode(),
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode("ascii"))  # one write: lines from several processes never interleave
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> list[KeptHead]:
        """Every kept head in order; a damaged line is returned with its problem (a finding, not a crash). Only
        complete lines are read: a line another process is appending right now (no newline yet) is not damage."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        text = data[: data.rfind(b"\n") + 1].decode("ascii", "replace")
        kept = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                checkpoint = base64.b64decode(data["checkpoint"], validate=True)
                sth = SignedTreeHead(
                    TreeHead.parse(checkpoint),
                    checkpoint,
                    base64.b64decode(data["signature"], validate=True),
                    base64.b64decode(data["timestamp"], validate=True),
                )
            except (ValueError, KeyError, TypeError) as exc:
                kept.append(KeptHead(number, None, f"not a readable head ({type(exc).__name__}; edited?)"))
                continue
            except VerificationError as exc:
                kept.append(KeptHead(number, None, f"{exc.message} (edited?)"))
                continue
            kept.append(KeptHead(number, sth))
        return kept


def load_exported(path: Path) -> list[SignedTreeHead]:
    """The heads in ``path``: a ``head.json`` written by ``audit head --export`` (with its ``.sig`` and ``.tsr``),
    an evidence bundle (``.zip``: its ``log/head`` and every ``log/heads/*/head``) or an unpacked bundle folder.
    A path that is none of these is bad input; a damaged head inside one raises :class:`VerificationError`."""
    if path.is_dir():
        files = {
            p.relative_to(path).as_posix(): p.read_bytes()
            for p in [*path.glob("log/head.*"), *path.glob("log/heads/*/head.*")]
            if p.is_file()
        }
        if "log/head.json" not in files:
            raise InputError(f"{path}: not an unpacked evidence bundle (no log/head.json)")
        return _bundle_heads(files, str(path))
    if path.suffix.lower() == ".zip":
        from consentkit.evidence.zipread import read_bundle

        members = read_bundle(path)
        if "log/head.json" not in members:  # else a zip with no head at all would check nothing and pass
            raise InputError(f"{path}: not an evidence bundle (no log/head.json)")
        return _bundle_heads(members, str(path))
    if not path.is_file():
        raise InputError(
            f"{path}: no such file; give a head.json from 'consentkit audit head --export', an evidence bundle "
            "(.zip) or an unpacked bundle folder"
        )
    return [SignedTreeHead.load(path)]


def _bundle_heads(files: dict[str, bytes], where: str) -> list[SignedTreeHead]:
    stems = sorted({name[: -len(".json")] for name in files if name.endswith("head.json")})
    heads = []
    for stem in stems:
        try:
            checkpoint = files[f"{stem}.json"]
            heads.append(
                SignedTreeHead(
                    TreeHead.parse(checkpoint),
                    checkpoint,
                    files[f"{stem}.sig"],
                    response_to_token(files[f"{stem}.tsr"]),
                )
            )
        except KeyError as exc:
            raise VerificationError(f"{where}: {stem} is incomplete ({exc.args[0]} is missing)") from None
        except VerificationError as exc:
            raise VerificationError(f"{where}: {stem}.json: {exc.message}") from None
    return heads
