"""Docs that are generated from code must match it."""

from pathlib import Path

from kg.settings import SETTINGS, settings_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_settings_doc_is_current():
    assert (ROOT / "docs" / "settings.md").read_text(encoding="utf-8") == settings_markdown(), (
        "regenerate: python -c \"from kg.settings import settings_markdown; "
        "open('docs/settings.md','w').write(settings_markdown())\"")


def test_every_setting_has_help():
    assert all(s.help.endswith(".") or s.help.endswith(")") for s in SETTINGS)


def test_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = text.split("```")
    assert "stakegraph serve" in blocks[1] and ".ci/setup" in blocks[1]
    assert "pytest" in blocks[3]
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1].endswith(blocks[3].strip())
