"""How long ``publish check`` takes on a large content folder: the whole of it, and the few
files a commit changed (what a pre-commit hook passes).

Run: ``.venv/bin/python benchmarks/bench_check.py [--services 1000] [--changed 5]
[--repeat 3] [--work DIR]``. It generates a catalogue with ``generate.py`` (``--services`` ×
en/fr/ar: 3,000 files by default), then runs ``publish check`` in a process of its own each time,
as a hook or a CI step starts it, and measures it from outside (wall time, and the CPU time of
the process): on the whole folder and on a list of ``--changed`` files (one paragraph of each
edited first, spread over the three languages), each with an empty cache (a fresh CI checkout)
and with the cache the previous run left (an author's working copy). Each case is run
``--repeat`` times and the quickest is kept; the load average at the start and at the end is
printed, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import LANGUAGES, generate  # noqa: E402

_SUMMARY = re.compile(r"checked (\d+) service pages in [\d.]+ s: (\d+) errors, (\d+) warnings")


@dataclass
class Run:
    wall: float
    cpu: float
    code: int
    summary: str


def publish_check(content: Path, files: Sequence[Path], cache: Path | None) -> Run:
    """One ``publish check`` in its own process (as ``.venv/bin/publish check`` runs)."""
    command = [sys.executable, "-m", "publisher.cli", "check", "--content", str(content)]
    command += ["--no-cache"] if cache is None else ["--cache", str(cache)]
    command += [str(path) for path in files]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=content.parent, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    match = _SUMMARY.search(done.stderr)
    if match is None:
        raise SystemExit(f"publish check gave no summary (exit {done.returncode}):\n"
                         f"{done.stderr[-2000:]}")
    summary = (f"{match[1]} pages, {match[2]} errors, {match[3]} warnings, "
               f"exit {done.returncode}")
    return Run(wall, cpu, done.returncode, summary)


def edit_paragraphs(content: Path, files: Sequence[Path]) -> None:
    """One paragraph of each file changed, as a commit would: the cache of those files is then
    stale, the others' is not."""
    for path in files:
        lines = path.read_text(encoding="utf-8").split("\n")
        closing = lines.index("---", 1)  # the end of the front matter
        body = next(k for k in range(closing + 1, len(lines))
                    if lines[k] and not lines[k].startswith(("#", "-", "|", ">", "*", "1.")))
        lines[body] = lines[body].rstrip() + " (edited)"
        path.write_text("\n".join(lines), encoding="utf-8")


def changed_files(content: Path, ids: Sequence[str], count: int) -> list[Path]:
    step = max(1, len(ids) // count)
    return [content / LANGUAGES[k % len(LANGUAGES)] / f"{ids[k * step]}.md"
            for k in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000,
                        help="services, each in en, fr and ar (default 1000: 3,000 files)")
    parser.add_argument("--changed", type=int, default=5, help="files in the changed list")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case (quickest kept)")
    parser.add_argument("--work", type=Path, default=None, help="keep the catalogue here")
    args = parser.parse_args()
    load_start = os.getloadavg()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-check-"))
    content = work / "content"
    cache = work / "cache"
    try:
        started = time.perf_counter()
        ids = generate(args.services, content)
        files = sorted(content.rglob("*.md"))
        print(f"generated {len(files)} files ({args.services} services x {len(LANGUAGES)} "
              f"languages) in {time.perf_counter() - started:.1f} s")
        changed = changed_files(content, ids, args.changed)
        cases: dict[str, list[Run]] = {}

        def case(label: str, subset: Sequence[Path], warm: bool) -> None:
            if not warm:
                shutil.rmtree(cache, ignore_errors=True)
            cases.setdefault(label, []).append(
                publish_check(content, subset, cache if warm else None))

        for _ in range(args.repeat):
            case("whole folder, no cache (CI)", [], warm=False)
            case(f"{len(changed)} changed files, no cache (CI)", changed, warm=False)
            shutil.rmtree(cache, ignore_errors=True)
            publish_check(content, [], cache)  # the cache an author's earlier runs leave
            edit_paragraphs(content, changed)
            case("whole folder, warm cache", [], warm=True)
            edit_paragraphs(content, changed)
            case(f"{len(changed)} changed files, warm cache (pre-commit)", changed, warm=True)
        print(f"\npublish check on {len(files)} files, quickest of {args.repeat} "
              "(each run a new process):")
        print(f"{'case':<46} {'wall s':>8} {'cpu s':>8}  result")
        for label, runs in cases.items():
            best = min(runs, key=lambda run: run.wall)
            walls = ", ".join(f"{run.wall:.2f}" for run in runs)
            print(f"{label:<46} {best.wall:>8.2f} {best.cpu:>8.2f}  {best.summary}"
                  f"  (all: {walls})")
        print(f"\nload average at start {load_start[0]:.2f}, at end {os.getloadavg()[0]:.2f} "
              f"({os.cpu_count()} cores)")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
