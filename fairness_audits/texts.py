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
    "gate.passed": "Verificación de equidad: aprobada",
    "gate.failed": "Verificación de equidad: no aprobada",
    "gate.passed_detail": "La puntuación significa lo mismo en cada grupo: ninguna comprobación se señala.",
    "gate.failed_detail": "Comprobaciones señaladas: {count}. Revise la tabla antes de usar el modelo.",
    "summary.heading": "Resumen",
    "summary.overall": (
        "Con la regla ({rule}) se sugeriría derivar al {selection} de las {n} personas. "
        "De quienes tenían necesidad de apoyo, el modelo identifica al {tpr} (IC 95%: {tpr_ci}) "
        "y omite al {fnr} ({fnr_ci})."
    ),
    "summary.calibration": (
        "En {group}, por cada 100 casos de necesidad que el modelo predice se observan {observed} "
        "(IC 95%: {observed_ci})."
    ),
    "summary.not_judged": (
        "{count} grupos tienen muy pocos datos para juzgarse (menos de {min_n} personas o de "
        "{min_positives} con necesidad de apoyo): se muestran, pero no se aprueban ni se señalan."
    ),
    "summary.no_calibration": (
        "Las puntuaciones no son probabilidades entre 0 y 1 (van de {low} a {high}): "
        "la calibración no se puede evaluar y no se informa."
    ),
    "findings.heading": "Comprobaciones señaladas",
    "findings.none": "Ninguna.",
    "not_judged.heading": "Comprobaciones que no se pudieron juzgar",
    "why.heading": "Qué revisamos y por qué",
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
    "why.limits": (
        "Una auditoría mide el modelo contra los resultados registrados. Si el registro mismo es desigual "
        "(por ejemplo, si en algunos lugares se registran más contactos con la justicia), las métricas "
        "heredan esa desigualdad. Las cifras orientan; no sustituyen el juicio de quienes conocen el "
        "programa."
    ),
    "overall.heading": "Toda la población",
    "column.heading": "Por {column}",
    "intersection.heading": "Intersección {column}",
    "figure.primary": "Comprobaciones de equidad por grupo. Barras: IC 95%. Franja: margen aceptable.",
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
    "summary.recall": (
        "Por {column}, el modelo identifica entre el {low} ({low_ci}) de quienes necesitaban apoyo en "
        "{low_group} y el {high} ({high_ci}) en {high_group}. Cómo se reparten los cupos entre grupos es "
        "una política de asignación (abajo), no parte de la verificación."
    ),
    "summary.intersections_omitted": (
        "Intersecciones omitidas porque alguna combinación tiene menos de {min_n} personas: {columns}."
    ),
    "why.support": (
        "La verificación responde a una sola pregunta: ¿significa la puntuación lo mismo en todos los "
        "grupos? Para cada grupo de cada columna, comparado con toda la población, revisa (1) la "
        "calibración: observado/predicho y la pendiente de calibración, ambas cerca de 1; (2) la "
        "discriminación: la capacidad del modelo para ordenar por necesidad dentro del grupo (AUC por "
        "encima del azar), que no debe ser mucho menor que en toda la población; y (3), cuando hay un "
        "modelo vigente, que la detección de cada grupo con la capacidad del programa no empeore respecto"
        " de él."
    ),
    "why.allocation": (
        "La igualdad de detección entre grupos no se exige en la verificación: cuando las tasas de base "
        "difieren, una puntuación bien calibrada en cada grupo no puede además detectar la misma "
        "proporción en cada grupo (Kleinberg, Mullainathan y Raghavan 2016; Chouldechova 2017). Cómo se "
        "reparten los cupos escasos es una decisión de la coordinación del programa: por necesidad, o "
        "igualando la detección entre grupos (Rodolfa, Lamba y Ghani 2021). La sección «Políticas de "
        "asignación» muestra ambas."
    ),
    "why.flag_rule": (
        "Cada comprobación tiene un valor p unilateral: qué tan probable sería un valor tan fuera del "
        "margen ({low}–{high}; para la discriminación, al menos {floor}) si la verdad estuviera en el "
        "borde. Los valores p de las {judged} "
        "comprobaciones juzgadas se ajustan juntos (Benjamini-Hochberg) y una comprobación se señala "
        "cuando su valor p ajustado es menor que {fdr}. Una diferencia que los datos no distinguen del "
        "azar no se señala, pero su intervalo queda a la vista."
    ),
    "why.reference": (
        "Las comparaciones se hacen con: {references}. Las intersecciones se nombran uniendo columnas y "
        "valores con «*», se muestran solo cuando cada combinación tiene suficientes personas y nunca "
        "deciden la verificación; los valores vacíos de una columna de grupo forman el grupo «missing»."
    ),
    "population": "toda la población",
    "allocation.heading": "Políticas de asignación de cupos",
    "allocation.intro": (
        "Los mismos cupos repartidos de dos maneras en el periodo de prueba: por necesidad (las "
        "probabilidades más altas) o igualando la detección esperada entre grupos, con un punto de corte "
        "por grupo."
    ),
    "allocation.across": "Igualando entre {columns}",
    "allocation.precision": (
        "Precisión con la capacidad: {need} por necesidad, {equal} igualando la detección. Detección "
        "total: {need_recall} y {equal_recall}."
    ),
    "table.recall_need": "Detección, por necesidad",
    "table.recall_equal": "Detección, igualando",
    "table.selected_need": "Cupos, por necesidad",
    "table.selected_equal": "Cupos, igualando",
    "table.p_adjusted": "p ajustado",
    "metric.calibration_slope": "Pendiente de calibración",
    "metric.auc_above_chance": "Discriminación dentro del grupo",
    "metric.recall_vs_champion": "Detección frente al modelo vigente",
    "help.calibration_slope": (
        "Pendiente de una regresión logística del resultado sobre la puntuación dentro del grupo: 1 es "
        "perfecto, menos de 1 indica puntuaciones demasiado extremas."
    ),
    "help.auc_above_chance": (
        "(AUC del grupo − 0,5) / (AUC dentro de los grupos de la columna − 0,5): qué tanto ordena el "
        "modelo por necesidad dentro del grupo, comparado con los demás grupos de la misma columna."
    ),
    "help.recall_vs_champion": (
        "Detección del grupo con la capacidad del programa dividida entre la del modelo vigente en las "
        "mismas personas: 1 es igual, menos de 1 es peor."
    ),
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
    "gate.passed": "Fairness gate: passed",
    "gate.failed": "Fairness gate: failed",
    "gate.passed_detail": "The score means the same for every group: no check is flagged.",
    "gate.failed_detail": "Checks flagged: {count}. Read the table below before using the model.",
    "summary.heading": "Summary",
    "summary.overall": (
        "With the rule ({rule}), {selection} of the {n} people would get a suggested referral. "
        "Of those with a support need, the model identifies {tpr} (95% CI: {tpr_ci}) and misses {fnr} "
        "({fnr_ci})."
    ),
    "summary.calibration": (
        "In {group}, for every 100 support needs the model predicts, {observed} are observed "
        "(95% CI: {observed_ci})."
    ),
    "summary.not_judged": (
        "{count} groups have too little data to judge (fewer than {min_n} people or {min_positives} with "
        "a support need): they are shown, but neither pass nor get flagged."
    ),
    "summary.no_calibration": (
        "Scores are not probabilities between 0 and 1 (they range from {low} to {high}): "
        "calibration cannot be assessed and is not reported."
    ),
    "findings.heading": "Flagged checks",
    "findings.none": "None.",
    "not_judged.heading": "Checks that could not be judged",
    "why.heading": "What we check and why",
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
    "why.limits": (
        "An audit measures the model against recorded outcomes. If the records themselves are uneven (for "
        "example, if justice contacts are recorded more often in some places), the metrics inherit that. "
        "The figures inform; they do not replace the judgement of people who know the programme."
    ),
    "overall.heading": "Whole population",
    "column.heading": "By {column}",
    "intersection.heading": "Intersection {column}",
    "figure.primary": "Gate checks by group. Bars: 95% CI. Shaded: acceptable band.",
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
    "summary.recall": (
        "By {column}, the model identifies between {low} ({low_ci}) of those who needed support in "
        "{low_group} and {high} ({high_ci}) in {high_group}. How places are shared between groups is an "
        "allocation policy (below), not part of the gate."
    ),
    "summary.intersections_omitted": (
        "Intersections left out because some combination has fewer than {min_n} people: {columns}."
    ),
    "why.support": (
        "The gate answers one question: does the score mean the same thing for every group? For each "
        "group of each column, compared with the whole population, it checks (1) calibration: "
        "observed/predicted and the calibration slope, both close to 1; (2) discrimination: how well the "
        "model orders young people by need within the group (AUC above chance), which must not be much "
        "lower than in the whole population; and (3), when there is a current champion, that each group's"
        " recall at the programme's capacity is no worse than the champion's."
    ),
    "why.allocation": (
        "Equal recall between groups is not asked of the gate: when base rates differ, a score that is "
        "calibrated within every group cannot also reach the same share of each group (Kleinberg, "
        "Mullainathan and Raghavan 2016; Chouldechova 2017). How scarce places are shared is a decision "
        "for the programme's managers: by need, or equalising recall between groups (Rodolfa, Lamba and "
        "Ghani 2021). The section “Allocation policies” shows both."
    ),
    "why.flag_rule": (
        "Each check has a one-sided p-value: how likely a value this far outside the band ({low}–{high}; "
        "for discrimination, at least {floor}) would be if the truth sat at its edge. The p-values of the "
        "{judged} judged checks are adjusted "
        "together (Benjamini-Hochberg), and a check is flagged when its adjusted p-value is below {fdr}. "
        "A difference the data cannot tell from noise is not flagged, but its interval stays in view."
    ),
    "why.reference": (
        "Comparisons are made with: {references}. Intersections are named by joining columns and values "
        "with “*”, are shown only when every combination has enough people, and never decide the gate; "
        "blank values of a group column form the group “missing”."
    ),
    "population": "the whole population",
    "allocation.heading": "Allocation policies",
    "allocation.intro": (
        "The same places shared two ways on the test period: by need (the highest probabilities) or "
        "equalising expected recall between groups, with one cut-off per group."
    ),
    "allocation.across": "Equalising across {columns}",
    "allocation.precision": (
        "Precision at capacity: {need} by need, {equal} equalising recall. Overall recall: {need_recall} "
        "and {equal_recall}."
    ),
    "table.recall_need": "Recall, by need",
    "table.recall_equal": "Recall, equalised",
    "table.selected_need": "Places, by need",
    "table.selected_equal": "Places, equalised",
    "table.p_adjusted": "adjusted p",
    "metric.calibration_slope": "Calibration slope",
    "metric.auc_above_chance": "Discrimination within the group",
    "metric.recall_vs_champion": "Recall against the champion",
    "help.calibration_slope": (
        "Slope of a logistic regression of the outcome on the score within the group: 1 is perfect, below"
        " 1 means scores too extreme."
    ),
    "help.auc_above_chance": (
        "(group AUC − 0.5) / (pooled within-group AUC of the column − 0.5): how well the model orders "
        "by need within the group, against the other groups of the same column."
    ),
    "help.recall_vs_champion": (
        "The group's recall at the programme's capacity divided by the current champion's on the same "
        "people: 1 is equal, below 1 is worse."
    ),
    "glossary.heading": "Glossary",
    "footer": (
        "previ is a support tool for prevention programmes: its referrals offer support and must never be "
        "used to sanction. This report holds only figures aggregated by group."
    ),
}

TEXTS: Final[dict[Lang, dict[str, str]]] = {"es": _ES, "en": _EN}
