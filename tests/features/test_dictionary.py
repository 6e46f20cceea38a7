"""docs/data_dictionary.md is generated from the registry and must not go stale."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.app import app
from features.dictionary import data_dictionary_markdown
from features.registry import FEATURES

DICTIONARY = Path(__file__).resolve().parents[2] / "docs" / "data_dictionary.md"


def test_data_dictionary_is_up_to_date() -> None:
    assert DICTIONARY.read_text(encoding="utf-8") == data_dictionary_markdown(), (
        "docs/data_dictionary.md is stale: regenerate it with "
        "`previ features --list --markdown > docs/data_dictionary.md`"
    )


def test_dictionary_lists_every_feature_in_both_languages() -> None:
    text = data_dictionary_markdown()
    for feature in FEATURES:
        assert text.count(f"| {feature.name} |") == 2
        assert feature.description("es") in text and feature.description("en") in text


def test_features_list_prints_the_registry_in_the_chosen_language() -> None:
    spanish = CliRunner().invoke(app, ["features", "--list"])
    english = CliRunner().invoke(app, ["features", "--list", "--lang", "en"])
    assert spanish.exit_code == english.exit_code == 0
    assert "injustificadas" in spanish.output and "Unexcused" in english.output
    markdown = CliRunner().invoke(app, ["features", "--list", "--markdown"])
    assert markdown.output == data_dictionary_markdown() + "\n"
