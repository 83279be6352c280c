"""The ``publish`` command: the only place that prints.

Exit codes (also in the README):
  0  success: the output was published (or the audit found nothing at the gate's level)
  1  the content or configuration has errors: nothing was published, the old output is intact
  2  the command line is wrong (unknown option, missing argument)
  3  the accessibility audit failed at the --fail-on level: the old output is intact
  4  an output could not be rendered (a fault in publisher or an engine): nothing was published
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from publisher import __version__
from publisher.audit import FAIL_ON_LEVELS, parse_fail_on
from publisher.audits import RULEBOOKS, Finding
from publisher.build import BuildOptions, BuildResult, build
from publisher.build import Progress as BuildProgress
from publisher.diagnostics import Diagnostics, Severity
from publisher.engine import Task

if TYPE_CHECKING:
    from publisher.serve import Rebuild

EXIT_OK, EXIT_CONTENT, EXIT_USAGE, EXIT_AUDIT, EXIT_RENDER = 0, 1, 2, 3, 4


class RichProgress(BuildProgress):
    """A progress bar on standard error: done / total, and the task that is running."""

    def __init__(self, console: Console, enabled: bool) -> None:
        self.console = console
        self.enabled = enabled
        self.bar: Progress | None = None
        self.task_id: object = None

    def stage(self, name: str) -> None:
        if self.enabled and self.bar is None:
            self.console.print(f"[dim]… {name}[/dim]")

    def start(self, total: int) -> None:
        if not self.enabled:
            return
        self.bar = Progress(
            TextColumn("[bold]rendering"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=self.console,
            transient=True,
        )
        self.bar.start()
        self.task_id = self.bar.add_task("", total=total)

    def advance(self, task: Task, seconds: float) -> None:
        if self.bar is not None:
            slow = f" [yellow](slow: {seconds:.1f} s)[/yellow]" if seconds > 5 else ""
            self.bar.update(self.task_id, advance=1, description=task.describe() + slow)  # type: ignore[arg-type]

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def print_diagnostics(console: Console, diagnostics: Diagnostics) -> None:
    styles = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}
    for diagnostic in diagnostics.sorted():
        console.print(diagnostic.format(), style=styles[diagnostic.severity], markup=False,
                      highlight=False, soft_wrap=True)


def summary(console: Console, result: BuildResult, out_dir: Path) -> None:
    errors = len(result.diagnostics.errors)
    warnings = len(result.diagnostics.warnings)
    if result.published:
        formats = ", ".join(f"{count} {name}" for name, count in result.formats.items())
        verb = "unchanged" if result.unchanged else "published"
        console.print(
            f"[green]{verb}[/green] {result.services} services in {result.languages} "
            f"languages to {escape(str(out_dir))}/ in {result.seconds:.1f} s: "
            f"{sum(result.formats.values())} files "
            f"({formats}); {result.rendered_tasks} tasks rendered, {result.cached_tasks} from "
            f"the cache; {warnings} warnings"
        )
        if result.slowest:
            slow = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.slowest[:3])
            console.print(f"[dim]slowest: {escape(slow)}[/dim]")
    else:
        failed = f", {result.failed_tasks} outputs failed" if result.failed_tasks else ""
        console.print(
            f"[red]not published[/red]: {errors} errors, {warnings} warnings{failed}. "
            f"{escape(str(out_dir))}/ was left as it was."
        )


def print_findings(console: Console, findings: Sequence[Finding], limit: int = 60) -> None:
    failed = [f for f in findings if f.outcome == "failed"]
    for finding in failed[:limit]:
        where = f" {finding.locator}" if finding.locator else ""
        console.print(
            f"{finding.artifact}:{where} failed[{finding.check}] ({finding.impact}): "
            f"{finding.message}",
            style="red" if finding.impact in {"critical", "serious"} else "yellow",
            markup=False, highlight=False, soft_wrap=True,
        )
    if len(failed) > limit:
        console.print(f"… and {len(failed) - limit} more failed checks (see the report)")


def audit_summary(console: Console, findings: Sequence[Finding], report: Path) -> None:
    counts = Counter(f.outcome for f in findings)
    artifacts = len({f.artifact for f in findings})
    console.print(
        f"audit: {len(findings)} checks on {artifacts} files: {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['cannot-tell']} cannot tell; "
        f"report: {report}/index.html"
    )


def cmd_build(args: argparse.Namespace, console: Console) -> int:
    formats = args.formats.split(",") if args.formats else None
    result = build(
        BuildOptions(
            content_dir=args.content,
            out_dir=args.out,
            config_path=args.config,
            formats=formats,
            audit=not args.no_audit,
            formats_dir=args.formats_dir,
            jobs=args.jobs,
            scheduler=args.scheduler,
            cache_dir=args.cache,
            use_cache=not args.no_cache,
            fail_on=args.fail_on,
            progress=RichProgress(console, not args.quiet),
        )
    )
    print_diagnostics(console, result.diagnostics)
    if result.audited:
        print_findings(console, result.gate_failures)
        where = result.kept_dir or args.out
        audit_summary(console, result.findings, where / "reports" / "accessibility")
    summary(console, result, args.out)
    if result.published:
        return EXIT_OK
    if result.gate_failures:
        console.print(
            f"[red]the accessibility gate failed[/red]: {len(result.gate_failures)} findings at "
            f"'{args.fail_on or 'the site’s fail_on level'}' or worse. The new build is kept in "
            f"{escape(str(result.kept_dir))}/ for inspection.",
            soft_wrap=True,
        )
        return EXIT_AUDIT
    # B0xx: an output failed to render (a fault of ours or an engine's); B1xx say what the
    # site's configuration lacks (no braille table for a language), an error of the content
    if result.failed_tasks or any(d.code.startswith("B0") for d in result.diagnostics.errors):
        return EXIT_RENDER
    return EXIT_CONTENT


def fail_on_spec(value: str) -> str:
    """``--fail-on``, checked as argparse reads it."""
    try:
        parse_fail_on(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
    return value


FAIL_ON_METAVAR = "[BOOK=]LEVEL,..."
FAIL_ON_HELP = (
    f"the audit gate: a level ({'|'.join(FAIL_ON_LEVELS)}) for every rulebook, or per rulebook "
    f"({'|'.join(RULEBOOKS)}), e.g. 'wcag=serious,advice=none'; a failed finding of that "
    "rulebook with this impact or worse fails it (default: the site's fail_on, serious for each)"
)


def cmd_serve(args: argparse.Namespace, console: Console) -> int:
    import time

    from publisher.serve import start

    options = BuildOptions(
        content_dir=args.content, out_dir=args.out, config_path=args.config,
        formats=args.formats.split(",") if args.formats else None, audit=args.audit,
        fail_on="none" if not args.audit else args.fail_on, formats_dir=args.formats_dir,
        jobs=args.jobs, progress=RichProgress(console, enabled=False),
    )

    def report(rebuild: Rebuild) -> None:
        result = rebuild.result
        if not rebuild.changed:  # the first build: everything, as `publish build` shows it
            print_diagnostics(console, result.diagnostics)
            if result.audited:
                print_findings(console, result.findings)
            summary(console, result, args.out)
            return
        console.print(rebuild_line(rebuild), markup=False, highlight=False, soft_wrap=True)
        print_diagnostics(console, Diagnostics(list(rebuild.new)))
        print_findings(console, rebuild.new_findings)

    server = start(options, args.host, args.port, report)
    console.print(f"serving {args.out}/ at {server.url} — watching {args.content}/ and the "
                  "formats folder; Ctrl-C stops", soft_wrap=True, markup=False)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.stop()
    return EXIT_OK


def rebuild_line(rebuild: Rebuild) -> str:
    """One line per preview rebuild: what changed, what was rendered, how long it took, and
    how many problems are still open (printed when they were new, not again)."""
    result = rebuild.result
    changed = ", ".join(rebuild.changed[:3])
    if len(rebuild.changed) > 3:
        changed += f" and {len(rebuild.changed) - 3} more"
    names = [task.describe() for task in result.rendered]
    rendered = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    took = f"in {result.seconds:.1f} s"
    if result.published:
        done = (f"rebuilt {rendered} {took} ({result.rendered_tasks} rendered, "
                f"{result.cached_tasks} from the cache)" if names
                else f"rebuilt {took}, nothing to render again")
    else:
        why = (f"the audit gate refused {len(result.gate_failures)} findings"
               if result.gate_failures else f"{len(result.diagnostics.errors)} errors")
        done = f"not published ({why}, {took}): the preview keeps the last good pages"
    open_now = len(rebuild.new) + rebuild.still_open
    problems = f"{open_now} problems open" + (f" ({len(rebuild.new)} new)" if rebuild.new else "")
    if rebuild.resolved:
        problems += f", {rebuild.resolved} resolved"
    return f"{changed} changed: {done}; {problems}"


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    import json

    from publisher.annotations import to_github, to_sarif
    from publisher.check import check

    cache = None if args.no_cache else (args.cache or Path(".site.cache"))
    result = check(args.content, args.config, args.files or None, cache, args.fail_on)
    ordered = result.diagnostics.sorted()
    if args.format == "sarif":
        sys.stdout.write(json.dumps(to_sarif(ordered), ensure_ascii=False, indent=2) + "\n")
    elif args.format == "github":
        sys.stdout.write("".join(line + "\n" for line in to_github(ordered)))
    else:
        print_diagnostics(console, result.diagnostics)
    errors = len(result.diagnostics.errors)
    other = (f"; {result.other_files} problems in other files not shown" if result.other_files
             else "")
    counts = f"{errors} errors, {len(result.diagnostics.warnings)} warnings{other}"
    if result.audited:
        said = f"checked {result.services} service pages in {result.seconds:.1f} s: {counts}"
    else:  # say so: a clean list of files would otherwise look fully checked
        said = (f"checked the content folder in {result.seconds:.1f} s: {counts}; the content "
                "audit (review dates, plain language) did not run: fix the errors first")
    console.print(said, markup=False, highlight=False, soft_wrap=True)
    if any(d.severity is Severity.ERROR and d.code[:1].isupper() for d in ordered):
        return EXIT_CONTENT
    return EXIT_AUDIT if result.gate_failures else EXIT_OK


def cmd_audit(args: argparse.Namespace, console: Console) -> int:
    from publisher.audit_command import AuditOptions, audit_paths

    outcome = audit_paths(
        AuditOptions(paths=args.paths, report_dir=args.report, content_dir=args.content,
                     fail_on=args.fail_on)
    )
    print_diagnostics(console, outcome.diagnostics)
    if outcome.diagnostics.has_errors():
        return EXIT_CONTENT if not outcome.findings else EXIT_RENDER
    print_findings(console, outcome.findings)
    audit_summary(console, outcome.findings, args.report)
    if outcome.gate_failures:
        console.print(f"[red]{len(outcome.gate_failures)} findings at '{outcome.fail_on}' or "
                      "worse[/red]")
        return EXIT_AUDIT
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="publish",
        description="Write each public-service description once, in Markdown; publish it "
        "accessibly in every format and language.",
        epilog="Exit codes: 0 published, 1 content errors, 2 usage, 3 audit gate failed, "
        "4 rendering failed. See README.md.",
    )
    main.add_argument("--version", action="version", version=f"publisher {__version__}")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    build_cmd = commands.add_parser(
        "build",
        help="build the content folder into a complete, deployable output",
        description="Read every service description, render every format in every language, "
        "and replace the output folder in one step only if everything succeeded.",
        epilog="Settings live in the content folder's site.yaml (see README.md, \"Site "
        "configuration\"). Pages exported from a CMS link with root-relative paths "
        "(/find-a-court): set 'links: {root: https://www.example.gov/}' for the site they lead "
        "to, and 'links: {old_addresses: {/old/path: service-id}}' for the services' old "
        "addresses, which then link to the service. A service without fees is published as "
        "free only with 'free_of_charge: true' in its front matter.",
    )
    build_cmd.add_argument("--content", type=Path, default=Path("content"), metavar="DIR",
                           help="folder of Markdown service descriptions (default: content)")
    build_cmd.add_argument("--out", type=Path, default=Path("site"), metavar="DIR",
                           help="output folder (default: site)")
    build_cmd.add_argument("--config", type=Path, default=None, metavar="FILE",
                           help="site configuration (default: DIR/site.yaml of --content)")
    build_cmd.add_argument("--formats", default=None, metavar="LIST",
                           help="comma-separated formats to build (default: all enabled); "
                           "the website (html, search, opendata) is always built")
    build_cmd.add_argument("--formats-dir", type=Path, default=None, metavar="DIR",
                           help="your own copy of the formats folder (templates, stylesheets) "
                           "to brand the outputs; the audit holds it to the same checks")
    build_cmd.add_argument("--fail-on", type=fail_on_spec, default=None, metavar=FAIL_ON_METAVAR,
                           help="do not publish when the gate fails: " + FAIL_ON_HELP
                           + "; 'none' publishes whatever the audit finds")
    build_cmd.add_argument("--no-audit", action="store_true",
                           help="skip the accessibility audit (a quick preview; the report "
                           "and statement then say that nothing was checked)")
    build_cmd.add_argument("-j", "--jobs", type=int, default=0, metavar="N",
                           help="worker processes (default: one per core; 1 renders in this "
                           "process)")
    build_cmd.add_argument("--scheduler", default=None, metavar="ADDRESS",
                           help="run the rendering on a Dask distributed cluster, e.g. "
                           "tcp://127.0.0.1:8786 (its workers must see the content folder)")
    build_cmd.add_argument("--cache", type=Path, default=None, metavar="DIR",
                           help="where rendered files and audit results are kept between "
                           "builds (default: .OUT.cache beside the output folder)")
    build_cmd.add_argument("--no-cache", action="store_true",
                           help="render and audit everything again, and keep no cache")
    build_cmd.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    build_cmd.set_defaults(handler=cmd_build)

    serve_cmd = commands.add_parser(
        "serve",
        help="preview the output on localhost, rebuilding and reloading on every change",
        description="Build, serve the output on localhost and watch the content, the formats "
        "folder and the configuration: each change rebuilds what it affects and reloads the "
        "open pages. A build with errors keeps the previous output on screen.",
    )
    serve_cmd.add_argument("--content", type=Path, default=Path("content"), metavar="DIR")
    serve_cmd.add_argument("--out", type=Path, default=Path("site"), metavar="DIR")
    serve_cmd.add_argument("--config", type=Path, default=None, metavar="FILE")
    serve_cmd.add_argument("--formats", default="html", metavar="LIST",
                           help="formats to build while previewing (default: html)")
    serve_cmd.add_argument("--formats-dir", type=Path, default=None, metavar="DIR")
    serve_cmd.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve_cmd.add_argument("--audit", action="store_true",
                           help="audit each preview build too (slower)")
    serve_cmd.add_argument("--fail-on", type=fail_on_spec, default=None, metavar=FAIL_ON_METAVAR,
                           help=FAIL_ON_HELP)
    serve_cmd.add_argument("-j", "--jobs", type=int, default=0, metavar="N")
    serve_cmd.set_defaults(handler=cmd_serve)

    check_cmd = commands.add_parser(
        "check",
        help="check the content quickly, without rendering (pre-commit hooks, CI)",
        description="Load, validate and parse the whole content folder and run the content "
        "audit (links, headings, alt text, translations, review dates, plain language); "
        "nothing is rendered. Given FILES (what a commit changed), only their problems are "
        "shown; links are still resolved against the whole catalogue.",
    )
    check_cmd.add_argument("files", nargs="*", type=Path, metavar="FILE",
                           help="the files (or folders) to report on (default: all)")
    check_cmd.add_argument("--content", type=Path, default=Path("content"), metavar="DIR")
    check_cmd.add_argument("--config", type=Path, default=None, metavar="FILE")
    check_cmd.add_argument("--format", choices=("text", "sarif", "github"), default="text",
                           help="text on standard error (default), or on standard output a "
                           "SARIF 2.1.0 log (code scanning) or GitHub Actions annotations")
    check_cmd.add_argument("--fail-on", choices=FAIL_ON_LEVELS, default="serious",
                           help="exit with 3 when a content finding has this impact or worse")
    check_cmd.add_argument("--cache", type=Path, default=None, metavar="DIR",
                           help="the build's cache of parsed files (default: .site.cache)")
    check_cmd.add_argument("--no-cache", action="store_true", help="parse every file again")
    check_cmd.set_defaults(handler=cmd_check)

    audit_cmd = commands.add_parser(
        "audit",
        help="audit existing files: a published output, someone else's HTML, single files",
        description="Run the same checks as the build on any HTML, PDF, BRF, PEF, MP3 or VTT "
        "files (folders are searched) and write the reports.",
    )
    audit_cmd.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                           help="files or folders to audit")
    audit_cmd.add_argument("--report", type=Path, default=Path("audit-report"), metavar="DIR",
                           help="where to write the reports (default: audit-report)")
    audit_cmd.add_argument("--content", type=Path, default=None, metavar="DIR",
                           help="the content folder a published output was built from: lets "
                           "the checks compare each file with its source")
    audit_cmd.add_argument("--fail-on", type=fail_on_spec, default=None, metavar=FAIL_ON_METAVAR,
                           help="exit with 3 when the gate fails: " + FAIL_ON_HELP + "; without "
                           "--content the house rules do not count (house=none)")
    audit_cmd.set_defaults(handler=cmd_audit)
    from publisher.translate_cli import add_commands as add_translate_commands

    add_translate_commands(commands)
    return main


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # no emoji codes: a message's ``file.md:100:1`` must not print as ``file.md💯1``
    console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
    code: int = args.handler(args, console)
    return code


def run() -> None:
    """The ``publish`` command: :func:`main`, then the end of the process without tearing
    down what a large build left in memory (freeing a thousand services' documents and files
    object by object takes seconds; mypy ends with ``os._exit`` for the same reason). Output is
    flushed first; nothing else is pending: worker pools, browsers and clients are closed by
    the commands themselves."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
