"""``publish translate``: the translators' round trip on the command line.

    publish translate status                      which translations are outdated or missing
    publish translate export --lang fr [--out F]  a PO file of what is new or changed in the source
    publish translate import F                    the translations back into content/fr/*.md
    publish translate mark --lang fr SERVICE...   record that a person brought these up to date

The work is done by :mod:`publisher.translation`; this module only parses arguments and prints.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from publisher.diagnostics import Diagnostics

EXIT_OK, EXIT_CONTENT = 0, 1


def _print(console: Console, diagnostics: Diagnostics) -> None:
    from publisher.cli import print_diagnostics

    print_diagnostics(console, diagnostics)


def _content(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--content", type=Path, default=Path("content"), metavar="DIR",
                        help="folder of Markdown service descriptions (default: content)")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="site configuration (default: DIR/site.yaml of --content)")


def add_commands(subparsers: Any) -> None:
    """Add ``translate`` and its sub-commands to the ``publish`` parser."""
    translate = subparsers.add_parser(
        "translate",
        help="send translations to translators and take them back; see what is outdated",
        description="Each translation records the revision of its source-language text it was "
        "made from. These commands show which translations are outdated, export what changed "
        "for a translator (a PO file), import the translated file back into the Markdown, and "
        "record a translation that a person updated by hand.",
    )
    commands = translate.add_subparsers(dest="translate_command", required=True,
                                        metavar="ACTION")

    status = commands.add_parser("status", help="list outdated, unrecorded and missing "
                                 "translations per language")
    _content(status)
    status.set_defaults(handler=cmd_status)

    export = commands.add_parser(
        "export",
        help="write a PO file of the source segments that are new or changed for a language",
        description="Write, for translators, a PO file (gettext) holding every segment of the "
        "source text that is new or changed since the revision each translation records; "
        "changed segments come as fuzzy entries with their previous text and translation. "
        "Services whose translation is current are left out unless named.",
    )
    export.add_argument("--lang", required=True, help="the language to translate into")
    export.add_argument("services", nargs="*", metavar="SERVICE",
                        help="only these services (default: every service not current)")
    export.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="where to write the PO file (default: translate-LANG.po)")
    _content(export)
    export.set_defaults(handler=cmd_export)

    imported = commands.add_parser(
        "import",
        help="write the translations of a PO file back into the Markdown of its language",
        description="Put every translated segment of FILE back into the Markdown of its "
        "language, on the structure of the source text it was exported from, and record that "
        "source revision. Nothing is written for a service with untranslated or fuzzy entries.",
    )
    imported.add_argument("file", type=Path, metavar="FILE", help="the translated PO file")
    _content(imported)
    imported.set_defaults(handler=cmd_import)

    mark = commands.add_parser(
        "mark",
        help="record that translations are up to date with their source (after a hand edit)",
    )
    mark.add_argument("--lang", required=True, help="the language of the translations")
    mark.add_argument("services", nargs="*", metavar="SERVICE", help="service ids")
    mark.add_argument("--all", action="store_true",
                      help="every translation in the language that is not current")
    _content(mark)
    mark.set_defaults(handler=cmd_mark)


def _site(args: argparse.Namespace, console: Console) -> tuple[Any, Diagnostics]:
    from publisher.load import load_site

    diagnostics = Diagnostics()
    site = load_site(args.content, diagnostics, args.config)
    if site is None:
        _print(console, diagnostics)
        console.print("[red]the content has errors[/red]: correct them first", soft_wrap=True)
    return site, diagnostics


def _check_lang(site: Any, lang: str, console: Console) -> bool:
    if lang in site.config.language_codes and lang != site.config.default_language:
        return True
    others = [c for c in site.config.language_codes if c != site.config.default_language]
    console.print(f"[red]'{escape(lang)}' is not a translation language of this site[/red] "
                  f"(these are: {', '.join(others)})", soft_wrap=True)
    return False


def cmd_status(args: argparse.Namespace, console: Console) -> int:
    from publisher.translation import translation_status

    site, _ = _site(args, console)
    if site is None:
        return EXIT_CONTENT
    for state in translation_status(site):
        console.print(
            f"[bold]{state.lang}[/bold]: {state.current} current, {len(state.outdated)} "
            f"outdated, {len(state.unknown)} with no recorded source revision, "
            f"{len(state.missing)} missing", soft_wrap=True)
        for doc in state.outdated:
            console.print(f"  outdated  {doc.source}", markup=False, highlight=False)
        for doc in state.unknown:
            console.print(f"  unknown   {doc.source}", markup=False, highlight=False)
        for service in state.missing:
            console.print(f"  missing   {state.lang}/{service}.md", markup=False,
                          highlight=False)
    return EXIT_OK


def cmd_export(args: argparse.Namespace, console: Console) -> int:
    from publisher.translation import export

    site, _ = _site(args, console)
    if site is None or not _check_lang(site, args.lang, console):
        return EXIT_CONTENT
    unknown = [s for s in args.services if s not in site.service_ids()]
    if unknown:
        console.print(f"[red]unknown services[/red]: {escape(', '.join(unknown))}", soft_wrap=True)
        return EXIT_CONTENT
    result = export(site, args.content, args.lang, args.services or None)
    out: Path = args.out or Path(f"translate-{args.lang}.po")
    out.write_bytes(result.data)
    total = sum(item.segments for item in result.services)
    for item in result.services:
        console.print(f"  {item.service}: {item.segments} segments ({item.mode})",
                      markup=False, highlight=False)
    console.print(f"[green]wrote[/green] {escape(str(out))}: {total} segments of "
                  f"{len(result.services)} services to translate", soft_wrap=True)
    return EXIT_OK


def cmd_import(args: argparse.Namespace, console: Console) -> int:
    from publisher.translation import import_file

    diagnostics = Diagnostics()
    result = import_file(args.file, args.content, diagnostics, args.config)
    _print(console, diagnostics)
    for path in result.written:
        console.print(f"  wrote {path}", markup=False, highlight=False)
    console.print(f"{len(result.written)} translations imported", soft_wrap=True)
    return EXIT_CONTENT if diagnostics.has_errors() else EXIT_OK


def cmd_mark(args: argparse.Namespace, console: Console) -> int:
    from publisher.translation import mark

    site, diagnostics = _site(args, console)
    if site is None or not _check_lang(site, args.lang, console):
        return EXIT_CONTENT
    services = list(args.services)
    if args.all:
        services += [service for service in site.service_ids()
                     if site.status(service, args.lang) in ("outdated", "unknown")]
    if not services:
        console.print("nothing to mark: name services, or use --all", soft_wrap=True)
        return EXIT_OK
    written = mark(site, args.content, args.lang, sorted(set(services)), diagnostics)
    _print(console, diagnostics)
    for path in written:
        console.print(f"  recorded the source revision in {path}", markup=False,
                      highlight=False)
    return EXIT_CONTENT if diagnostics.has_errors() else EXIT_OK
