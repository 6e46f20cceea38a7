"""Write an evaluation all-or-nothing: evaluation.json, balance tables, es/en reports, an MLflow run.

The reports share the fairness audit report's look (the same palette and
layout); their texts live in :data:`TEXTS`, one table per language.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import jinja2
import mlflow
import pandas as pd

from previ.atomic import atomic_dir
from previ.config import PreviConfig
from training.registry import client_for

EXPERIMENT = "previ-evaluate"
LANGUAGES = ("es", "en")
TEXTS: dict[str, dict[str, str]] = {
    "es": {
        "title": "¿Funciona? Efecto de los programas en las y los jóvenes atendidos",
        "goal": "Meta: reducir un {goal:.0%} los desenlaces adversos entre quienes se atienden.",
        "verdict_met": "El intervalo de confianza del 95% queda por encima de la meta.",
        "verdict_open": (
            "El intervalo de confianza del 95% incluye la meta: la evidencia no basta para afirmarla."
        ),
        "verdict_none": "El intervalo de confianza del 95% incluye el cero: no hay evidencia de efecto.",
        "programme": "Programa",
        "n_served": "Atendidos",
        "n_comparison": "Comparación",
        "rrr": "Reducción relativa (IC 95%)",
        "unbounded": "sin límite",
        "rd": "Diferencia de riesgo (IC 95%)",
        "naive": "Comparación ingenua",
        "smd": "DME máx. antes / después",
        "trimmed": "Recortados",
        "e_value": "Valor E (IC)",
        "heterogeneity": "Heterogeneidad",
        "group": "Grupo",
        "pooled": "Combinado (varianza inversa)",
        "q_test": "Prueba Q de Cochran: Q = {q:.2f}, gl = {df}, p = {p:.3f}, I² = {i2:.0%}",
        "method": (
            "Estimación doblemente robusta con validación cruzada (econml LinearDRLearner), ponderada "
            "para el efecto sobre los atendidos. La comparación ingenua no ajusta por nada: quienes "
            "reciben un programa tienen más necesidad, y por eso parecen no mejorar."
        ),
        "e_value_note": (
            "Valor E: fuerza (como razón de riesgos) que un factor no medido debería tener con el "
            "programa y con el desenlace para explicar todo el efecto."
        ),
        "served": "Atendidos (todos los programas)",
        "method_lottery": (
            "Sorteo: dentro de la franja alrededor del corte de capacidad, un lugar se decidió al azar; "
            "se comparan ganadores y no ganadores (efectos fijos por ciclo, errores agrupados por joven). "
            "El balance es el de la prioridad: debe ser cercano a cero."
        ),
        "method_rd": (
            "Regresión discontinua en la posición de la lista en el corte de capacidad (rdrobust: lineal "
            "local, intervalo robusto con corrección de sesgo, agrupado por joven); con sorteo, en los dos "
            "bordes de la franja. La posición y no la prioridad, porque la prioridad tiene empates en "
            "el corte."
        ),
        "served_lottery": "En el margen: franja del sorteo",
        "served_rd": "En el margen: corte de capacidad",
    },
    "en": {
        "title": "Does it work? Effect of the programmes on the young people served",
        "goal": "Goal: {goal:.0%} fewer adverse outcomes among those served.",
        "verdict_met": "The 95% confidence interval lies above the goal.",
        "verdict_open": (
            "The 95% confidence interval includes the goal: the evidence is not enough to claim it."
        ),
        "verdict_none": "The 95% confidence interval includes zero: no evidence of an effect.",
        "programme": "Programme",
        "n_served": "Served",
        "n_comparison": "Comparison",
        "rrr": "Relative reduction (95% CI)",
        "unbounded": "unbounded",
        "rd": "Risk difference (95% CI)",
        "naive": "Naive comparison",
        "smd": "Max SMD before / after",
        "trimmed": "Trimmed",
        "e_value": "E-value (CI)",
        "heterogeneity": "Heterogeneity",
        "group": "Group",
        "pooled": "Pooled (inverse variance)",
        "q_test": "Cochran's Q test: Q = {q:.2f}, df = {df}, p = {p:.3f}, I² = {i2:.0%}",
        "method": (
            "Doubly robust estimation with cross-fitting (econml LinearDRLearner), weighted for the "
            "effect on those served. The naive comparison adjusts for nothing: those who get a "
            "programme have more need, and so seem not to improve."
        ),
        "e_value_note": (
            "E-value: how strongly (as a risk ratio) an unmeasured factor would have to be tied to both "
            "the programme and the outcome to explain the whole effect away."
        ),
        "served": "Served (every programme)",
        "method_lottery": (
            "Lottery: within the band around the capacity cut-off a place was decided by a draw; winners "
            "are compared with losers (cycle fixed effects, errors clustered by young person). The "
            "balance shown is the priority's: it should be near zero."
        ),
        "method_rd": (
            "Regression discontinuity in the rank at the capacity cut-off (rdrobust: local linear, "
            "robust bias-corrected interval, clustered by young person); with a lottery, at the band's "
            "two edges. The rank, not the priority, because the priority has ties at the cut-off."
        ),
        "served_lottery": "At the margin: the lottery band",
        "served_rd": "At the margin: the capacity cut-off",
    },
}


def write_evaluation(
    result: dict[str, Any], balance: dict[str, pd.DataFrame], out: Path, *, settings: PreviConfig
) -> Path:
    """Write ``out`` all-or-nothing, then log the folder as an MLflow run; return ``out``."""
    with atomic_dir(out) as folder:
        text = json.dumps(_finite(result), indent=2, ensure_ascii=False) + "\n"
        (folder / "evaluation.json").write_text(text, encoding="utf-8")
        frames = [table.assign(estimate=name) for name, table in balance.items()]
        pd.concat(frames, ignore_index=True).to_csv(folder / "balance.csv", index=False)
        for language in LANGUAGES:
            (folder / f"evaluation_{language}.html").write_text(render(result, language), encoding="utf-8")
    _log_run(result, out, settings)
    return out


def render(result: dict[str, Any], language: str) -> str:
    """The report in ``language`` (es or en)."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("evaluation", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    texts = dict(TEXTS[language])
    design = result.get("design", "observational")
    if design != "observational":
        texts |= {"method": texts[f"method_{design}"], "served": texts[f"served_{design}"]}
    rows = [(texts["served"], result["served"]), *result["programs"].items()]
    return environment.get_template("report.html.j2").render(
        lang=language,
        t=texts,
        result=result,
        rows=rows,
        verdict=_verdict(result, texts),
        pct=functools.partial(_pct, unbounded=texts["unbounded"]),
        num=_num,
    )


def _verdict(result: dict[str, Any], texts: dict[str, str]) -> str:
    low, high = result["served"]["relative_risk_reduction"]["ci"]
    if low is not None and low > result["goal"]:
        return texts["verdict_met"]
    if low is not None and high is not None and low <= 0 <= high:
        return texts["verdict_none"]
    return texts["verdict_open"]


def _pct(value: float | None, unbounded: str = "–") -> str:
    """A share as a percentage; an infinite interval bound (see effect_interval) reads ``unbounded``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return unbounded if math.isinf(value) else f"{value:.1%}"


def _num(value: float | None) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"


def _finite(value: Any) -> Any:
    """NaN and infinities become null so evaluation.json is strict JSON.

    A null interval bound beside a number is unbounded on that side: the
    relative reduction's lower bound when the risk difference's interval
    reaches the served risk (:func:`evaluation.estimate.effect_interval`).
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _log_run(result: dict[str, Any], out: Path, settings: PreviConfig) -> None:
    # client_for sets MLflow's tracking URI without leaving MLFLOW_TRACKING_URI in the environment,
    # which would otherwise outrank every later config in this process (the service's registry pages).
    client = client_for(settings.training)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    experiment_id = (
        experiment.experiment_id if experiment is not None else client.create_experiment(EXPERIMENT)
    )
    metrics = {}
    for name, effect in [("served", result["served"]), *result["programs"].items()]:
        rrr = effect["relative_risk_reduction"]
        for key, value in (("rrr", rrr["value"]), ("rrr_low", rrr["ci"][0]), ("rrr_high", rrr["ci"][1])):
            if value is not None and math.isfinite(value):
                metrics[f"{name}.{key}"] = float(value)
        metrics[f"{name}.n_served"] = float(effect["n_served"])
    with mlflow.start_run(experiment_id=experiment_id):
        mlflow.log_params({"source": result["source"][:500], "goal": result["goal"]})
        mlflow.log_metrics(metrics)
        mlflow.log_artifacts(str(out), artifact_path="evaluation")
