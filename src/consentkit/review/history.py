"""Earlier versions of a procedure: ``PROCEDURE@VERSION`` from the workspace's git history, the built-in library,
or a plain file.

The history of ``procedures/<id>.yaml`` is read with one ``git log`` and one ``git cat-file --batch`` (no checkout,
nothing written); the newest commit whose file says ``version: VERSION`` wins.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from consentkit.errors import InputError, SpecError
from consentkit.resources import builtin_dir
from consentkit.spec.library import Loaded, load_spec
from consentkit.spec.models import ProcedureSpec
from consentkit.spec.validate import validate_document
from consentkit.spec.yamlfile import parse_yaml
from consentkit.workspace import Workspace

_VERSION = re.compile(r"""^version:\s*["']?(\d+\.\d+\.\d+)["']?\s*(?:#.*)?$""", re.MULTILINE)
GIT_TIMEOUT = 30
BUILTIN = "built-in library"  # consentkit's own procedures/, not the workspace's


@dataclass(frozen=True)
class SpecVersion:
    """A spec as it was somewhere: ``origin`` says where, naming the repository: a file path, ``workspace git
    <commit>``, ``workspace working tree``, ``built-in library git <commit>, repository <path>`` or ``built-in
    library file``."""

    spec: Loaded[ProcedureSpec]
    origin: str

    @property
    def model(self) -> ProcedureSpec:
        return self.spec.model

    @property
    def label(self) -> str:
        return f"{self.model.id} {self.model.version} ({self.origin})"


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> bytes | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(cwd), *args], input=stdin, capture_output=True, timeout=GIT_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def git_top(folder: Path) -> Path | None:
    out = _git(folder, "rev-parse", "--show-toplevel")
    return Path(out.decode().strip()) if out else None


def _blobs(top: Path, requests: list[str]) -> list[bytes | None]:
    """Contents of ``<rev>:<path>`` objects, in one ``git cat-file --batch`` process."""
    out = _git(top, "cat-file", "--batch", stdin=("\n".join(requests) + "\n").encode())
    if out is None:
        return [None] * len(requests)
    found: list[bytes | None] = []
    pos = 0
    for _ in requests:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) != 3:  # "<request> missing"
            found.append(None)
            continue
        size = int(header[2])
        found.append(out[pos : pos + size])
        pos += size + 1
    return found


def history(spec_file: Path) -> list[tuple[str, str]]:
    """``(commit, text)`` of every committed state of ``spec_file``, newest first ([] outside git)."""
    folder = spec_file.parent if spec_file.parent.is_dir() else Path.cwd()
    top = git_top(folder)
    if top is None:
        return []
    try:
        relative = spec_file.resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        return []
    log = _git(top, "log", "--format=%H", "--", relative)
    if not log:
        return []
    commits = log.decode().split()
    blobs = _blobs(top, [f"{c}:{relative}" for c in commits])
    return [(c, b.decode("utf-8", "replace")) for c, b in zip(commits, blobs, strict=True) if b is not None]


def _parse(text: str, where: Path, procedure_id: str) -> Loaded[ProcedureSpec]:
    doc = parse_yaml(text, where)
    if not isinstance(doc.data, dict):
        raise SpecError("not a procedure spec (no mapping)", location=None)
    spec = validate_document(ProcedureSpec, doc, error=SpecError)
    if spec.id != procedure_id:
        raise SpecError(f"id '{spec.id}' is not '{procedure_id}'")
    return Loaded(spec, doc)


def from_history(spec_file: Path, procedure_id: str, version: str, *, whose: str = "workspace") -> SpecVersion | None:
    """The newest committed state of ``spec_file`` whose version is ``version``; ``whose`` names the repository in
    the origin: ``workspace git 3f2a1b2c3d`` or ``built-in library git 42330a60d4, repository /src/consentkit``."""
    for commit, text in history(spec_file):
        m = _VERSION.search(text)
        if m and m.group(1) == version:
            where = Path(f"{spec_file.name}@{commit[:10]}")
            origin = f"{whose} git {commit[:10]}"
            if whose != "workspace":
                top = git_top(spec_file.parent)
                origin += f", repository {top}" if top else ""
            return SpecVersion(_parse(text, where, procedure_id), origin)
    return None


def committed_versions(spec_file: Path) -> list[str]:
    """Every version found in the history of ``spec_file``, newest first, without repeats."""
    seen: list[str] = []
    for _, text in history(spec_file):
        m = _VERSION.search(text)
        if m and m.group(1) not in seen:
            seen.append(m.group(1))
    return seen


def spec_file_for(ws: Workspace | None, procedure_id: str) -> Path:
    """Where ``procedure_id`` lives now: the workspace's file if it has one, else the built-in one."""
    if ws is not None:
        for suffix in (".yaml", ".yml"):
            path = ws.procedures_dir / f"{procedure_id}{suffix}"
            if path.is_file():
                return path
    return builtin_dir("procedures") / f"{procedure_id}.yaml"


def resolve_version(ws: Workspace | None, ref: str) -> SpecVersion:
    """``PROCEDURE``, ``PROCEDURE@VERSION`` or a path to a spec file.

    ``PROCEDURE@VERSION`` is looked for in the git history of the workspace's file (newest commit with that
    version), then in its working copy, then likewise for the built-in file (its history exists in a clone of
    consentkit); the origin says which repository it came from."""
    path = Path(ref)
    if ref.endswith((".yaml", ".yml")) or path.is_file():
        if not path.is_file():
            raise InputError(f"{ref}: no such spec file")
        # a file compared need not be named <id>.yaml (an exported or e-mailed copy): that rule is the library's
        return SpecVersion(load_spec(path, match_file_name=False), str(path))
    procedure_id, _, version = ref.partition("@")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", procedure_id):
        raise InputError(f"{ref!r} is neither a spec file nor PROCEDURE[@VERSION]")
    current_file = spec_file_for(ws, procedure_id)
    builtin_file = builtin_dir("procedures") / f"{procedure_id}.yaml"
    candidates = [p for p in dict.fromkeys([current_file, builtin_file]) if p.is_file()]
    if not candidates:
        raise SpecError(f"unknown procedure '{procedure_id}' (no {current_file.name} in the workspace or built-ins)")
    for candidate in candidates:
        builtin = candidate == builtin_file
        # a committed VERSION wins over the working tree (which may hold uncommitted edits of that version)
        found = (
            from_history(candidate, procedure_id, version, whose=BUILTIN if builtin else "workspace")
            if version
            else None
        )
        if found is not None:
            return found
        loaded = load_spec(candidate)
        if not version or loaded.model.version == version:
            return SpecVersion(loaded, f"{BUILTIN} file" if builtin else "workspace working tree")
    known = sorted({v for c in candidates for v in [load_spec(c).model.version, *committed_versions(c)]})
    raise InputError(
        f"{procedure_id}@{version}: no such version in the working tree, the git history or the built-in library "
        f"(known: {', '.join(known) or 'none'})"
    )
