"""Messages keep their place on the terminal, and configuration errors exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.cli import EXIT_CONTENT, main
from tests.conftest import build_cli, service_text


def test_a_message_on_line_100_is_printed_as_written(
        content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """rich reads ``:100:`` as an emoji code unless told not to: the place must survive."""
    filler = "".join(f"Paragraph {n}.\n\n" for n in range(41))
    (content / "en/sample.md").write_text(
        service_text(body=f"## A\n\n{filler}See [x](/a) and :smile: [y](/b) [z]\n"))
    capsys.readouterr()
    assert build_cli(content, tmp_path / "out") == EXIT_CONTENT
    err = capsys.readouterr().err
    line = next(n for n, text in enumerate((content / "en/sample.md").read_text().split("\n"),
                                           start=1) if "[x](/a)" in text)
    assert line == 100
    text = "See [x](/a) and :smile: [y](/b) [z]"
    assert f"en/sample.md:100:{text.index('/a') + 1}: error[C206]" in err
    assert f"en/sample.md:100:{text.index('/b') + 1}: error[C206]" in err
    assert "💯" not in err and "😄" not in err
    assert "links: {root: https://www.your-organisation.example/}" in err  # not eaten as markup


def test_a_language_without_a_braille_table_is_a_configuration_error(
        content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = content / "site.yaml"
    site.write_text(site.read_text().replace(
        "  - code: ar\n", "  - code: zu\n    name: isiZulu\n  - code: ar\n"))
    (content / "zu").mkdir()
    (content / "zu/sample.md").write_text(service_text(title="Isampula", body="Umbhalo.\n"))
    capsys.readouterr()
    code = main(["build", "--content", str(content), "--out", str(tmp_path / "out"),
                 "--formats", "braille", "--quiet", "--no-audit", "--no-cache", "--jobs", "1"])
    err = capsys.readouterr().err
    assert "error[B101]: no braille table is configured for the language 'zu'" in err
    assert code == EXIT_CONTENT
    assert not (tmp_path / "out").exists()


def test_the_links_setting_is_validated_with_did_you_mean(
        content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = content / "site.yaml"
    site.write_text(site.read_text() + "links:\n  rot: https://www.example.gov/\n"
                    "  old_address: {}\n")
    capsys.readouterr()
    assert build_cli(content, tmp_path / "out") == EXIT_CONTENT
    err = capsys.readouterr().err
    assert "error[S103]: unknown field 'links.rot'" in err and "did you mean 'root'?" in err
    assert "did you mean 'old_addresses'?" in err
    site.write_text(site.read_text().replace("  rot: https://www.example.gov/\n  old_address: {}",
                                             "  root: www.example.gov\n"
                                             "  old_addresses: {'/a': Not An Id}"))
    assert build_cli(content, tmp_path / "out") == EXIT_CONTENT
    err = capsys.readouterr().err
    assert err.count("error[S106]") == 2, err
