"""Time the PDFs of the example services: through the project, and through bare WeasyPrint.

"Project" is the pdf writer's whole render (template, essentials, QR code, layout, tagged
PDF/UA-1 with metadata) for the print, large print and poster PDFs; "bare" is WeasyPrint
alone writing an untagged PDF from the very same HTML. The ratio is the project's cost over
WeasyPrint's. Then the PDF audit of the same files, whole and the PDF/UA-1 validator
(page-validation) alone, side by side: what the validator adds to the audit's time.
Run: ``.venv/bin/python benchmarks/bench_pdf.py [--services N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import weasyprint

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.diagnostics import Diagnostics  # noqa: E402
from publisher.engine import keep_heap  # noqa: E402
from publisher.i18n import Locale  # noqa: E402
from publisher.load import load_site  # noqa: E402
from publisher.writers import RenderContext  # noqa: E402
from publisher.writers.pdf import VARIANTS, WRITER, PdfOptions, html_for  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--content", type=Path, default=ROOT / "content")
    parser.add_argument("--services", type=int, default=3, help="services per language")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    diagnostics = Diagnostics()
    site = load_site(args.content, diagnostics)
    if site is None:
        for item in diagnostics.sorted():
            print(item.format())
        return 1
    keep_heap()  # the allocator options of a build's render workers
    build_time = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    jobs = []
    for lang in site.config.language_codes:
        language = site.config.language(lang)
        ctx = RenderContext(
            config=site.config, language=language, locale=Locale(lang, language.direction),
            build_time=build_time, formats_dir=ROOT / "formats", content_dir=args.content,
            site=site, options=PdfOptions(), diagnostics=Diagnostics(),
        )
        for doc in site.in_language(lang)[: args.services]:
            jobs.append((doc, ctx))
    WRITER.render(*jobs[0])  # warm fonts and caches once, outside the timings

    project = bare = bare_cpu = 0.0
    pages = files = 0
    written: list[tuple[Path, object]] = []
    folder = Path(tempfile.mkdtemp(prefix="bench-pdf-"))
    for _ in range(args.repeat):
        for doc, ctx in jobs:
            start = time.perf_counter()
            artifacts = WRITER.render(doc, ctx)
            project += time.perf_counter() - start
            files += len(artifacts)
            for artifact in artifacts:
                path = folder / f"{len(written)}.pdf"
                path.write_bytes(artifact.data)
                written.append((path, (artifact, doc)))
            pages += sum(int(artifact.meta["pages"]) for artifact in artifacts)
            htmls = [html_for(doc, ctx, variant) for variant in VARIANTS]
            base_url = (ctx.formats_dir / "pdf").resolve().as_uri() + "/"
            start, start_cpu = time.perf_counter(), time.process_time()
            for html in htmls:
                weasyprint.HTML(string=html, base_url=base_url).write_pdf()
            bare += time.perf_counter() - start
            bare_cpu += time.process_time() - start_cpu
    print(f"documents: {len(jobs)} services x {args.repeat}, {files} PDFs, {pages} pages")
    print(f"project (writer, tagged PDF/UA-1): {project:8.2f} s  "
          f"({project / files * 1000:6.0f} ms per PDF)")
    print(f"bare WeasyPrint, same HTML:        {bare:8.2f} s  "
          f"({bare / files * 1000:6.0f} ms per PDF)")
    print(f"bare WeasyPrint, CPU:              {bare_cpu:8.2f} s")
    print(f"ratio project / bare:              {project / bare:8.2f}")
    audit_pdfs(written)
    return 0


def audit_pdfs(written: list[tuple[Path, object]]) -> None:
    """The PDF audit of every file (the validator, our own checks, the reading order read
    back with pdftotext) against the validator alone on the same files."""
    import page as validator

    from publisher.audits import AuditInput
    from publisher.audits.pdf import AUDIT

    whole = alone = 0.0
    for path, (artifact, doc) in written:
        item = AuditInput(path, path.name, artifact, doc)  # type: ignore[arg-type]
        start = time.perf_counter()
        AUDIT.audit_file(item)
        whole += time.perf_counter() - start
        start = time.perf_counter()
        validator.validate_pdf(path, profile=validator.ValidationProfile.PDF_UA_1)
        alone += time.perf_counter() - start
    count = len(written)
    print(f"PDF audit, whole:                  {whole:8.2f} s  "
          f"({whole / count * 1000:6.0f} ms per PDF)")
    print(f"PDF/UA-1 validator alone:          {alone:8.2f} s  "
          f"({alone / count * 1000:6.0f} ms per PDF, {alone / whole:.0%} of the audit)")


if __name__ == "__main__":
    sys.exit(main())
