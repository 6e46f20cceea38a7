"""The report: self-contained, in Spanish by default, words in one place, no personal data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fairness_audits import AuditResult, Threshold, TopK, audit, write_report
from fairness_audits.report import LANGUAGE_UNKNOWN, render_html
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


def _whole(value: float) -> str:
    return f"{100 * value:.0f}"


def test_report_is_spanish_by_default_with_the_plain_language_summary(result: AuditResult) -> None:
    html = render_html(result)
    assert '<html lang="es">' in html
    calibration = result.group("municipality", "Sur").metrics["calibration_in_the_large"]
    low, high = calibration.ci
    assert (
        f"En municipio = Sur, por cada 100 casos de necesidad que el modelo predice se observan "
        f"{_whole(calibration.value)} (IC 95%: {_whole(low)}-{_whole(high)})."
    ) in html
    sur, norte = (result.group("municipality", value).metrics["tpr"] for value in ("Sur", "Norte"))
    percent = "\u00a0%"  # Spanish writes a (non-breaking) space before the percent sign
    assert (
        f"Por municipio, el modelo identifica entre el {_whole(sur.value)}{percent} "
        f"({_whole(sur.ci[0])}-{_whole(sur.ci[1])}{percent}) de quienes necesitaban apoyo en Sur y el "
        f"{_whole(norte.value)}{percent} ({_whole(norte.ci[0])}-{_whole(norte.ci[1])}{percent}) en Norte."
    ) in html
    assert "Verificación de equidad: no aprobada" in html
    assert "datos insuficientes" in html


def test_report_says_comparisons_are_with_the_whole_population_by_default(result: AuditResult) -> None:
    for lang, opening, population in (
        ("es", "Las comparaciones se hacen con: ", "toda la población."),
        ("en", "Comparisons are made with: ", "the whole population."),
    ):
        html = render_html(result, lang=lang)  # type: ignore[arg-type]
        said = html[html.index(opening) :].split(" Las intersecciones")[0].split(" Intersections")[0]
        assert said == opening + population


def test_report_in_english(result: AuditResult) -> None:
    html = render_html(result, lang="en")
    assert '<html lang="en">' in html
    assert "the model identifies" in html and "Fairness gate: failed" in html
    assert "omite" not in html


def test_report_lists_each_gate_flag_with_its_adjusted_p_value(result: AuditResult) -> None:
    html = render_html(result, lang="en")
    (finding,) = [f for f in result.gate.flagged if f.value == "Sur"]
    assert "<td>municipality = Sur</td><td>Observed / predicted</td>" in html
    assert f"<td>{finding.check.p_adjusted:.2g}</td>" in html
    assert "Benjamini-Hochberg" in html


@pytest.mark.parametrize(
    ("lang", "heading"), [("es", "Políticas de asignación de cupos"), ("en", "Allocation policies")]
)
def test_top_k_reports_show_both_allocation_policies(lang: str, heading: str) -> None:
    frame = synthetic_table(2_000, seed=2)
    top_k = audit(frame, label="outcome", score="probability", groups=["sex"], rule=TopK(0.1), resamples=100)
    assert f"<h2>{heading}</h2>" in render_html(top_k, lang=lang)  # type: ignore[arg-type]


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
    check = sur["checks"]["calibration_in_the_large"]
    assert check["flagged"] is True
    assert (
        check["value"]
        == result.group("municipality", "Sur").checks["calibration_in_the_large"].estimate.value
    )
    assert len(sur["calibration_curve"]) == 10
    assert data["gate"]["status"] == "failed" and data["gate"]["passed"] is False
    assert {(flag["value"], flag["check"]) for flag in data["gate"]["flags"]} == {("Sur", "calibration")}
    assert data["intersections_omitted"] == ["municipality*sex"]  # Isla has 10 people


def test_failed_report_leaves_nothing_behind(result: AuditResult, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import fairness_audits.report as report

    def broken(_: AuditResult) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "to_json", broken)
    with pytest.raises(RuntimeError):
        write_report(result, tmp_path / "audit")
    assert list(tmp_path.iterdir()) == []
