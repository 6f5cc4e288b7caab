"""Benchmark: `consentkit lint` on the built-in library and on a generated 1,000-spec workspace.

Targets (issue 2): the built-in library in under 1 s and 1,000 specs in under 3 s, wall clock from a new process
(interpreter start included), on a first run: no findings cache (--no-cache), or a fresh cache folder. The generated
specs are copies of the library's specs with new ids, so each is the size of a real one; a second workspace
perturbs every text so that no two specs share one (the worst case for the lint's per-text caches). "cold" runs use
--no-cache; "fresh cache" runs start with an empty cache folder; "warm" runs reuse the findings cache of a previous
run. The 1,000-spec rows skip the rendering rules (CK200/CK210: every document rendered for every spec and locale,
~40 ms a spec) unless --with-rendering. Prints a table; asserts nothing.

The machine is shared: wall time depends on what else runs, so CPU time (user + system of the lint process and its
workers) is printed beside it, and ``--baseline SRC`` measures an older source tree (``git archive <commit> | tar
-x -C DIR``, then ``--baseline DIR/src``) in alternation with this one, run for run, under the same load.

    .venv/bin/python bench/bench_lint.py [--specs 1000] [--runs 3] [--with-rendering] [--profile] [--keep DIR]
                                         [--baseline OLD/src] [--library-only]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

CONSENTKIT = str(Path(sys.executable).parent / "consentkit")
LOCALE_KEYS = {"zh-CN", "zh-TW", "en"}


def library_specs() -> list[Path]:
    from consentkit.resources import builtin_dir
    from consentkit.spec.library import procedure_files

    return procedure_files(builtin_dir("procedures"))


def make_workspace(root: Path, count: int, *, distinct: bool) -> int:
    """A workspace (consentkit.toml + procedures/) with ``count`` specs; returns the bytes written."""
    (root / "procedures").mkdir(parents=True)
    (root / "consentkit.toml").write_text(
        '[clinic]\nname = {en = "Bench clinic"}\nphone = "+86 21 5555 0100"\nurgent_phone = "+86 21 5555 0199"\n'
        'jurisdiction = "cn"\nlocales = ["zh-CN", "zh-TW", "en"]\n',
        encoding="utf-8",
    )
    sources = library_specs()
    texts = [p.read_text(encoding="utf-8") for p in sources]
    total = 0
    for i in range(count):
        src, text = sources[i % len(sources)], texts[i % len(sources)]
        new_id = f"{src.stem}-{i:04d}"
        if distinct:
            data = yaml.safe_load(text)
            _perturb(data, i)
            data["id"] = new_id
            out = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110)
        else:
            out = re.sub(r"(?m)^id: .*$", f"id: {new_id}", text, count=1)
        (root / "procedures" / f"{new_id}.yaml").write_text(out, encoding="utf-8")
        total += len(out.encode())
    return total


def _perturb(node: Any, i: int) -> None:
    """Make every text unique: append the copy's number to each locale's text."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in LOCALE_KEYS and isinstance(value, str):
                node[key] = f"{value} ({i})"
            else:
                _perturb(value, i)
    elif isinstance(node, list):
        for item in node:
            _perturb(item, i)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_lint(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, dict[str, float], int]:
    cpu = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(
        [CONSENTKIT, "lint", "--timings", "--format", "json", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu
    if proc.returncode not in (0, 1):
        raise SystemExit(f"consentkit lint {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    phases: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if line.startswith("timings: "):
            for part in line.removeprefix("timings: ").split(", "):
                words = part.split(" ")
                if words[-1] == "ms":
                    phases[" ".join(words[:-2])] = float(words[-2]) / 1000
                elif words[0] == "cached":
                    phases["cached"] = float(words[1])
    phases["cpu"] = cpu
    return wall, phases, len(json.loads(proc.stdout))


def measure(
    args: list[str],
    cwd: Path,
    envs: dict[str, dict[str, str]],
    runs: int,
    *,
    prime: bool = False,
    fresh_cache: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """Median (and best) of ``runs`` runs per environment (this tree, and the baseline if given), alternating
    between them run by run so both see the same load."""
    results: dict[str, dict[str, Any]] = {}
    samples: dict[str, list[tuple[float, dict[str, float], int]]] = {name: [] for name in envs}
    if prime:
        for env in envs.values():
            run_lint(args, cwd, env)
    for i in range(runs):
        for name, env in envs.items():
            if fresh_cache is not None:
                folder = fresh_cache / f"{name}-{i}"
                shutil.rmtree(folder, ignore_errors=True)
                env = {**env, "XDG_CACHE_HOME": str(folder)}
            samples[name].append(run_lint(args, cwd, env))
    for name, rows in samples.items():
        walls = [r[0] for r in rows]
        results[name] = {
            "wall": statistics.median(walls),
            "best": min(walls),
            "cpu": statistics.median(r[1]["cpu"] for r in rows),
            "phases": rows[-1][1],
            "findings": rows[-1][2],
        }
    return results


def import_time(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import consentkit.cli.lint_cmd, consentkit.lint"], check=True, env=env)
    return time.perf_counter() - started


def profile(folder: Path) -> None:
    from consentkit.lint import lint_paths

    profiler = cProfile.Profile()
    profiler.enable()
    lint_paths([folder], ignore=["CK2"], jobs=1)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--specs", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--with-rendering", action="store_true", help="include CK200/CK210 in the large runs")
    parser.add_argument("--profile", action="store_true", help="cProfile one in-process run on the copies")
    parser.add_argument("--keep", type=Path, help="generate the workspaces here and keep them")
    parser.add_argument("--baseline", type=Path, help="an older tree's src/ to measure alongside (PYTHONPATH)")
    parser.add_argument("--library-only", action="store_true", help="only the built-in library rows")
    opts = parser.parse_args()
    base = opts.keep or Path(tempfile.mkdtemp(prefix="ck-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("CONSENTKIT_WORKSPACE", "CONSENTKIT_LINT_JOBS")}
    env["XDG_CACHE_HOME"] = str(base / "cache")
    envs = {"now": env}
    if opts.baseline:
        envs["baseline"] = {**env, "PYTHONPATH": str(opts.baseline.resolve()), "XDG_CACHE_HOME": str(base / "cache-b")}
    serial = {name: {**e, "CONSENTKIT_LINT_JOBS": "1"} for name, e in envs.items()}
    skip = [] if opts.with_rendering else ["--ignore", "CK2"]
    rows: list[tuple[str, int, int, dict[str, dict[str, Any]], str]] = []
    try:
        copies, distinct = base / "copies", base / "distinct"
        for folder in (copies, distinct, base / "cache", base / "cache-b", base / "fresh"):
            shutil.rmtree(folder, ignore_errors=True)
        lib = library_specs()
        n, lib_size = len(lib), sum(p.stat().st_size for p in lib)
        runs = opts.runs
        rows.append(("built-in, all rules, cold", n, lib_size, measure(["--no-cache"], base, envs, runs), "< 1 s"))
        fresh = measure([], base, envs, runs, fresh_cache=base / "fresh")
        rows.append(("built-in, all rules, fresh cache", n, lib_size, fresh, "< 1 s"))
        rows.append(("built-in, all rules, cold, 1 proc", n, lib_size, measure(["--no-cache"], base, serial, runs), ""))
        no_render = ["--no-cache", "--ignore", "CK2"]
        rows.append(("built-in, no CK2xx, cold", n, lib_size, measure(no_render, base, envs, runs), "< 1 s"))
        rows.append(("built-in, all rules, warm", n, lib_size, measure([], base, envs, runs, prime=True), "< 1 s"))
        if not opts.library_only:
            size = make_workspace(copies, opts.specs, distinct=False)
            dsize = make_workspace(distinct, opts.specs, distinct=True)
            big = [*skip, str(copies)]
            cold = measure(["--no-cache", *big], base, envs, runs)
            rows.append(("copies, parallel, cold", opts.specs, size, cold, "< 3 s"))
            rows.append(
                ("copies, 1 process, cold", opts.specs, size, measure(["--no-cache", *big], base, serial, runs), "")
            )
            rows.append(("copies, warm cache", opts.specs, size, measure(big, base, envs, runs, prime=True), "< 3 s"))
            dbig = ["--no-cache", *skip, str(distinct)]
            rows.append(("distinct, parallel, cold", opts.specs, dsize, measure(dbig, base, envs, runs), ""))
            rows.append(("distinct, 1 process, cold", opts.specs, dsize, measure(dbig, base, serial, runs), ""))
        if opts.profile and not opts.library_only:
            profile(copies)
    finally:
        if not opts.keep:
            shutil.rmtree(base, ignore_errors=True)
    imports = import_time(env)
    print(f"consentkit lint benchmark: {os.cpu_count()} cores, median of {opts.runs} runs, a new process each")
    print(f"python start + lint imports alone: {imports:.2f} s")
    if opts.baseline:
        print(f"'before' rows: {opts.baseline} (PYTHONPATH), run in alternation with this tree")
    if not opts.with_rendering and not opts.library_only:
        print(f"{opts.specs}-spec rows skip CK200/CK210 (rendering dry runs); --with-rendering includes them")
    header = (
        f"{'run':<34} {'specs':>5} {'MB':>5} {'wall s':>7} {'best s':>7} {'cpu s':>6} {'parse s':>8} {'texts s':>8} "
        f"{'rules s':>8} {'cached':>6} {'findings':>8}  target"
    )
    print(header)
    print("-" * len(header))
    for label, files, nbytes, results, target in rows:
        for name, result in results.items():
            ph = result["phases"]
            shown = label if name == "now" else "  before"
            print(
                f"{shown:<34} {files:>5} {nbytes / 1e6:>5.1f} {result['wall']:>7.2f} {result['best']:>7.2f} "
                f"{result['cpu']:>6.2f} "
                f"{ph.get('parse', 0):>8.2f} {ph.get('texts', 0):>8.2f} {ph.get('rules', 0):>8.2f} "
                f"{int(ph.get('cached', 0)):>6} {result['findings']:>8}  {target if name == 'now' else ''}"
            )
    print("parse: read + YAML + validation of the specs; texts: per-text rules; rules: everything after start-up")
    print("(summed over worker processes, so in parallel runs parse + texts can exceed the wall time); cpu: user +")
    print("system time of the lint process and its workers. The machine is shared: compare with `uptime`'s load.")
    print(f"load average now: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
