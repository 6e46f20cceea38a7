"""Every text of the fairness report that a person reads, in Spanish and English.

One flat dictionary per language, same keys in both (a test checks it).
Placeholders use :meth:`str.format`. The report speaks of *support needs*:
a positive outcome is a young person who needed support, a selection is a
suggested referral. Never words that label people.
"""

from __future__ import annotations

from typing import Final, Literal

Lang = Literal["es", "en"]
LANGUAGES: Final[tuple[Lang, ...]] = ("es", "en")

_ES: Final[dict[str, str]] = {
    "title": "Auditoría de equidad",
    "subtitle": "Quién recibiría una derivación sugerida y a quién dejaría fuera el modelo, por grupo.",
    "data_line": (
        "{n} registros · resultado: «{label}» · puntuación: «{score}» · regla: {rule} · "
        "grupos: {groups} · {resamples} remuestreos, semilla {seed}"
    ),
    "rule.threshold": "puntuación ≥ {threshold}",
    "rule.top_k_count": "las {k} puntuaciones más altas",
    "rule.top_k_fraction": "el {k} con puntuación más alta",
    "gate.passed": "Verificación principal: aprobada",
    "gate.failed": "Verificación principal: no aprobada",
    "gate.passed_detail": "Ninguna comprobación principal queda fuera del margen de tolerancia.",
    "gate.failed_detail": "{count} comprobaciones principales quedan fuera del margen de tolerancia.",
    "summary.heading": "Resumen",
    "summary.overall": (
        "Con la regla ({rule}) se sugeriría derivar al {selection} de las {n} personas. "
        "De quienes tenían necesidad de apoyo, el modelo identifica al {tpr} (IC 95%: {tpr_ci}) "
        "y omite al {fnr} ({fnr_ci})."
    ),
    "summary.fnr": (
        "El modelo omite al {fnr} (IC 95%: {fnr_ci}) de las y los jóvenes con necesidad de apoyo en "
        "{group}, frente al {ref_fnr} ({ref_fnr_ci}) en el grupo de referencia ({reference})."
    ),
    "summary.verdict.flagged": "La diferencia queda fuera del margen de tolerancia: se señala.",
    "summary.verdict.ok": "La diferencia no sale del margen de tolerancia con los datos disponibles.",
    "summary.verdict.undefined": "El cociente no está definido para este grupo.",
    "summary.calibration": (
        "En {group}, por cada 100 casos de necesidad que el modelo predice se observan {observed} "
        "(IC 95%: {observed_ci})."
    ),
    "summary.intersections": (
        "En las intersecciones, {count} comprobaciones principales quedan fuera del margen."
    ),
    "summary.not_judged": (
        "{count} grupos tienen muy pocos datos para juzgarse (menos de {min_n} personas o de "
        "{min_positives} con necesidad de apoyo): se muestran, pero no se aprueban ni se señalan."
    ),
    "summary.no_calibration": (
        "Las puntuaciones no son probabilidades entre 0 y 1 (van de {low} a {high}): "
        "la calibración no se puede evaluar y no se informa."
    ),
    "findings.heading": "Comprobaciones principales fuera del margen",
    "findings.none": "Ninguna.",
    "not_judged.heading": "Comprobaciones que no se pudieron juzgar",
    "why.heading": "Qué revisamos y por qué",
    "why.support": (
        "previ sugiere derivaciones a programas de prevención: es apoyo, nunca sanción. Por eso el daño "
        "principal es no detectar a una o un joven que necesita apoyo. Las comprobaciones principales, que "
        "deciden la verificación, son dos: (1) paridad en la detección: la tasa de omisión (FNR) y la tasa "
        "de detección (TPR) de cada grupo, divididas entre las del grupo de referencia; (2) calibración "
        "dentro de cada grupo: que una misma puntuación signifique lo mismo en todos los grupos "
        "(observado/predicho cercano a 1 y error de calibración esperado bajo)."
    ),
    "why.secondary": (
        "La tasa de selección y la de falsos positivos se informan, pero no deciden la verificación: recibir "
        "una oferta de apoyo sin necesitarla cuesta mucho menos que quedarse sin ella. Aun así conviene "
        "vigilarlas: una derivación innecesaria ocupa cupos y puede estigmatizar."
    ),
    "why.flag_rule": (
        "Una comprobación se señala solo cuando todo su intervalo de confianza del 95% queda fuera del "
        "margen de tolerancia ({low}–{high} para los cocientes y para observado/predicho; ECE por encima de "
        "{max_ece}). Una diferencia que los datos no distinguen del azar no se señala, pero tampoco se da "
        "por buena: su intervalo queda a la vista."
    ),
    "why.insufficient": (
        "Un grupo con menos de {min_n} personas o menos de {min_positives} con necesidad de apoyo tiene "
        "«datos insuficientes»: sus cifras se muestran, pero nunca aprueba ni se señala, y la verificación "
        "lo enumera para que una persona lo revise."
    ),
    "why.intervals": (
        "Los intervalos son percentiles 2.5 y 97.5 de {resamples} remuestreos bootstrap hechos dentro de "
        "cada combinación de grupos (así cada intervalo habla de su grupo), con semilla {seed}: el mismo "
        "archivo y la misma semilla dan el mismo resultado. Los cocientes usan los mismos remuestreos para "
        "el grupo y la referencia. El ECE usa 10 intervalos de igual ancho en [0, 1]; las curvas de "
        "calibración, deciles de las puntuaciones de cada grupo."
    ),
    "why.reference": (
        "Grupo de referencia de cada columna: {references}. Las intersecciones se nombran uniendo columnas "
        "y valores con «*»; los valores vacíos de una columna de grupo forman el grupo «missing»."
    ),
    "why.limits": (
        "Una auditoría mide el modelo contra los resultados registrados. Si el registro mismo es desigual "
        "(por ejemplo, si en algunos lugares se registran más contactos con la justicia), las métricas "
        "heredan esa desigualdad. Las cifras orientan; no sustituyen el juicio de quienes conocen el "
        "programa."
    ),
    "overall.heading": "Toda la población",
    "column.heading": "Por {column}",
    "intersection.heading": "Intersección {column}",
    "figure.primary": "Comprobaciones principales por grupo. Barras: IC 95%. Franja: margen de tolerancia.",
    "figure.calibration": "Calibración por grupo: proporción observada frente a puntuación media, por decil.",
    "figure.distribution": "Distribución de las puntuaciones por grupo (proporción de cada grupo).",
    "figure.omitted": "Los grupos con datos insuficientes no se dibujan.",
    "table.group": "Grupo",
    "table.n": "Personas",
    "table.positives": "Con necesidad",
    "table.ratio": "cociente",
    "table.verdict": "Resultado",
    "table.all_metrics": "Todas las métricas y disparidades secundarias",
    "table.metric": "Métrica",
    "table.value": "Valor (IC 95%)",
    "table.check": "Comprobación",
    "table.limits": "Margen",
    "reference_mark": "(ref.)",
    "plot.reference": "referencia",
    "plot.band": "margen de tolerancia",
    "plot.rule": "regla",
    "plot.predicted": "Puntuación media (predicho)",
    "plot.observed": "Proporción con necesidad (observado)",
    "plot.score": "Puntuación",
    "plot.share": "Proporción del grupo",
    "plot.perfect": "calibración perfecta",
    "status.ok": "dentro del margen",
    "status.flagged": "fuera del margen",
    "status.insufficient_data": "datos insuficientes",
    "status.undefined": "no definido",
    "status.not_applicable": "no aplica",
    "status.reference": "referencia",
    "metric.prevalence": "Con necesidad de apoyo",
    "metric.selection_rate": "Tasa de selección",
    "metric.tpr": "Tasa de detección (TPR)",
    "metric.fnr": "Tasa de omisión (FNR)",
    "metric.fpr": "Tasa de falsos positivos (FPR)",
    "metric.ppv": "Valor predictivo positivo (PPV)",
    "metric.fdr": "Tasa de falsos descubrimientos (FDR)",
    "metric.for": "Tasa de falsas omisiones (FOR)",
    "metric.npv": "Valor predictivo negativo (NPV)",
    "metric.roc_auc": "ROC AUC",
    "metric.ece": "Error de calibración esperado (ECE)",
    "metric.calibration_in_the_large": "Observado / predicho",
    "help.prevalence": "Proporción del grupo que tuvo necesidad de apoyo (el resultado registrado).",
    "help.selection_rate": "Proporción del grupo a quien la regla sugiere derivar.",
    "help.tpr": "De quienes tenían necesidad de apoyo, proporción que la regla identifica.",
    "help.fnr": "De quienes tenían necesidad de apoyo, proporción que la regla omite.",
    "help.fpr": "De quienes no tuvieron necesidad registrada, proporción a quien la regla sugiere derivar.",
    "help.ppv": "De quienes la regla sugiere derivar, proporción que tenía necesidad de apoyo.",
    "help.fdr": "De quienes la regla sugiere derivar, proporción sin necesidad registrada.",
    "help.for": "De quienes la regla no deriva, proporción que sí tenía necesidad de apoyo.",
    "help.npv": "De quienes la regla no deriva, proporción sin necesidad registrada.",
    "help.roc_auc": "Probabilidad de que el modelo puntúe más alto a quien tenía necesidad que a quien no.",
    "help.ece": "Diferencia media entre la puntuación y la proporción observada (0 es perfecto).",
    "help.calibration_in_the_large": "Casos observados entre casos que el modelo predice (1 es perfecto).",
    "glossary.heading": "Glosario",
    "footer": (
        "previ es una herramienta de apoyo para programas de prevención: sus derivaciones ofrecen apoyo y "
        "nunca deben usarse para sancionar. Este informe solo contiene cifras agregadas por grupo."
    ),
}

_EN: Final[dict[str, str]] = {
    "title": "Fairness audit",
    "subtitle": "Who would receive a suggested referral, and whom the model would miss, by group.",
    "data_line": (
        "{n} records · outcome: “{label}” · score: “{score}” · rule: {rule} · "
        "groups: {groups} · {resamples} resamples, seed {seed}"
    ),
    "rule.threshold": "score ≥ {threshold}",
    "rule.top_k_count": "the {k} highest scores",
    "rule.top_k_fraction": "the highest-scoring {k}",
    "gate.passed": "Primary check: passed",
    "gate.failed": "Primary check: failed",
    "gate.passed_detail": "No primary check falls outside the tolerance band.",
    "gate.failed_detail": "{count} primary checks fall outside the tolerance band.",
    "summary.heading": "Summary",
    "summary.overall": (
        "With the rule ({rule}), {selection} of the {n} people would get a suggested referral. "
        "Of those with a support need, the model identifies {tpr} (95% CI: {tpr_ci}) and misses {fnr} "
        "({fnr_ci})."
    ),
    "summary.fnr": (
        "The model misses {fnr} (95% CI: {fnr_ci}) of young people with a support need in {group}, "
        "compared with {ref_fnr} ({ref_fnr_ci}) in the reference group ({reference})."
    ),
    "summary.verdict.flagged": "The difference falls outside the tolerance band: flagged.",
    "summary.verdict.ok": "The difference does not leave the tolerance band with the data available.",
    "summary.verdict.undefined": "The ratio is not defined for this group.",
    "summary.calibration": (
        "In {group}, for every 100 support needs the model predicts, {observed} are observed "
        "(95% CI: {observed_ci})."
    ),
    "summary.intersections": "In the intersections, {count} primary checks fall outside the band.",
    "summary.not_judged": (
        "{count} groups have too little data to judge (fewer than {min_n} people or {min_positives} with "
        "a support need): they are shown, but neither pass nor get flagged."
    ),
    "summary.no_calibration": (
        "Scores are not probabilities between 0 and 1 (they range from {low} to {high}): "
        "calibration cannot be assessed and is not reported."
    ),
    "findings.heading": "Primary checks outside the band",
    "findings.none": "None.",
    "not_judged.heading": "Checks that could not be judged",
    "why.heading": "What we check and why",
    "why.support": (
        "previ suggests referrals to prevention programmes: support, never sanctions. The main harm is "
        "therefore missing a young person who needs support. Two primary checks decide the gate: (1) parity "
        "in detection: each group's miss rate (FNR) and detection rate (TPR) divided by the reference "
        "group's; (2) calibration within each group: a given score should mean the same in every group "
        "(observed/predicted close to 1 and a low expected calibration error)."
    ),
    "why.secondary": (
        "Selection rate and false positive rate are reported but do not decide the gate: being offered "
        "support without needing it costs far less than going without. They are still worth watching: an "
        "unneeded referral takes a place and can stigmatise."
    ),
    "why.flag_rule": (
        "A check is flagged only when its whole 95% confidence interval lies outside the tolerance band "
        "({low}–{high} for ratios and for observed/predicted; ECE above {max_ece}). A difference the data "
        "cannot tell from chance is not flagged, but it is not called fine either: its interval is shown."
    ),
    "why.insufficient": (
        "A group with fewer than {min_n} people or fewer than {min_positives} with a support need has "
        "“insufficient data”: its figures are shown, but it never passes and is never flagged, and the "
        "gate lists it for a person to review."
    ),
    "why.intervals": (
        "Intervals are the 2.5 and 97.5 percentiles of {resamples} bootstrap resamples drawn within each "
        "combination of groups (so each interval is about its own group), with seed {seed}: the same file "
        "and seed give the same result. Ratios use the same resamples for the group and the reference. "
        "ECE uses 10 equal-width bins on [0, 1]; calibration curves use deciles of each group's scores."
    ),
    "why.reference": (
        "Reference group of each column: {references}. Intersections are named by joining columns and "
        "values with “*”; blank values of a group column form the group “missing”."
    ),
    "why.limits": (
        "An audit measures the model against recorded outcomes. If the records themselves are uneven (for "
        "example, if justice contacts are recorded more often in some places), the metrics inherit that. "
        "The figures inform; they do not replace the judgement of people who know the programme."
    ),
    "overall.heading": "Whole population",
    "column.heading": "By {column}",
    "intersection.heading": "Intersection {column}",
    "figure.primary": "Primary checks by group. Bars: 95% CI. Shaded: tolerance band.",
    "figure.calibration": "Calibration by group: observed rate against mean score, by decile.",
    "figure.distribution": "Score distribution by group (share of each group).",
    "figure.omitted": "Groups with insufficient data are not drawn.",
    "table.group": "Group",
    "table.n": "People",
    "table.positives": "With a need",
    "table.ratio": "ratio",
    "table.verdict": "Result",
    "table.all_metrics": "All metrics and secondary disparities",
    "table.metric": "Metric",
    "table.value": "Value (95% CI)",
    "table.check": "Check",
    "table.limits": "Band",
    "reference_mark": "(ref.)",
    "plot.reference": "reference",
    "plot.band": "tolerance band",
    "plot.rule": "rule",
    "plot.predicted": "Mean score (predicted)",
    "plot.observed": "Share with a need (observed)",
    "plot.score": "Score",
    "plot.share": "Share of group",
    "plot.perfect": "perfect calibration",
    "status.ok": "within band",
    "status.flagged": "outside band",
    "status.insufficient_data": "insufficient data",
    "status.undefined": "undefined",
    "status.not_applicable": "not applicable",
    "status.reference": "reference",
    "metric.prevalence": "With a support need",
    "metric.selection_rate": "Selection rate",
    "metric.tpr": "Detection rate (TPR)",
    "metric.fnr": "Miss rate (FNR)",
    "metric.fpr": "False positive rate (FPR)",
    "metric.ppv": "Positive predictive value (PPV)",
    "metric.fdr": "False discovery rate (FDR)",
    "metric.for": "False omission rate (FOR)",
    "metric.npv": "Negative predictive value (NPV)",
    "metric.roc_auc": "ROC AUC",
    "metric.ece": "Expected calibration error (ECE)",
    "metric.calibration_in_the_large": "Observed / predicted",
    "help.prevalence": "Share of the group with a support need (the recorded outcome).",
    "help.selection_rate": "Share of the group the rule would refer.",
    "help.tpr": "Of those with a support need, the share the rule identifies.",
    "help.fnr": "Of those with a support need, the share the rule misses.",
    "help.fpr": "Of those without a recorded need, the share the rule would refer.",
    "help.ppv": "Of those the rule would refer, the share with a support need.",
    "help.fdr": "Of those the rule would refer, the share without a recorded need.",
    "help.for": "Of those the rule would not refer, the share who had a support need.",
    "help.npv": "Of those the rule would not refer, the share without a recorded need.",
    "help.roc_auc": "Probability that the model scores someone with a need above someone without.",
    "help.ece": "Average gap between score and observed rate (0 is perfect).",
    "help.calibration_in_the_large": "Observed cases divided by the cases the model predicts (1 is perfect).",
    "glossary.heading": "Glossary",
    "footer": (
        "previ is a support tool for prevention programmes: its referrals offer support and must never be "
        "used to sanction. This report holds only figures aggregated by group."
    ),
}

TEXTS: Final[dict[Lang, dict[str, str]]] = {"es": _ES, "en": _EN}
