"""The report: self-contained, in Spanish by default, words in one place, no personal data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fairness_audits import AuditResult, Threshold, audit, write_report
from fairness_audits.report import LANGUAGE_UNKNOWN, render_html
from fairness_audits.texts import TEXTS
from previ.errors import PreviError
from tests.fairness_audits.factories import synthetic_table


@pytest.fixture(scope="module")
def result() -> AuditResult:
    frame = synthetic_table(6_000, seed=1, miss_in="Sur")
    frame.loc[frame.index[:10], "municipality"] = "Isla"  # a group too small to judge
    return audit(
        frame,
        label="outcome",
        score="probability",
        groups=["municipality", "sex"],
        rule=Threshold(0.3),
        resamples=200,
    )


def test_html_is_self_contained(result: AuditResult) -> None:
    html = render_html(result)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html
    sources = re.findall(r'src="([^"]*)"', html)
    assert sources and all(source.startswith("data:image/svg+xml;base64,") for source in sources)


def test_report_is_spanish_by_default_with_the_plain_language_summary(result: AuditResult) -> None:
    html = render_html(result)
    assert '<html lang="es">' in html
    sur = result.group("municipality", "Sur").metrics["fnr"]
    reference = result.group("municipality", "Centro").metrics["fnr"]
    sentence = (
        f"El modelo omite al {100 * sur.value:.0f}% (IC 95%: {100 * sur.ci[0]:.0f}-{100 * sur.ci[1]:.0f}%) "
        f"de las y los jóvenes con necesidad de apoyo en municipality = Sur, frente al "
        f"{100 * reference.value:.0f}% ({100 * reference.ci[0]:.0f}-{100 * reference.ci[1]:.0f}%) "
        "en el grupo de referencia (Centro)."
    )
    assert sentence in html
    assert "Verificación principal: no aprobada" in html
    assert "datos insuficientes" in html


def test_report_in_english(result: AuditResult) -> None:
    html = render_html(result, lang="en")
    assert '<html lang="en">' in html
    assert "The model misses" in html and "Primary check: failed" in html
    assert "omite" not in html


def test_unknown_language_is_refused(result: AuditResult) -> None:
    with pytest.raises(PreviError) as error:
        render_html(result, lang="fr")  # type: ignore[arg-type]
    assert str(error.value) == LANGUAGE_UNKNOWN.format(languages="es, en", lang="fr")


def test_report_and_json_hold_no_personal_ids(result: AuditResult, tmp_path: Path) -> None:
    json_path, html_path = write_report(result, tmp_path / "audit")
    for text in (json_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")):
        assert not re.search(r"Y\d{6}", text)


def test_json_holds_every_number_the_report_shows(result: AuditResult, tmp_path: Path) -> None:
    json_path, _ = write_report(result, tmp_path / "audit")
    data = json.loads(json_path.read_text(encoding="utf-8"))
    sur = next(g for g in data["groups"] if g["column"] == "municipality" and g["value"] == "Sur")
    assert sur["metrics"]["fnr"]["value"] == result.group("municipality", "Sur").metrics["fnr"].value
    assert sur["disparity"]["fnr"]["flagged"] is True
    assert len(sur["calibration_curve"]) == 10
    assert data["gate"]["status"] == "failed"


def test_failed_report_leaves_nothing_behind(result: AuditResult, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import fairness_audits.report as report

    def broken(_: AuditResult) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "to_json", broken)
    with pytest.raises(RuntimeError):
        write_report(result, tmp_path / "audit")
    assert list(tmp_path.iterdir()) == []


def test_both_languages_have_the_same_texts() -> None:
    assert set(TEXTS["es"]) == set(TEXTS["en"])
    for key in TEXTS["es"]:
        assert sorted(re.findall(r"{(\w+)}", TEXTS["es"][key])) == sorted(
            re.findall(r"{(\w+)}", TEXTS["en"][key])
        )


@pytest.mark.parametrize("lang", ["es", "en"])
def test_texts_speak_of_support_needs_never_of_dangerous_people(lang: str) -> None:
    words = " ".join(TEXTS[lang].values()).lower()  # type: ignore[index]
    for forbidden in ("peligros", "criminal", "delincuen", "dangerous", "offender", "riesgoso"):
        assert forbidden not in words
