"""The website audit against axe-core alone, page by page, with the memory of each.

Run: ``.venv/bin/python benchmarks/bench_html_audit.py [--site DIR] [--services N] [--pages N]
[--repeat N] [--work DIR]``.

Without ``--site`` it writes a catalogue of N services × en/fr/ar with ``generate.py`` (default
20) and builds its website with ``publish build --formats html --no-audit``. Then, on every HTML
page of that site, each in its own process measured from outside (``bench_build.measure``: wall
time, peak PSS of the tree sampled every 0.1 s; and the CPU time of the whole process tree,
Chromium's processes included, see :func:`measure_tree`):

1. **axe alone**: one headless Chromium; per page load it, inject axe-core, run it with the
   audit's rules (exactly ``bench_build.bare_axe``, with each page timed);
2. **the whole audit**: ``publisher.audit.run_audits`` on the same pages, as ``publish audit``
   runs it — axe-core and the browser checks, and the Nu Html Checker (the markup audit) beside
   them. The time of a page is the time from the browser
   opening it to the browser opening the next one (a page opened twice, for the check with
   JavaScript off, counts both times).

It prints, per page, the two times and their ratio, then the totals: the browser loops (browser
start excluded, as in ``bare_axe``), the processes (everything: Python, Chromium's start, the
validator on Java) and their peak memory. The machine's load average is printed too: other work
on the same cores makes wall times longer, CPU times much less so; ``--repeat 3`` runs both
three times, alternately, and keeps the quickest.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_build import PYTHON, GiB, Measured, axe_alone, measure_tree  # noqa: E402

TARGET_RATIO = 1.3
TARGET_MEMORY = 1 * GiB


def build_site(services: int, work: Path) -> Path:
    content, out = work / "content", work / "site"
    if not (out / "index.html").is_file():
        subprocess.run([str(PYTHON), str(ROOT / "benchmarks" / "generate.py"), str(services),
                        str(content)], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([str(ROOT / ".venv" / "bin" / "publish"), "build", "--content",
                        str(content), "--out", str(out), "--formats", "html", "--no-audit",
                        "--no-cache", "-q"], check=True, stdout=subprocess.DEVNULL)
    return out


# ---------------------------------------------------------------- the two children


def child_axe(pages: list[Path], report: Path) -> None:
    """axe-core alone, as ``bench_build.bare_axe`` runs it, each page timed."""
    started = time.perf_counter()
    seconds, start, loop, _ = axe_alone(pages)
    report.write_text(json.dumps({"pages": seconds, "start": start, "loop": loop,
                                  "total": time.perf_counter() - started}))


def child_audit(pages: list[Path], site: Path, report: Path) -> None:
    """The whole website audit, as ``publish audit`` runs it on a folder of pages (the browser,
    and the markup audit beside it); the time between two page loads of a browser goes to the
    page loaded first."""
    from publisher.audit import run_audits
    from publisher.audits import AuditContext, AuditInput
    from publisher.browser import Browser
    from publisher.diagnostics import Diagnostics

    lock = threading.Lock()
    seconds: dict[str, float] = {}
    current: dict[int, tuple[str, float]] = {}  # browser → (page, since)
    starts: list[float] = []
    loops: dict[int, float] = {}
    real_open, real_start, real_close = Browser.open, Browser.start, Browser.close

    def settle(browser: Browser, now: float) -> None:
        if id(browser) in current:
            page, since = current.pop(id(browser))
            seconds[page] = seconds.get(page, 0.0) + now - since
            loops[id(browser)] = loops.get(id(browser), 0.0) + now - since

    def opened(self: Browser, path: Path) -> None:
        with lock:
            now = time.perf_counter()
            settle(self, now)
            current[id(self)] = (str(path), now)
        real_open(self, path)

    def started(self: Browser) -> None:
        at = time.perf_counter()
        real_start(self)
        with lock:
            starts.append(time.perf_counter() - at)

    def closed(self: Browser) -> None:
        with lock:
            settle(self, time.perf_counter())
        real_close(self)

    Browser.open = opened  # type: ignore[method-assign]
    Browser.start = started  # type: ignore[method-assign]
    Browser.close = closed  # type: ignore[method-assign]
    inputs = [AuditInput(page, str(page.relative_to(site))) for page in pages]
    at = time.perf_counter()
    findings = run_audits(inputs, AuditContext(config=None, root=site), Diagnostics())
    total = time.perf_counter() - at
    outcomes: dict[str, int] = {}
    for finding in findings:
        outcomes[finding.outcome] = outcomes.get(finding.outcome, 0) + 1
    report.write_text(json.dumps({"pages": seconds, "start": max(starts, default=0.0),
                                  "browsers": len(starts), "loop": max(loops.values(), default=0),
                                  "total": total, "findings": len(findings),
                                  "outcomes": outcomes}))


def run_child(kind: str, pages: list[Path], site: Path) -> tuple[Measured, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        spec, report = Path(folder) / "spec.json", Path(folder) / "report.json"
        spec.write_text(json.dumps({"kind": kind, "pages": [str(p) for p in pages],
                                    "site": str(site), "report": str(report)}))
        measured = measure_tree(kind, [str(PYTHON), str(Path(__file__).resolve()), "--child",
                                  str(spec)])
        if measured.exit_code != 0 or not report.is_file():
            raise SystemExit(f"{kind} failed (exit {measured.exit_code}):\n"
                             f"{measured.output[-3000:]}")
        return measured, json.loads(report.read_text())


def child(spec_path: Path) -> None:
    spec = json.loads(spec_path.read_text())
    pages = [Path(p) for p in spec["pages"]]
    if spec["kind"] == "axe":
        child_axe(pages, Path(spec["report"]))
    else:
        child_audit(pages, Path(spec["site"]), Path(spec["report"]))


# ---------------------------------------------------------------- report


def _best(runs: list[tuple[Measured, dict[str, Any]]]) -> tuple[Measured, dict[str, Any]]:
    """The run with the least wall time, with each page at its quickest over all runs."""
    measured, report = min(runs, key=lambda run: run[0].wall)
    report["pages"] = {page: min(run[1]["pages"][page] for run in runs)
                       for page in report["pages"]}
    return measured, report


def _mib(size: float) -> str:
    return f"{size / 2**20:6.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, help="a built site (default: build one)")
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--pages", type=int, default=0, help="only the first N pages")
    parser.add_argument("--work", type=Path, help="where the generated site is kept")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run both N times, alternately, and keep each one's quickest run")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        site = args.site.resolve() if args.site else build_site(args.services, work)
        pages = sorted(site.rglob("*.html"))
        if args.pages:
            pages = pages[: args.pages]
        print(f"{len(pages)} pages of {site}; load average {os.getloadavg()[0]:.2f}", flush=True)
        runs: dict[str, list[tuple[Measured, dict[str, Any]]]] = {"axe": [], "audit": []}
        for _ in range(args.repeat):  # alternately, so both meet the same load on the machine
            for kind, found in runs.items():
                found.append(run_child(kind, pages, site))
        (axe_run, axe), (audit_run, audit) = (_best(runs["axe"]), _best(runs["audit"]))
    print(f"\n{'page':58} {'axe alone':>9} {'audit':>8} {'ratio':>6}")
    for page in pages:
        alone, ours = axe["pages"][str(page)], audit["pages"].get(str(page), 0.0)
        name = str(page.relative_to(site))
        print(f"{name[-58:]:58} {alone:8.3f}s {ours:7.3f}s {ours / alone:6.2f}")
    n = len(pages)
    sum_axe, sum_audit = sum(axe["pages"].values()), sum(audit["pages"].values())
    print(f"\nper page, browser loop      axe alone {sum_axe / n:6.3f} s   audit "
          f"{sum_audit / n:6.3f} s   ratio {sum_audit / sum_axe:4.2f} (target ≤ {TARGET_RATIO})")
    print(f"per page, everything         axe alone {axe['total'] / n:6.3f} s   audit "
          f"{audit['total'] / n:6.3f} s   ratio {audit['total'] / axe['total']:4.2f}"
          "   (browser start included; the audit's with the validator's wait)")
    print(f"browsers                     axe alone {1:6d}     audit {audit['browsers']:6d}"
          f"     (start {axe['start']:.1f} s / {audit['start']:.1f} s)")
    print(f"\n{'process':10} {'wall':>8} {'CPU':>8} {'CPU/page':>9} {'peak PSS':>10}"
          "  peak by program")
    for run in (axe_run, audit_run):
        programs = ", ".join(f"{name} {_mib(size).strip()}" for name, size in
                             sorted(run.peak_programs.items(), key=lambda kv: -kv[1])[:5])
        print(f"{run.label:10} {run.wall:7.1f}s {run.cpu:7.1f}s {run.cpu / n:8.3f}s "
              f"{_mib(run.tree_pss)}  {programs}")
    print(f"\nCPU ratio audit / axe alone: {audit_run.cpu / axe_run.cpu:.2f}; peak PSS of the "
          f"audit {audit_run.tree_pss / GiB:.2f} GiB (target < {TARGET_MEMORY / GiB:.0f} GiB)")
    print(f"findings: {audit['findings']} {audit['outcomes']}")
    print(f"load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
