"""Bad input: one clear message with file, line and fix; all problems together; exit 1; the
previously published output left exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.cli import EXIT_CONTENT

from .conftest import build_cli, service_text, tree_digest


def replace_front_matter(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


CASES = {
    "yaml-syntax": (
        lambda c: replace_front_matter(c / "en/sample.md", "topic: transport", "topic: [transport"),
        "en/sample.md:6", "C101", "the YAML cannot be read",
    ),
    "missing-field": (
        lambda c: replace_front_matter(c / "en/sample.md", "owner: Test Department\n", ""),
        "en/sample.md:2", "C102", "the required field 'owner' is missing",
    ),
    "unknown-field": (
        lambda c: replace_front_matter(c / "en/sample.md", "owner:", "ownr:"),
        "en/sample.md:13", "C103", "did you mean 'owner'?",
    ),
    "wrong-type": (
        lambda c: replace_front_matter(c / "en/sample.md", "processing_time: 2 days",
                                       "processing_time: 2"),
        "en/sample.md:10", "C104", "'processing_time' has the wrong type",
    ),
    "time-not-quoted": (
        lambda c: replace_front_matter(
            c / "en/sample.md", "processing_time: 2 days",
            "processing_time: 2 days\nopening_hours:\n  - days: [mo]\n    opens: \"09:00\"\n"
            "    closes: 17:00"),
        "en/sample.md:14", "C104", "put the value in quotes",
    ),
    "invalid-date": (
        lambda c: replace_front_matter(c / "en/sample.md", "2026-01-15", "2026-13-40"),
        "en/sample.md:14", "C105", "is not a valid date",
    ),
    "unknown-language": (
        lambda c: (c / "de").mkdir() or (c / "de/sample.md").write_text(service_text()),
        "de/sample.md", "C107", "unknown language 'de'",
    ),
    "duplicate-id": (
        lambda c: (c / "en/copy.md").write_text(service_text()),
        "en/sample.md:2", "C108", "the service id 'sample' is used twice",
    ),
    "not-utf8": (
        lambda c: (c / "en/latin1.md").write_bytes(service_text(id="other").encode()
                                                   + "Café\n".encode("latin-1")),
        "en/latin1.md:16:4", "C100", "not UTF-8",
    ),
    "missing-service-link": (
        lambda c: (c / "en/sample.md").write_text(
            service_text(body="## Links\n\nSee [parking](parking.md).\n")),
        "en/sample.md:18", "C207", "points to a service that does not exist",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_reported_and_output_kept(
    case: str, content: Path, published: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage, where, code, words = CASES[case]
    before = tree_digest(published)
    capsys.readouterr()
    damage(content)
    assert build_cli(content, published) == EXIT_CONTENT
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if f"[{code}]" in line]
    assert lines, err
    assert any(where in line and words in line for line in lines), err
    assert all(" — " in line for line in lines), "every error says what to do"
    assert "left as it was" in err
    assert tree_digest(published) == before
    assert not [p for p in published.parent.iterdir() if p.name.startswith(".site.new-")]


def test_all_problems_of_a_run_are_reported_together(
    content: Path, published: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replace_front_matter(content / "en/sample.md", "owner:", "ownr:")
    replace_front_matter(content / "fr/sample.md", "2026-01-15", "2026-02-30")
    (content / "en/other.md").write_text(service_text(id="other", body="# Title again\n"))
    capsys.readouterr()
    assert build_cli(content, published) == EXIT_CONTENT
    err = capsys.readouterr().err
    assert "[C103]" in err and "[C105]" in err and "[C203]" in err


def test_body_problems_point_at_their_line(content: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    body = """\
        ## Start

        Text with <b>raw html</b>.

        #### Too deep

        ![](missing.png) and [click](javascript:alert(1)) and [up](../../etc/passwd.md)
        """
    (content / "en/sample.md").write_text(service_text(body=body))
    capsys.readouterr()
    assert build_cli(content, tmp_path / "out") == EXIT_CONTENT
    err = capsys.readouterr().err
    assert "en/sample.md:18:11: error[C201]: raw HTML is not allowed" in err
    assert "en/sample.md:20:1: error[C202]: heading level skipped" in err
    assert "en/sample.md:22:5: error[C204]" in err
    assert "en/sample.md:22:30: error[C209]: links with 'javascript:' are not allowed" in err
    assert "en/sample.md:22:60: error[C206]" in err and "outside the content folder" in err
    assert not (tmp_path / "out").exists()


def test_broken_site_configuration(content: Path, published: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    before = tree_digest(published)
    text = (content / "site.yaml").read_text().replace("default_language: en",
                                                       "default_language: de\nbase_ur: x")
    (content / "site.yaml").write_text(text)
    capsys.readouterr()
    assert build_cli(content, published) == EXIT_CONTENT
    err = capsys.readouterr().err
    assert "site.yaml:7:1: error[S103]: unknown field 'base_ur'" in err
    assert "did you mean 'base_url'?" in err
    assert tree_digest(published) == before


def test_translation_without_source(content: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    (content / "en/sample.md").unlink()
    capsys.readouterr()
    assert build_cli(content, tmp_path / "out") == EXIT_CONTENT
    assert "fr/sample.md:2: error[C116]" in capsys.readouterr().err
