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
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from publisher import __version__
from publisher.build import BuildOptions, BuildResult, Task, build
from publisher.build import Progress as BuildProgress
from publisher.diagnostics import Diagnostics, Severity

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
        by_format: dict[str, int] = {}
        for artifact in result.artifacts:
            by_format[artifact.format] = by_format.get(artifact.format, 0) + 1
        formats = ", ".join(f"{count} {name}" for name, count in sorted(by_format.items()))
        console.print(
            f"[green]published[/green] {result.services} services in {result.languages} "
            f"languages to {out_dir}/ in {result.seconds:.1f} s: {len(result.artifacts)} files "
            f"({formats}); {warnings} warnings"
        )
        if result.slowest:
            slow = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.slowest[:3])
            console.print(f"[dim]slowest: {slow}[/dim]")
    else:
        failed = f", {result.failed_tasks} outputs failed" if result.failed_tasks else ""
        console.print(
            f"[red]not published[/red]: {errors} errors, {warnings} warnings{failed}. "
            f"{out_dir}/ was left as it was."
        )


def cmd_build(args: argparse.Namespace, console: Console) -> int:
    formats = args.formats.split(",") if args.formats else None
    result = build(
        BuildOptions(
            content_dir=args.content,
            out_dir=args.out,
            config_path=args.config,
            formats=formats,
            progress=RichProgress(console, not args.quiet),
        )
    )
    print_diagnostics(console, result.diagnostics)
    summary(console, result, args.out)
    if result.published:
        return EXIT_OK
    if result.failed_tasks:
        return EXIT_RENDER
    return EXIT_CONTENT


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
    )
    build_cmd.add_argument("--content", type=Path, default=Path("content"), metavar="DIR",
                           help="folder of Markdown service descriptions (default: content)")
    build_cmd.add_argument("--out", type=Path, default=Path("site"), metavar="DIR",
                           help="output folder (default: site)")
    build_cmd.add_argument("--config", type=Path, default=None, metavar="FILE",
                           help="site configuration (default: DIR/site.yaml of --content)")
    build_cmd.add_argument("--formats", default=None, metavar="LIST",
                           help="comma-separated formats to build (default: all enabled); "
                           "the website is always built")
    build_cmd.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    build_cmd.set_defaults(handler=cmd_build)
    return main


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    code: int = args.handler(args, console)
    return code


if __name__ == "__main__":
    sys.exit(main())
