"""What a ``consentkit lint [PATH…]`` run checks: resolve the paths into roots and reported files, then load them.

* no PATH: the current workspace (``--workspace``, ``$CONSENTKIT_WORKSPACE``, or walking up), else the built-in
  library under the default jurisdiction ``cn``;
* a workspace folder (has ``consentkit.toml``): its ``procedures/`` (specs, intake, policies) layered over the
  built-in library, under the workspace's jurisdiction;
* another folder: its specs, ``intake.yaml`` and ``policies/``, layered over the enclosing workspace or the built-ins;
* files: just those files (specs, an ``intake.yaml``, ``policies/<code>.yaml`` or ``signatures/<profile>.yaml``),
  layered the same way.

A workspace (no PATH, or a workspace folder) is linted as its **effective library**: its own files plus every
built-in spec, intake and policy it does not override, since the clinic's templates, catalogues, policy and locales
apply to those too (``include_builtin=False``, ``--no-builtin``: its own files only), and its signing profiles
(``signatures/*.yaml``). Otherwise only the files named are reported on; the layers beneath supply the intake
catalogue and the policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import BaseModel

from consentkit.errors import EXIT_USAGE, ConfigError, ConsentkitError, InputError, MultiInputError, SourceLocation
from consentkit.lint.context import LintContext
from consentkit.resources import builtin_dir
from consentkit.spec.library import (
    INTAKE_FILE,
    POLICY_DIR,
    LibraryScan,
    Loaded,
    load_intake,
    load_policy,
    procedure_files,
)
from consentkit.workspace import CONFIG_FILE, Workspace, find_workspace

DEFAULT_JURISDICTION = "cn"


class NothingToLint(ConsentkitError):
    """The paths given hold no spec, intake or policy file (a usage mistake, exit 2)."""

    exit_code = EXIT_USAGE


class LintUsageError(ConsentkitError):
    """``consentkit lint`` was asked for something that does not exist (a usage mistake, exit 2)."""

    exit_code = EXIT_USAGE


class UnknownPolicy(LintUsageError):
    """``--policy`` (or the workspace's jurisdiction) names no policy file."""


@dataclass(frozen=True)
class LintTarget:
    """Where to look (``roots``, first wins by id) and which files to report on."""

    roots: tuple[Path, ...]
    spec_files: tuple[Path, ...]
    reported: frozenset[Path]
    workspace: Workspace | None
    jurisdiction: str

    @property
    def template_roots(self) -> tuple[Path, ...]:
        if self.workspace is not None:
            return self.workspace.template_roots()
        try:
            return (builtin_dir("templates"),)
        except ConfigError:
            return ()


def _unique(paths: Sequence[Path], *, resolve: bool = True) -> tuple[Path, ...]:
    """First occurrence kept, in order; resolved unless they already are."""
    return tuple(dict.fromkeys(p.resolve() for p in paths) if resolve else dict.fromkeys(paths))


def _folder_files(folder: Path) -> list[Path]:
    """Spec files, intake and policies directly in a procedures folder."""
    folder = folder.resolve()  # once: resolving a thousand files one by one costs a syscall per path component
    files = procedure_files(folder)
    if (folder / INTAKE_FILE).is_file():
        files.append(folder / INTAKE_FILE)
    policies = folder / POLICY_DIR
    if policies.is_dir():
        files.extend(sorted(policies.glob("*.yaml")))
    return files


SIGNATURES_DIR = "signatures"


def _kind(path: Path) -> str:
    """What a file is, from where it lives: ``intake``, ``policy``, ``profile`` (``signatures/*.yaml``) or ``spec``."""
    if path.parent.name == SIGNATURES_DIR:
        return "profile"
    if path.name == INTAKE_FILE:
        return "intake"
    if path.parent.name == POLICY_DIR:
        return "policy"
    return "spec"


def _profile_files(folder: Path) -> list[Path]:
    return sorted(p.resolve() for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def _builtin_profiles_in_use(ws: Workspace) -> list[Path]:
    taken = {p.stem for p in _profile_files(ws.signatures_dir)} if ws.signatures_dir.is_dir() else set()
    try:
        builtin = builtin_dir(SIGNATURES_DIR)
    except ConfigError:
        return []
    return [p for p in _profile_files(builtin) if p.stem not in taken]


def _root_of(path: Path) -> Path:
    return path.parent.parent if _kind(path) == "policy" else path.parent


def _builtin_in_use(roots: tuple[Path, ...]) -> list[Path]:
    """Built-in files not overridden by an earlier root."""
    builtin = builtin_dir("procedures").resolve()
    earlier = [r for r in roots if r != builtin]
    taken_ids = {p.stem for r in earlier for p in procedure_files(r)}
    out = [p.resolve() for p in procedure_files(builtin) if p.stem not in taken_ids]
    if not any((r / INTAKE_FILE).is_file() for r in earlier):
        out.append((builtin / INTAKE_FILE).resolve())
    taken_policies = {p.stem for r in earlier if (r / POLICY_DIR).is_dir() for p in (r / POLICY_DIR).glob("*.yaml")}
    out.extend(p.resolve() for p in sorted((builtin / POLICY_DIR).glob("*.yaml")) if p.stem not in taken_policies)
    return out


def resolve_target(
    paths: Sequence[Path],
    *,
    workspace_dir: Path | None = None,
    policy: str | None = None,
    include_builtin: bool | None = None,
) -> LintTarget:
    """Work out roots, reported files, workspace and jurisdiction for ``consentkit lint PATHS``.
    ``include_builtin`` (default: when a whole workspace is linted) adds the built-in files it uses."""
    builtin = builtin_dir("procedures").resolve()
    ws: Workspace | None
    reported: list[Path] = []
    first_roots: list[Path] = []
    whole_workspace = False
    if not paths:
        ws = find_workspace(explicit=workspace_dir)
        if ws is not None:
            whole_workspace = True
            if ws.procedures_dir.is_dir():
                reported.extend(_folder_files(ws.procedures_dir))
        else:
            reported.extend(_folder_files(builtin))
    else:
        first = paths[0] if paths[0].is_dir() else paths[0].parent
        if workspace_dir is None and (first / CONFIG_FILE).is_file():
            workspace_dir = first
        ws = find_workspace(start=first, explicit=workspace_dir)
        for path in paths:
            if path.is_dir() and (path / CONFIG_FILE).is_file():
                whole_workspace = whole_workspace or (ws is not None and path.resolve() == ws.root)
                procedures = path / "procedures"
                if procedures.is_dir():
                    first_roots.append(procedures)
                    reported.extend(_folder_files(procedures))
            elif path.is_dir() and path.name == SIGNATURES_DIR:
                files = _profile_files(path)
                if not files:
                    raise NothingToLint(f"{path}: no signing profiles (*.yaml) here")
                reported.extend(files)
            elif path.is_dir():
                files = _folder_files(path)
                if not files:
                    raise NothingToLint(
                        f"{path}: no procedure specs (*.yaml), {INTAKE_FILE} or {POLICY_DIR}/ here; "
                        "pass a workspace, a procedures folder or spec files"
                    )
                first_roots.append(path)
                reported.extend(files)
            elif _kind(path) == "profile":
                reported.append(path.resolve())
            else:
                first_roots.append(_root_of(path))
                reported.append(path.resolve())
    layered = ws.procedure_roots() if ws is not None else (builtin,)
    roots = _unique([*first_roots, *layered])
    if include_builtin is None:
        include_builtin = whole_workspace
    if whole_workspace and ws is not None:
        if ws.signatures_dir.is_dir():
            reported.extend(_profile_files(ws.signatures_dir))
        if include_builtin:
            reported.extend(_builtin_profiles_in_use(ws))
    if include_builtin and builtin in roots:
        reported.extend(_builtin_in_use(roots))
    reported_t = _unique(reported, resolve=False)  # every path above is already resolved
    spec_files = tuple(p for p in reported_t if _kind(p) == "spec")
    jurisdiction = policy or (ws.config.clinic.jurisdiction if ws is not None else DEFAULT_JURISDICTION)
    return LintTarget(roots, spec_files, frozenset(reported_t), ws, jurisdiction)


def _problems(scan: LibraryScan, err: InputError) -> None:
    if isinstance(err, MultiInputError):
        scan.problems.extend(err.problems)
    else:
        scan.problems.append(err)


def load_target(target: LintTarget) -> LibraryScan:
    """Load, from the roots, the intake catalogue and every policy (first root wins) and list every spec file.
    The specs themselves are loaded by the runner, next to their checks (possibly in worker processes)."""
    scan = LibraryScan()
    for root in target.roots:
        for path in procedure_files(root):
            scan.shadowed.setdefault(path.stem, []).append(path.resolve())
        intake = root / INTAKE_FILE
        if intake.is_file() and (scan.intake is None or intake.resolve() in target.reported):
            scan.files.append(intake.resolve())
            try:
                loaded = load_intake(intake.resolve())
                if scan.intake is None:
                    scan.intake = loaded
            except InputError as err:
                _problems(scan, err)
        policy_dir = root / POLICY_DIR
        if policy_dir.is_dir():
            for path in sorted(policy_dir.glob("*.yaml")):
                resolved = path.resolve()
                if path.stem in scan.policies and resolved not in target.reported:
                    continue
                scan.files.append(resolved)
                try:
                    loaded_policy = load_policy(resolved)
                    scan.policies.setdefault(path.stem, loaded_policy)
                except InputError as err:
                    _problems(scan, err)
    # a reported intake or policy outside every root (a file passed on its own), and signing profiles
    for path in sorted(target.reported - set(scan.files)):
        kind = _kind(path)
        if kind == "spec":
            continue
        if kind == "profile":
            scan.files.append(path)
            try:
                scan.profiles[path] = _load_profile(path)
            except InputError as err:
                _problems(scan, err)
            continue
        scan.files.append(path)
        try:
            if kind == "intake":
                loaded_intake = load_intake(path)
                if scan.intake is None:
                    scan.intake = loaded_intake
            else:
                scan.policies.setdefault(path.stem, load_policy(path))
        except InputError as err:
            _problems(scan, err)
    return scan


def _load_profile(path: Path) -> Loaded[BaseModel]:
    """A signing profile, validated by the signing code's own model (``consentkit.sign.profile``)."""
    from consentkit.sign.profile import load_profile

    if path.suffix != ".yaml":  # load_profile reads <id>.yaml only: it would check another file, or none
        raise ConfigError(
            f"the signing code reads profiles from <id>.yaml only, so this file is never used: rename it to "
            f"{path.stem}.yaml",
            location=SourceLocation(path, 1),
        )
    loaded: Loaded[BaseModel] = load_profile((path.parent,), path.stem)  # type: ignore[assignment]
    return loaded


def build_context(target: LintTarget, scan: LibraryScan, *, today: date | None = None) -> LintContext:
    return LintContext(
        scan=scan,
        policy=scan.policies.get(target.jurisdiction),
        jurisdiction=target.jurisdiction,
        workspace=target.workspace,
        today=today or date.today(),
        procedure_roots=target.roots,
        template_roots=target.template_roots,
        reported=target.reported,
    )
