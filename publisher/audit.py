"""Run every format's audit on real files and decide whether the result may be published.

In: files on disk (a build's staging folder, or whatever an auditor points ``publish audit``
at), with what is known of each (artifact, source document). Out: findings, sorted, plus
diagnostics for audits that could not run. The gate compares failed findings' impacts with the
``--fail-on`` level of their rulebook (WCAG, advice, house rule).
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from publisher.audits import (
    IMPACTS,
    RULEBOOKS,
    AuditContext,
    AuditInput,
    Finding,
    Rulebook,
    is_not_checked,
    registry,
)
from publisher.cache import Store, code_version, digest
from publisher.config import SiteConfig
from publisher.diagnostics import Diagnostics, display_path
from publisher.model import Document
from publisher.writers import Artifact, StoredBytes

FAIL_ON_LEVELS = (*IMPACTS, "none")


def inputs_for_build(
    root: Path, artifacts: Iterable[Artifact], documents: dict[tuple[str, str], Document]
) -> list[AuditInput]:
    """What a build wrote, each file with its artifact and source document."""
    inputs = []
    for artifact in sorted(artifacts, key=lambda a: a.path):
        doc = (
            documents.get((artifact.service, artifact.lang))
            if artifact.service and artifact.lang
            else None
        )
        inputs.append(AuditInput(root / artifact.path, artifact.path, artifact, doc))
    return inputs


def inputs_for_paths(paths: Sequence[Path], diagnostics: Diagnostics) -> list[AuditInput]:
    """Files and folders given on the command line; folders are searched for known suffixes.

    When a folder holds a ``manifest.json`` written by publisher, each file keeps its
    output-relative name.
    """
    suffixes = {suffix for audit in registry().values() for suffix in audit.suffixes}
    inputs: list[AuditInput] = []
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file() and file.suffix.lower() in suffixes:
                    inputs.append(AuditInput(file, file.relative_to(path).as_posix()))
        elif path.is_file():
            if path.suffix.lower() not in suffixes:
                diagnostics.error(
                    "U002",
                    f"{display_path(path)}: no audit reads '{path.suffix or 'this'}' files",
                    None,
                    f"audits exist for: {', '.join(sorted(suffixes))}",
                )
                continue
            inputs.append(AuditInput(path, display_path(path)))
        else:
            diagnostics.error(
                "U002", f"{display_path(path)} does not exist", None, "check the path"
            )
    return inputs


#: programs the audits run, found on the PATH
AUDIT_PROGRAMS = ("pdftotext", "java")


@cache
def engines_version() -> str:
    """The audits' engines: the pinned npm packages (axe-core, the HTML validator), the audio
    decoder (the soundfile wheel, whose libsndfile and libmpg123 decode the notices), the
    browser and the programs the audits run (poppler's pdftotext reads the PDFs' text, Java
    runs the validator), by their files' size and date (asking each its version would start
    it: Chromium takes a second), and the PDF/UA-1 validator's package version. A program
    missing gives its checks a "Not checked" finding, which is never cached; one installed or
    upgraded re-audits every file."""
    from publisher.audits import node_modules
    from publisher.audits.pdf import validator_version
    from publisher.browser import CHROMEDRIVER, CHROMIUM
    from publisher.writers.audio import decoder_version

    lock = node_modules().parent / "package-lock.json"
    parts: list[object] = [lock.read_bytes() if lock.is_file() else "no package-lock.json",
                           decoder_version(), validator_version()]
    found = [shutil.which(name) for name in AUDIT_PROGRAMS]
    for program in (CHROMIUM, CHROMEDRIVER, *(Path(path) for path in found if path)):
        try:
            info = program.resolve().stat()
            parts.append([str(program.resolve()), info.st_size, info.st_mtime_ns])
        except OSError:
            parts.append([str(program), "missing"])
    parts.append([name for name, path in zip(AUDIT_PROGRAMS, found, strict=True) if not path])
    return digest(*parts)


def run_audits(
    inputs: Sequence[AuditInput],
    ctx: AuditContext,
    diagnostics: Diagnostics,
    store: Store | None = None,
    paths: Sequence[str] = (),
    skip: Collection[str] = (),
    extra: Mapping[str, Sequence[AuditInput]] | None = None,
) -> list[Finding]:
    """Every registered audit on the files it reads. With a ``store``, a file whose bytes,
    source document and neighbours (``paths``: every file of the output, which link checks
    depend on) are unchanged keeps its earlier findings instead of being audited again.

    ``skip`` names audits left for a later call, and ``extra`` gives some audits more files
    than ``inputs``: a build validates the markup of all its pages in its last round, which
    starts the validator once (see ``publisher.build.audit_and_report``).

    The website's audit (a browser, the validator) runs beside the others, which take their
    turns in a process of their own (see :func:`_in_child`): each spends most of its time in
    engines outside Python (Chromium, Java, libsndfile, poppler, liblouis), so two cores are kept
    busy. Findings and messages come out in the same order whatever finished first."""
    store = store or Store(None)
    config = ctx.config.model_dump_json() if ctx.config else ""
    clock = ctx.build_time.isoformat() if ctx.build_time else ""
    neighbours = digest(list(paths))
    audits = sorted(registry().items())
    extra = extra or {}
    groups = {name: [item for item in (*inputs, *extra.get(name, ()))
                     if item.path.suffix.lower() in audit.suffixes and audit.reads(item)]
              for name, audit in audits if name not in skip}

    def lookup(name: str) -> tuple[list[Finding], list[AuditInput], dict[str, str]]:
        """What the cache holds of an audit's files, the files left to audit, and every key."""
        group = groups[name]
        keys = {
            item.name: digest(code_version(), engines_version(), name, config, clock,
                              neighbours, item.name,
                              item.path.read_bytes() if item.path.is_file() else b"",
                              item.document.fingerprint if item.document else "",
                              _sibling_bytes(item) if name in SIBLING_AUDITS else b"")
            for item in group
        }
        findings: list[Finding] = []
        todo = []
        for item in group:
            cached = store.get_findings(keys[item.name])
            if cached is None:
                todo.append(item)
            else:
                findings.extend(cached)
        return findings, todo, keys

    def in_turn(names: Sequence[str], run: Runner = _here, context: AuditContext = ctx
                ) -> dict[str, tuple[list[Finding], Diagnostics]]:
        looked = {name: lookup(name) for name in names}
        produced = run({name: todo for name, (_, todo, _) in looked.items() if todo}, context)
        results = {}
        for name, (findings, todo, keys) in looked.items():
            found = Diagnostics()
            results[name] = (findings, found)
            if not todo:
                continue
            made = produced[name]
            if isinstance(made, str):  # the audit could not run: say so, never pretend it passed
                found.error(
                    "B002",
                    f"the {name} audit could not run: {made}",
                    None,
                    "check that the set-up completed (./run setup); "
                    "this is not an error in the text",
                )
                continue
            findings.extend(made)
            by_artifact: dict[str, list[Finding]] = {item.name: [] for item in todo}
            for finding in made:
                by_artifact.setdefault(finding.artifact, []).append(finding)
            for item in todo:
                # cannot-tell from a missing tool is not cached: it may be installed next time
                if not any(is_not_checked(f) for f in by_artifact[item.name]):
                    store.put_findings(keys[item.name], by_artifact[item.name])
        return results

    busy = [name for name, _ in audits if groups.get(name)]
    first = [name for name in busy if name == "html"]
    rest = [name for name in busy if name != "html"]
    results: dict[str, tuple[list[Finding], Diagnostics]] = {}
    if first and rest:
        done = threading.Event()
        with ThreadPoolExecutor(max_workers=1) as pool:
            beside = pool.submit(in_turn, rest, _in_child)
            beside.add_done_callback(lambda _: done.set())
            results.update(in_turn(first, context=dataclasses.replace(ctx, beside_done=done)))
            results.update(beside.result())
    else:
        results.update(in_turn(busy))
    findings: list[Finding] = []
    for name in busy:
        produced, found = results[name]
        findings.extend(produced)
        diagnostics.extend(found.items)
    return sorted(findings, key=lambda f: (f.artifact, f.check, f.locator, f.outcome))


#: how audits are run on the files each has to read: ``run({name: inputs}, ctx)`` gives each
#: audit's findings, or why it could not run
Runner = Callable[[Mapping[str, Sequence[AuditInput]], AuditContext],
                  dict[str, "list[Finding] | str"]]


def _here(work: Mapping[str, Sequence[AuditInput]], ctx: AuditContext
          ) -> dict[str, list[Finding] | str]:
    """The audits in turn, in this process."""
    results: dict[str, list[Finding] | str] = {}
    for name, inputs in work.items():
        try:
            results[name] = registry()[name].audit(inputs, ctx)
        except Exception as exc:
            results[name] = f"{type(exc).__name__}: {exc}"
    return results


#: the child's program: the parent's import path first (a build may run from a copy of the code
#: put on sys.path, as the benchmarks do), then the work
_CHILD = """import pickle, sys
sys.path[:0] = pickle.load(sys.stdin.buffer)
from publisher.audit import child_main
child_main()
"""


def _in_child(work: Mapping[str, Sequence[AuditInput]], ctx: AuditContext
              ) -> dict[str, list[Finding] | str]:
    """The audits in turn, in a Python process of their own: what they load (SciPy, the
    readability dictionaries, decoded audio: ~180 MB that this process would keep to its end)
    goes away with it. A plain subprocess rather than multiprocessing's, which would import
    the program's main module again in the child (and a script without a ``__main__`` guard
    would run its build again there)."""
    if not work:
        return {}
    # the audits read the files from disk: the artifacts go without their bytes (an audio
    # notice is megabytes), which they would read from the written file if asked
    light = {name: [item if item.artifact is None else dataclasses.replace(
        item, artifact=Artifact.stored(
            StoredBytes(str(item.path), item.artifact.sha256, item.artifact.size),
            item.artifact.path, item.artifact.media_type, item.artifact.format,
            service=item.artifact.service, lang=item.artifact.lang, label=item.artifact.label,
            listed=item.artifact.listed, meta=dict(item.artifact.meta)))
        for item in inputs] for name, inputs in work.items()}
    payload = pickle.dumps(sys.path) + pickle.dumps((light, ctx), pickle.HIGHEST_PROTOCOL)
    done = subprocess.run([sys.executable, "-c", _CHILD], input=payload, capture_output=True,
                          check=False)
    try:
        results: dict[str, list[Finding] | str] = pickle.loads(done.stdout)
    except Exception:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why = lines[-1] if lines else f"exit status {done.returncode}"
        return {name: f"its process failed: {why}" for name in work}
    return results


def child_main() -> None:
    """The child of :func:`_in_child`: the work from stdin, the results to stdout (pickled;
    anything the engines print goes to stderr instead)."""
    results = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    work, ctx = pickle.load(sys.stdin.buffer)
    with results:
        pickle.dump(_here(work, ctx), results, pickle.HIGHEST_PROTOCOL)


#: audits that read a file's companions too (the PEF beside a BRF, the VTT beside an MP3)
SIBLING_AUDITS = {"braille", "audio"}


def _sibling_bytes(item: AuditInput) -> bytes:
    siblings = sorted(p for p in item.path.parent.glob(item.path.stem + ".*") if p != item.path)
    return b"".join(p.name.encode() + p.read_bytes() for p in siblings if p.is_file())


#: the gate for material that is not ours (``publish audit`` without ``--content``): our house
#: rules are what we demand of our own pages, not a reason to fail someone else's
OUTSIDE_FAIL_ON: dict[Rulebook, str] = {"wcag": "serious", "pdfua": "serious",
                                        "advice": "serious", "house": "none"}


def parse_fail_on(spec: str) -> dict[Rulebook, str]:
    """``--fail-on``: a level for every rulebook (``serious``), levels per rulebook
    (``wcag=serious,house=none``), or both (``minor,advice=none``); a ValueError says what is
    wrong."""
    levels: dict[Rulebook, str] = {}
    for part in (p.strip() for p in spec.split(",")):
        book, _, level = part.rpartition("=")
        if level not in FAIL_ON_LEVELS:
            raise ValueError(f"unknown level {level!r} in {spec!r}: use one of "
                             f"{', '.join(FAIL_ON_LEVELS)}")
        if not book:
            levels.update(dict.fromkeys(RULEBOOKS, level))
            continue
        for name in RULEBOOKS:
            if book == name:
                levels[name] = level
                break
        else:
            raise ValueError(f"unknown rulebook {book!r} in {spec!r}: use one of "
                             f"{', '.join(RULEBOOKS)}")
    return levels


def fail_on_levels(spec: str | None, config: SiteConfig | None) -> dict[Rulebook, str]:
    """The gate's level per rulebook: the site's ``fail_on`` (``OUTSIDE_FAIL_ON`` without a
    site), with what ``--fail-on`` (``spec``) says on top."""
    site = config.fail_on.levels() if config else OUTSIDE_FAIL_ON
    levels: dict[Rulebook, str] = {book: site[book] for book in RULEBOOKS}
    levels.update(parse_fail_on(spec) if spec else {})
    return levels


def describe_fail_on(levels: Mapping[Rulebook, str]) -> str:
    """The levels as ``--fail-on`` takes them, for messages."""
    if len(set(levels.values())) == 1:
        return next(iter(levels.values()))
    return ",".join(f"{book}={levels[book]}" for book in RULEBOOKS)


def gate(findings: Iterable[Finding], fail_on: str | Mapping[Rulebook, str]) -> list[Finding]:
    """The failed findings at or above the level of their rulebook ('none' lets everything of
    that rulebook pass); ``fail_on`` is one level for all, or a level per rulebook."""
    levels = parse_fail_on(fail_on) if isinstance(fail_on, str) else fail_on
    return [
        f
        for f in findings
        if f.outcome == "failed"
        and levels.get(f.rulebook or "wcag", "none") != "none"
        and IMPACTS.index(f.impact or "minor") <= IMPACTS.index(levels[f.rulebook or "wcag"])
    ]
