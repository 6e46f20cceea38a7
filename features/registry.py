"""The feature registry: every feature declared once.

A declaration carries everything the rest of previ reads about a feature: the
source table it needs, how it aggregates and over which window, its unit, the
expected direction of its effect (used as the glass box's monotone constraint),
a description and a neutral reason sentence in Spanish and English, the referral
tags it points to and the *factor* it measures. Reason sentences state a fact
with its value ("7 faltas injustificadas en los últimos 90 días"); whether that
fact raised or lowered the need is for the explanation to say.

The factor names are shared with the synthesiser's true main drivers, so that a
model's reasons can be checked against the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal[-1, 0, 1]
Unit = Literal["count", "days", "rate", "grade", "flag", "years", "points"]
Language = Literal["es", "en"]

RISK_FACTORS = (
    "unexcused_absences",
    "falling_grades",
    "school_incidents",
    "substance",
    "civic_infractions",
    "probation",
    "program_dropout",
)
PROTECTIVE_FACTORS = ("program_completion", "steady_attendance")
REFERRAL_TAGS = (
    "tutoring",
    "school_reengagement",
    "mentoring",
    "family_support",
    "restorative_mediation",
    "substance_prevention",
    "sport_and_culture",
)


@dataclass(frozen=True)
class Feature:
    """One feature of the point-in-time matrix.

    ``window_days`` is the look-back window ending just before ``as_of`` (None:
    all history before ``as_of``, or a state as it stood at ``as_of``).
    ``direction`` is +1 when a higher value raises the need for support, -1 when
    it protects, 0 when unknown; the glass box uses it as a monotone constraint.
    """

    name: str
    source: str
    aggregation: str
    window_days: int | None
    unit: Unit
    direction: Direction
    description_es: str
    description_en: str
    reason_es: str
    reason_en: str
    referral_tags: tuple[str, ...] = ()
    factor: str | None = None

    def description(self, language: Language) -> str:
        return self.description_es if language == "es" else self.description_en

    def reason(self, value: float | None, language: Language) -> str:
        """The reason sentence with the actual value filled in ("no record" when there is none)."""
        if value is None or value != value:  # None or NaN: the template would read "Promedio de sin dato"
            missing = "Sin registro" if language == "es" else "No record"
            return f"{missing}: {self.description(language).lower()}"
        template = self.reason_es if language == "es" else self.reason_en
        return template.format(value=format_value(value, self.unit, language))


def format_value(value: float | None, unit: Unit, language: Language) -> str:
    """Write a feature value for people: counts as integers, rates as percentages."""
    if value is None or value != value:  # None or NaN
        return "sin dato" if language == "es" else "no data"
    if unit == "rate":
        return f"{100 * value:.0f}%"
    if unit == "points":
        return f"{100 * value:+.0f}"
    if unit == "grade":
        text = f"{value:.1f}"
        return text.replace(".", ",") if language == "es" else text
    if unit == "flag":
        return ("sí" if value else "no") if language == "es" else ("yes" if value else "no")
    return f"{value:.0f}"


def _f(
    name: str,
    source: str,
    aggregation: str,
    window_days: int | None,
    unit: Unit,
    direction: Direction,
    es: tuple[str, str],
    en: tuple[str, str],
    tags: tuple[str, ...] = (),
    factor: str | None = None,
) -> Feature:
    return Feature(
        name, source, aggregation, window_days, unit, direction, es[0], en[0], es[1], en[1], tags, factor
    )


_SCHOOL = ("school_reengagement", "family_support")
_TUTOR = ("tutoring",)
_CONFLICT = ("restorative_mediation", "mentoring")
_SUBSTANCE = ("substance_prevention", "family_support")
_JUSTICE = ("restorative_mediation", "mentoring", "family_support")

FEATURES: tuple[Feature, ...] = (
    # --- attendance: periods that ended before as_of ---------------------------------
    _f(
        "attendance_rate_90d",
        "attendance",
        "1 - absent days / enrolled days",
        90,
        "rate",
        -1,
        ("Tasa de asistencia en los últimos 90 días", "Asistencia del {value} en los últimos 90 días"),
        ("Attendance rate over the last 90 days", "Attended {value} of school days in the last 90 days"),
        _SCHOOL,
        "steady_attendance",
    ),
    _f(
        "attendance_rate_365d",
        "attendance",
        "1 - absent days / enrolled days",
        365,
        "rate",
        -1,
        ("Tasa de asistencia en los últimos 365 días", "Asistencia del {value} en el último año"),
        ("Attendance rate over the last 365 days", "Attended {value} of school days in the last year"),
        _SCHOOL,
        "steady_attendance",
    ),
    _f(
        "attendance_rate_change",
        "attendance",
        "rate last 90 days - rate days 91-365",
        365,
        "points",
        -1,
        (
            "Cambio de la asistencia: últimos 90 días frente a los 9 meses previos",
            "Cambio de {value} puntos en la asistencia frente a los meses anteriores",
        ),
        (
            "Change in attendance: last 90 days against the 9 months before",
            "Attendance changed by {value} points against the months before",
        ),
        _SCHOOL,
        "unexcused_absences",
    ),
    _f(
        "unexcused_absences_90d",
        "attendance",
        "sum of unexcused absent days",
        90,
        "count",
        1,
        (
            "Faltas injustificadas en los últimos 90 días",
            "{value} faltas injustificadas en los últimos 90 días",
        ),
        ("Unexcused absences over the last 90 days", "{value} unexcused absences in the last 90 days"),
        _SCHOOL,
        "unexcused_absences",
    ),
    _f(
        "unexcused_absences_365d",
        "attendance",
        "sum of unexcused absent days",
        365,
        "count",
        1,
        ("Faltas injustificadas en los últimos 365 días", "{value} faltas injustificadas en el último año"),
        ("Unexcused absences over the last 365 days", "{value} unexcused absences in the last year"),
        _SCHOOL,
        "unexcused_absences",
    ),
    _f(
        "excused_absences_90d",
        "attendance",
        "sum of excused absent days",
        90,
        "count",
        0,
        ("Faltas justificadas en los últimos 90 días", "{value} faltas justificadas en los últimos 90 días"),
        ("Excused absences over the last 90 days", "{value} excused absences in the last 90 days"),
        ("family_support",),
        None,
    ),
    _f(
        "days_late_90d",
        "attendance",
        "sum of days late",
        90,
        "count",
        1,
        ("Retardos en los últimos 90 días", "{value} retardos en los últimos 90 días"),
        ("Days late over the last 90 days", "Late {value} days in the last 90 days"),
        _SCHOOL,
        "unexcused_absences",
    ),
    _f(
        "days_enrolled_90d",
        "attendance",
        "sum of days enrolled",
        90,
        "count",
        -1,
        (
            "Días de inscripción escolar en los últimos 90 días",
            "{value} días inscrito en la escuela en los últimos 90 días",
        ),
        (
            "Days enrolled in school over the last 90 days",
            "Enrolled in school {value} days in the last 90 days",
        ),
        ("school_reengagement",),
        None,
    ),
    # --- grades: terms that ended before as_of -----------------------------------------
    _f(
        "failed_subjects_last_term",
        "grades",
        "subjects graded under 6 in the latest term",
        None,
        "count",
        1,
        ("Materias reprobadas en el último periodo", "{value} materias reprobadas en el último periodo"),
        ("Subjects failed in the latest term", "Failed {value} subjects in the latest term"),
        _TUTOR,
        "falling_grades",
    ),
    _f(
        "failed_subjects_365d",
        "grades",
        "subjects graded under 6",
        365,
        "count",
        1,
        ("Materias reprobadas en el último año", "{value} materias reprobadas en el último año"),
        ("Subjects failed over the last 365 days", "Failed {value} subjects in the last year"),
        _TUTOR,
        "falling_grades",
    ),
    _f(
        "failed_core_subject_last_term",
        "grades",
        "failed mathematics or Spanish in the latest term",
        None,
        "flag",
        1,
        (
            "Reprobó matemáticas o español en el último periodo",
            "Reprobó matemáticas o español en el último periodo: {value}",
        ),
        (
            "Failed mathematics or Spanish in the latest term",
            "Failed mathematics or Spanish in the latest term: {value}",
        ),
        _TUTOR,
        "falling_grades",
    ),
    _f(
        "grade_mean_last_term",
        "grades",
        "mean grade in the latest term",
        None,
        "grade",
        -1,
        ("Promedio del último periodo (0-10)", "Promedio de {value} en el último periodo"),
        ("Mean grade in the latest term (0-10)", "Mean grade of {value} in the latest term"),
        _TUTOR,
        "falling_grades",
    ),
    _f(
        "grade_mean_365d",
        "grades",
        "mean grade",
        365,
        "grade",
        -1,
        ("Promedio del último año (0-10)", "Promedio de {value} en el último año"),
        ("Mean grade over the last 365 days (0-10)", "Mean grade of {value} in the last year"),
        _TUTOR,
        "falling_grades",
    ),
    _f(
        "grade_trend",
        "grades",
        "latest term mean - mean of the terms before it within 365 days",
        365,
        "grade",
        -1,
        (
            "Cambio del promedio: último periodo frente a los anteriores",
            "El promedio cambió {value} puntos frente a periodos anteriores",
        ),
        (
            "Change in mean grade: latest term against the terms before",
            "Mean grade changed by {value} points against earlier terms",
        ),
        _TUTOR,
        "falling_grades",
    ),
    # --- school incidents ---------------------------------------------------------------
    _f(
        "fights_90d",
        "school_incidents",
        "count of fights",
        90,
        "count",
        1,
        (
            "Peleas registradas en la escuela en los últimos 90 días",
            "{value} peleas en la escuela en los últimos 90 días",
        ),
        ("Fights recorded at school over the last 90 days", "{value} fights at school in the last 90 days"),
        _CONFLICT,
        "school_incidents",
    ),
    _f(
        "fights_365d",
        "school_incidents",
        "count of fights",
        365,
        "count",
        1,
        (
            "Peleas registradas en la escuela en el último año",
            "{value} peleas en la escuela en el último año",
        ),
        ("Fights recorded at school over the last 365 days", "{value} fights at school in the last year"),
        _CONFLICT,
        "school_incidents",
    ),
    _f(
        "incidents_90d",
        "school_incidents",
        "count of incidents of any category",
        90,
        "count",
        1,
        (
            "Incidentes escolares en los últimos 90 días",
            "{value} incidentes escolares en los últimos 90 días",
        ),
        ("School incidents over the last 90 days", "{value} school incidents in the last 90 days"),
        _CONFLICT,
        "school_incidents",
    ),
    _f(
        "incidents_365d",
        "school_incidents",
        "count of incidents of any category",
        365,
        "count",
        1,
        ("Incidentes escolares en el último año", "{value} incidentes escolares en el último año"),
        ("School incidents over the last 365 days", "{value} school incidents in the last year"),
        _CONFLICT,
        "school_incidents",
    ),
    _f(
        "bullying_365d",
        "school_incidents",
        "count of bullying incidents",
        365,
        "count",
        1,
        (
            "Incidentes de acoso escolar en el último año",
            "{value} incidentes de acoso escolar en el último año",
        ),
        ("Bullying incidents over the last 365 days", "{value} bullying incidents in the last year"),
        _CONFLICT,
        "school_incidents",
    ),
    _f(
        "serious_incidents_365d",
        "school_incidents",
        "count of severity-3 or weapon incidents",
        365,
        "count",
        1,
        (
            "Incidentes graves (severidad 3 o con arma) en el último año",
            "{value} incidentes graves en la escuela en el último año",
        ),
        (
            "Serious incidents (severity 3 or a weapon) over the last 365 days",
            "{value} serious school incidents in the last year",
        ),
        _CONFLICT,
        "school_incidents",
    ),
    _f(
        "substance_incidents_365d",
        "school_incidents",
        "count of substance incidents",
        365,
        "count",
        1,
        (
            "Incidentes escolares por sustancias en el último año",
            "{value} incidentes por consumo de sustancias en la escuela en el último año",
        ),
        (
            "Substance incidents at school over the last 365 days",
            "{value} substance-use incidents at school in the last year",
        ),
        _SUBSTANCE,
        "substance",
    ),
    _f(
        "suspension_days_365d",
        "school_incidents",
        "sum of suspension days",
        365,
        "count",
        1,
        ("Días de suspensión en el último año", "{value} días de suspensión en el último año"),
        ("Days of suspension over the last 365 days", "{value} days of suspension in the last year"),
        ("school_reengagement", "restorative_mediation"),
        "school_incidents",
    ),
    _f(
        "days_since_last_incident",
        "school_incidents",
        "days from the latest incident to as_of",
        None,
        "days",
        -1,
        ("Días desde el último incidente escolar", "{value} días desde el último incidente escolar"),
        ("Days since the latest school incident", "{value} days since the latest school incident"),
        _CONFLICT,
        "school_incidents",
    ),
    # --- civic justice and probation ---------------------------------------------------
    _f(
        "civic_infractions_365d",
        "justice_contacts",
        "count of civic infractions",
        365,
        "count",
        1,
        (
            "Faltas cívicas registradas en el último año",
            "{value} faltas cívicas registradas en el último año",
        ),
        (
            "Civic infractions recorded over the last 365 days",
            "{value} civic infractions recorded in the last year",
        ),
        _JUSTICE,
        "civic_infractions",
    ),
    _f(
        "civic_infractions_total",
        "justice_contacts",
        "count of civic infractions",
        None,
        "count",
        1,
        ("Faltas cívicas registradas en total", "{value} faltas cívicas registradas en total"),
        ("Civic infractions recorded in all", "{value} civic infractions recorded in all"),
        _JUSTICE,
        "civic_infractions",
    ),
    _f(
        "violence_contacts_365d",
        "justice_contacts",
        "count of contacts for violence",
        365,
        "count",
        1,
        (
            "Contactos con la justicia cívica por violencia en el último año",
            "{value} contactos con la justicia cívica por violencia en el último año",
        ),
        (
            "Civic-justice contacts for violence over the last 365 days",
            "{value} civic-justice contacts for violence in the last year",
        ),
        _JUSTICE,
        "civic_infractions",
    ),
    _f(
        "substance_contacts_365d",
        "justice_contacts",
        "count of contacts for substances",
        365,
        "count",
        1,
        (
            "Contactos con la justicia cívica por sustancias en el último año",
            "{value} contactos con la justicia cívica por sustancias en el último año",
        ),
        (
            "Civic-justice contacts for substances over the last 365 days",
            "{value} civic-justice contacts for substances in the last year",
        ),
        _SUBSTANCE,
        "substance",
    ),
    _f(
        "mediation_dispositions_total",
        "justice_contacts",
        "count of mediation dispositions",
        None,
        "count",
        0,
        ("Casos resueltos por mediación", "{value} casos resueltos por mediación"),
        ("Cases resolved through mediation", "{value} cases resolved through mediation"),
        ("restorative_mediation",),
        None,
    ),
    _f(
        "detentions_total",
        "justice_contacts",
        "count of detentions",
        None,
        "count",
        1,
        ("Detenciones registradas en total", "{value} detenciones registradas en total"),
        ("Detentions recorded in all", "{value} detentions recorded in all"),
        _JUSTICE,
        "civic_infractions",
    ),
    _f(
        "probation_active",
        "justice_contacts",
        "probation started and not ended at as_of",
        None,
        "flag",
        1,
        ("Medida de libertad asistida vigente", "Medida de libertad asistida vigente: {value}"),
        ("Probation in force", "Probation in force: {value}"),
        ("mentoring", "family_support"),
        "probation",
    ),
    _f(
        "probation_ever",
        "justice_contacts",
        "any probation started before as_of",
        None,
        "flag",
        1,
        ("Ha tenido una medida de libertad asistida", "Ha tenido una medida de libertad asistida: {value}"),
        ("Has ever been on probation", "Has ever been on probation: {value}"),
        ("mentoring", "family_support"),
        "probation",
    ),
    _f(
        "days_since_last_justice_contact",
        "justice_contacts",
        "days from the latest contact to as_of",
        None,
        "days",
        -1,
        (
            "Días desde el último contacto con la justicia cívica",
            "{value} días desde el último contacto con la justicia cívica",
        ),
        (
            "Days since the latest civic-justice contact",
            "{value} days since the latest civic-justice contact",
        ),
        _JUSTICE,
        "civic_infractions",
    ),
    # --- prevention programmes ---------------------------------------------------------
    _f(
        "programs_completed_total",
        "programs",
        "programmes completed before as_of",
        None,
        "count",
        -1,
        ("Programas de prevención concluidos", "{value} programas de prevención concluidos"),
        ("Prevention programmes completed", "Completed {value} prevention programmes"),
        ("mentoring",),
        "program_completion",
    ),
    _f(
        "programs_dropped_total",
        "programs",
        "programmes dropped before as_of",
        None,
        "count",
        1,
        ("Programas de prevención abandonados", "{value} programas de prevención abandonados"),
        ("Prevention programmes dropped", "Dropped {value} prevention programmes"),
        ("mentoring", "family_support"),
        "program_dropout",
    ),
    _f(
        "program_active",
        "programs",
        "enrolled in a programme running at as_of",
        None,
        "flag",
        0,
        (
            "Participa actualmente en un programa de prevención",
            "Participa actualmente en un programa de prevención: {value}",
        ),
        (
            "Currently enrolled in a prevention programme",
            "Currently enrolled in a prevention programme: {value}",
        ),
        (),
        None,
    ),
    _f(
        "program_attendance_rate",
        "programs",
        "sessions attended / offered in programmes that ended",
        None,
        "rate",
        -1,
        (
            "Asistencia a sesiones de programas concluidos o abandonados",
            "Asistió al {value} de las sesiones de sus programas",
        ),
        (
            "Attendance at sessions of programmes that ended",
            "Attended {value} of the sessions of past programmes",
        ),
        ("mentoring",),
        "program_completion",
    ),
    # --- school exits and age ----------------------------------------------------------
    _f(
        "dropped_out_before",
        "school_exits",
        "left school (dropped out) before as_of",
        None,
        "flag",
        1,
        ("Dejó la escuela antes de la fecha de corte", "Dejó la escuela: {value}"),
        ("Left school before the as-of date", "Left school: {value}"),
        ("school_reengagement", "family_support"),
        None,
    ),
    _f(
        "age",
        "youth",
        "age in whole years at as_of",
        None,
        "years",
        0,
        ("Edad en años cumplidos", "{value} años de edad"),
        ("Age in whole years", "{value} years old"),
        (),
        None,
    ),
)

FEATURES_BY_NAME: dict[str, Feature] = {feature.name: feature for feature in FEATURES}


def features_for(tables: set[str] | frozenset[str]) -> tuple[Feature, ...]:
    """The features computable from the tables present (in registry order)."""
    return tuple(feature for feature in FEATURES if feature.source in tables)


def features_removed_by(table: str) -> tuple[Feature, ...]:
    """The features that an absent table takes away."""
    return tuple(feature for feature in FEATURES if feature.source == table)
