"""A cache of per-spec findings, keyed by the spec file's content hash.

Linting a spec costs a few milliseconds, almost all of it parsing and validating YAML; in a workspace of a thousand
specs where one changed, the other 999 need not be read as YAML at all. An entry is reused only when the file's
SHA-256, the rules' code, the policy and intake in force, the workspace locales and today's date are all unchanged
(``fingerprint``). The cache is JSON (never pickle: it sits in a folder a person could write to), written atomically,
in the workspace's state folder ``.consentkit/cache/`` or, outside a workspace, ``$XDG_CACHE_HOME/consentkit``.
A damaged or foreign cache is ignored, never an error.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consentkit import __version__
from consentkit.files import write_atomically

FORMAT = 1
MAX_ENTRIES = 50_000

_OWN_SOURCES = (
    "consentkit.spec.models",
    "consentkit.spec.yamlfile",
    "consentkit.spec.validate",
    "consentkit.spec.library",
    "consentkit.spec.conditions",
    "consentkit.spec.cjk",  # rewrites every Chinese text as it is loaded
    "consentkit.spec.canonical",
    "consentkit.render.frequency",  # the figure CK134 compares a text with
    "consentkit.render.i18n",
)


def _module_file(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec is not None and spec.origin else None


def code_fingerprint(rule_modules: Sequence[str]) -> str:
    """A hash of the code that decides findings: the lint package, the rule modules, the spec loader."""
    digest = hashlib.sha256(f"{FORMAT}:{__version__}".encode())
    lint_dir = Path(__file__).resolve().parent
    files = sorted(lint_dir.rglob("*.py"))
    for name in (*rule_modules, *_OWN_SOURCES):
        found = _module_file(name)
        if found is not None and found not in files:
            files.append(found)
    for path in files:
        try:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        except OSError:
            digest.update(path.name.encode() + b"\0missing")
    return digest.hexdigest()


def file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def default_cache_dir(state_dir: Path | None) -> Path:
    if state_dir is not None:
        return state_dir / "cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "consentkit"


CachedHit = tuple[str, int, str | None, str, str | None]  # rule id, line, field, message, source line
CachedProblem = tuple[bool, str, int | None, str | None]  # yaml?, message, line, field


@dataclass
class Entry:
    digest: str
    hits: list[CachedHit] = field(default_factory=list)
    problems: list[CachedProblem] = field(default_factory=list)


class FindingCache:
    """``get(path, digest)`` / ``put(path, entry)``, then ``save()``."""

    def __init__(self, file: Path, fingerprint: str) -> None:
        self.file = file
        self.fingerprint = fingerprint
        self.entries: dict[str, Entry] = {}
        self.changed = False
        self._load()

    def _load(self) -> None:
        try:
            raw = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if not isinstance(raw, dict) or raw.get("fingerprint") != self.fingerprint:
            return
        entries = raw.get("entries")
        if not isinstance(entries, dict):
            return
        for key, value in entries.items():
            try:
                self.entries[key] = Entry(
                    value["digest"],
                    [(str(r), int(n), f, str(m), s) for r, n, f, m, s in value["hits"]],
                    [(bool(y), str(m), n, f) for y, m, n, f in value["problems"]],
                )
            except (KeyError, TypeError, ValueError):
                continue

    def get(self, path: Path, digest: str | None) -> Entry | None:
        entry = self.entries.get(str(path))
        if entry is None or digest is None or entry.digest != digest:
            return None
        return entry

    def put(self, path: Path, entry: Entry) -> None:
        self.entries[str(path)] = entry
        self.changed = True

    def save(self) -> None:
        """Write atomically; a cache that cannot be written is skipped silently."""
        if not self.changed:
            return
        items = list(self.entries.items())[-MAX_ENTRIES:]
        data: dict[str, Any] = {
            "format": FORMAT,
            "fingerprint": self.fingerprint,
            "entries": {k: {"digest": e.digest, "hits": e.hits, "problems": e.problems} for k, e in items},
        }
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.file, json.dumps(data, ensure_ascii=False))
        except OSError:
            return


def context_fingerprint(parts: Iterable[str]) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()
