"""The feature registry: every feature declared once.

A declaration carries everything the rest of previ reads about a feature: its
*kind* (what a caseworker can do about it), the source table it needs, how it
aggregates and over which window, its unit, the expected direction of its effect
(used as the glass box's monotone constraint), a description and a neutral
reason sentence in Spanish and English, the referral tags it points to and the
*factor* it measures. Reason sentences state a fact with its value ("7 faltas
injustificadas en los últimos 90 días"); whether that fact raised or lowered the
need is for the explanation to say.

Kinds (see DESIGN.md, "The feature registry"):

* ``need``: dynamic and actionable (attendance, grades, incidents, programme
  drop-out): a programme can work on it;
* ``history``: a record that does not change (earlier justice contacts);
* ``context``: a given (age): shown beside a score, never a reason for it.

Only needs and history with a recorded value become reasons, protective factors
or the basis of a referral; a missing value is a data gap to check in the record.

The factor names are shared with the synthesiser's true main drivers, so that a
model's reasons can be checked against the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal[-1, 0, 1]
Unit = Literal["count", "days", "rate", "grade", "flag", "years", "points"]
Language = Literal["es", "en"]
Kind = Literal["need", "history", "context"]

KINDS: tuple[Kind, ...] = ("need", "history", "context")
# Kinds whose recorded values may be a score's reasons, protective factors and referral basis.
REASON_KINDS: frozenset[str] = frozenset({"need", "history"})

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
class Plural:
    """A sentence whose words agree with a number: ``one`` for exactly 1, ``other`` for any other."""

    one: str
    other: str

    def pick(self, written: str) -> str:
        """The form that agrees with a number as written ("1", "+1" and "-1" take ``one``)."""
        return self.one if written.lstrip("+-") == "1" else self.other


@dataclass(frozen=True, kw_only=True)
class Feature:
    """One feature of the point-in-time matrix, declared by keyword.

    ``window_days`` is the look-back window ending just before ``as_of`` (None:
    all history before ``as_of``, or a state as it stood at ``as_of``).
    ``direction`` is +1 when a higher value raises the need for support, -1 when
    it protects, 0 when unknown; the glass box uses it as a monotone constraint.
    ``reason_es``/``reason_en`` hold ``{value}``; for counted units they are
    :class:`Plural` so that "1 falta" and "2 faltas" both read right.
    ``missing_es``/``missing_en`` say what an absent value means where it is a
    fact rather than a gap (no incident ever: "days since the last incident" is
    empty); otherwise the gap reads "No record: <description>".
    """

    name: str
    kind: Kind
    source: str
    aggregation: str
    window_days: int | None
    unit: Unit
    direction: Direction
    description_es: str
    description_en: str
    reason_es: str | Plural
    reason_en: str | Plural
    referral_tags: tuple[str, ...] = ()
    factor: str | None = None
    missing_es: str | None = None
    missing_en: str | None = None

    def description(self, language: Language) -> str:
        return self.description_es if language == "es" else self.description_en

    def reason(self, value: float | None, language: Language) -> str:
        """The reason sentence with the value filled in; what a missing value means when there is none."""
        if value is None or value != value:  # None or NaN: the template would read "Promedio de sin dato"
            return self.missing(language)
        template = self.reason_es if language == "es" else self.reason_en
        text = format_value(value, self.unit, language)
        if isinstance(template, Plural):
            template = template.pick(text)
        return template.format(value=text)

    def missing(self, language: Language) -> str:
        """What an absent value says: the declared meaning, else "No record: <description>"."""
        declared = self.missing_es if language == "es" else self.missing_en
        if declared:
            return declared
        prefix = "Sin registro" if language == "es" else "No record"
        return f"{prefix}: {self.description(language).lower()}"


def format_value(value: float | None, unit: Unit, language: Language) -> str:
    """Write a feature value for people: counts as integers, rates as percentages."""
    if value is None or value != value:  # None or NaN
        return "sin dato" if language == "es" else "no data"
    if unit == "rate":
        return f"{_unsigned_zero(100 * value, 0):.0f}%"
    if unit == "points":
        return f"{_unsigned_zero(100 * value, 0):+.0f}".replace("+0", "0")
    if unit == "grade":
        text = f"{_unsigned_zero(value, 1):.1f}"
        return text.replace(".", ",") if language == "es" else text
    if unit == "flag":
        return ("sí" if value else "no") if language == "es" else ("yes" if value else "no")
    return f"{_unsigned_zero(value, 0):.0f}"


def _unsigned_zero(value: float, digits: int) -> float:
    """``value`` rounded as it will be written, without the "-0" a tiny negative number would print."""
    return round(value, digits) + 0.0


_SCHOOL = ("school_reengagement", "family_support")
_TUTOR = ("tutoring",)
_CONFLICT = ("restorative_mediation", "mentoring")
_SUBSTANCE = ("substance_prevention", "family_support")
_JUSTICE = ("restorative_mediation", "mentoring", "family_support")
_NO_INCIDENT = ("Sin incidentes escolares registrados", "No school incident on record")
_NO_CONTACT = ("Sin contactos con la justicia cívica registrados", "No civic-justice contact on record")

FEATURES: tuple[Feature, ...] = (
    # --- attendance: periods that ended before as_of ---------------------------------
    Feature(
        name="attendance_rate_90d",
        kind="need",
        source="attendance",
        aggregation="1 - absent days / enrolled days",
        window_days=90,
        unit="rate",
        direction=-1,
        description_es="Tasa de asistencia en los últimos 90 días",
        description_en="Attendance rate over the last 90 days",
        reason_es="Asistencia del {value} en los últimos 90 días",
        reason_en="Attended {value} of school days in the last 90 days",
        referral_tags=_SCHOOL,
        factor="steady_attendance",
    ),
    Feature(
        name="attendance_rate_365d",
        kind="need",
        source="attendance",
        aggregation="1 - absent days / enrolled days",
        window_days=365,
        unit="rate",
        direction=-1,
        description_es="Tasa de asistencia en los últimos 365 días",
        description_en="Attendance rate over the last 365 days",
        reason_es="Asistencia del {value} en el último año",
        reason_en="Attended {value} of school days in the last year",
        referral_tags=_SCHOOL,
        factor="steady_attendance",
    ),
    Feature(
        name="attendance_rate_change",
        kind="need",
        source="attendance",
        aggregation="rate last 90 days - rate days 91-365",
        window_days=365,
        unit="points",
        direction=-1,
        description_es="Cambio de la asistencia: últimos 90 días frente a los 9 meses previos",
        description_en="Change in attendance: last 90 days against the 9 months before",
        reason_es=Plural(
            one="Cambio de {value} punto en la asistencia frente a los meses anteriores",
            other="Cambio de {value} puntos en la asistencia frente a los meses anteriores",
        ),
        reason_en=Plural(
            one="Attendance changed by {value} point against the months before",
            other="Attendance changed by {value} points against the months before",
        ),
        referral_tags=_SCHOOL,
        factor="unexcused_absences",
    ),
    Feature(
        name="unexcused_absences_90d",
        kind="need",
        source="attendance",
        aggregation="sum of unexcused absent days",
        window_days=90,
        unit="count",
        direction=1,
        description_es="Faltas injustificadas en los últimos 90 días",
        description_en="Unexcused absences over the last 90 days",
        reason_es=Plural(
            one="{value} falta injustificada en los últimos 90 días",
            other="{value} faltas injustificadas en los últimos 90 días",
        ),
        reason_en=Plural(
            one="{value} unexcused absence in the last 90 days",
            other="{value} unexcused absences in the last 90 days",
        ),
        referral_tags=_SCHOOL,
        factor="unexcused_absences",
    ),
    Feature(
        name="unexcused_absences_365d",
        kind="need",
        source="attendance",
        aggregation="sum of unexcused absent days",
        window_days=365,
        unit="count",
        direction=1,
        description_es="Faltas injustificadas en los últimos 365 días",
        description_en="Unexcused absences over the last 365 days",
        reason_es=Plural(
            one="{value} falta injustificada en el último año",
            other="{value} faltas injustificadas en el último año",
        ),
        reason_en=Plural(
            one="{value} unexcused absence in the last year",
            other="{value} unexcused absences in the last year",
        ),
        referral_tags=_SCHOOL,
        factor="unexcused_absences",
    ),
    Feature(
        name="excused_absences_90d",
        kind="need",
        source="attendance",
        aggregation="sum of excused absent days",
        window_days=90,
        unit="count",
        direction=0,
        description_es="Faltas justificadas en los últimos 90 días",
        description_en="Excused absences over the last 90 days",
        reason_es=Plural(
            one="{value} falta justificada en los últimos 90 días",
            other="{value} faltas justificadas en los últimos 90 días",
        ),
        reason_en=Plural(
            one="{value} excused absence in the last 90 days",
            other="{value} excused absences in the last 90 days",
        ),
        referral_tags=("family_support",),
    ),
    Feature(
        name="days_late_90d",
        kind="need",
        source="attendance",
        aggregation="sum of days late",
        window_days=90,
        unit="count",
        direction=1,
        description_es="Retardos en los últimos 90 días",
        description_en="Days late over the last 90 days",
        reason_es=Plural(
            one="{value} retardo en los últimos 90 días",
            other="{value} retardos en los últimos 90 días",
        ),
        reason_en=Plural(
            one="Late {value} day in the last 90 days",
            other="Late {value} days in the last 90 days",
        ),
        referral_tags=_SCHOOL,
        factor="unexcused_absences",
    ),
    Feature(
        name="days_enrolled_90d",
        kind="need",
        source="attendance",
        aggregation="sum of days enrolled",
        window_days=90,
        unit="count",
        direction=-1,
        description_es="Días de inscripción escolar en los últimos 90 días",
        description_en="Days enrolled in school over the last 90 days",
        reason_es=Plural(
            one="{value} día inscrito en la escuela en los últimos 90 días",
            other="{value} días inscrito en la escuela en los últimos 90 días",
        ),
        reason_en=Plural(
            one="Enrolled in school {value} day in the last 90 days",
            other="Enrolled in school {value} days in the last 90 days",
        ),
        referral_tags=("school_reengagement",),
    ),
    # --- grades: terms that ended before as_of -----------------------------------------
    Feature(
        name="failed_subjects_last_term",
        kind="need",
        source="grades",
        aggregation="subjects graded under 6 in the latest term",
        window_days=None,
        unit="count",
        direction=1,
        description_es="Materias reprobadas en el último periodo",
        description_en="Subjects failed in the latest term",
        reason_es=Plural(
            one="{value} materia reprobada en el último periodo",
            other="{value} materias reprobadas en el último periodo",
        ),
        reason_en=Plural(
            one="Failed {value} subject in the latest term",
            other="Failed {value} subjects in the latest term",
        ),
        referral_tags=_TUTOR,
        factor="falling_grades",
    ),
    Feature(
        name="failed_subjects_365d",
        kind="need",
        source="grades",
        aggregation="subjects graded under 6",
        window_days=365,
        unit="count",
        direction=1,
        description_es="Materias reprobadas en el último año",
        description_en="Subjects failed over the last 365 days",
        reason_es=Plural(
            one="{value} materia reprobada en el último año",
            other="{value} materias reprobadas en el último año",
        ),
        reason_en=Plural(
            one="Failed {value} subject in the last year",
            other="Failed {value} subjects in the last year",
        ),
        referral_tags=_TUTOR,
        factor="falling_grades",
    ),
    Feature(
        name="failed_core_subject_last_term",
        kind="need",
        source="grades",
        aggregation="failed mathematics or Spanish in the latest term",
        window_days=None,
        unit="flag",
        direction=1,
        description_es="Reprobó matemáticas o español en el último periodo",
        description_en="Failed mathematics or Spanish in the latest term",
        reason_es="Reprobó matemáticas o español en el último periodo: {value}",
        reason_en="Failed mathematics or Spanish in the latest term: {value}",
        referral_tags=_TUTOR,
        factor="falling_grades",
    ),
    Feature(
        name="grade_mean_last_term",
        kind="need",
        source="grades",
        aggregation="mean grade in the latest term",
        window_days=None,
        unit="grade",
        direction=-1,
        description_es="Promedio del último periodo (0-10)",
        description_en="Mean grade in the latest term (0-10)",
        reason_es="Promedio de {value} en el último periodo",
        reason_en="Mean grade of {value} in the latest term",
        referral_tags=_TUTOR,
        factor="falling_grades",
    ),
    Feature(
        name="grade_mean_365d",
        kind="need",
        source="grades",
        aggregation="mean grade",
        window_days=365,
        unit="grade",
        direction=-1,
        description_es="Promedio del último año (0-10)",
        description_en="Mean grade over the last 365 days (0-10)",
        reason_es="Promedio de {value} en el último año",
        reason_en="Mean grade of {value} in the last year",
        referral_tags=_TUTOR,
        factor="falling_grades",
    ),
    Feature(
        name="grade_trend",
        kind="need",
        source="grades",
        aggregation="latest term mean - mean of the terms before it within 365 days",
        window_days=365,
        unit="grade",
        direction=-1,
        description_es="Cambio del promedio: último periodo frente a los anteriores",
        description_en="Change in mean grade: latest term against the terms before",
        # A grade is written with one decimal ("1,0"), which takes the plural in both languages.
        reason_es="El promedio cambió {value} puntos frente a periodos anteriores",
        reason_en="Mean grade changed by {value} points against earlier terms",
        referral_tags=_TUTOR,
        factor="falling_grades",
    ),
    # --- school incidents ---------------------------------------------------------------
    Feature(
        name="fights_90d",
        kind="need",
        source="school_incidents",
        aggregation="count of fights",
        window_days=90,
        unit="count",
        direction=1,
        description_es="Peleas registradas en la escuela en los últimos 90 días",
        description_en="Fights recorded at school over the last 90 days",
        reason_es=Plural(
            one="{value} pelea en la escuela en los últimos 90 días",
            other="{value} peleas en la escuela en los últimos 90 días",
        ),
        reason_en=Plural(
            one="{value} fight at school in the last 90 days",
            other="{value} fights at school in the last 90 days",
        ),
        referral_tags=_CONFLICT,
        factor="school_incidents",
    ),
    Feature(
        name="fights_365d",
        kind="need",
        source="school_incidents",
        aggregation="count of fights",
        window_days=365,
        unit="count",
        direction=1,
        description_es="Peleas registradas en la escuela en el último año",
        description_en="Fights recorded at school over the last 365 days",
        reason_es=Plural(
            one="{value} pelea en la escuela en el último año",
            other="{value} peleas en la escuela en el último año",
        ),
        reason_en=Plural(
            one="{value} fight at school in the last year",
            other="{value} fights at school in the last year",
        ),
        referral_tags=_CONFLICT,
        factor="school_incidents",
    ),
    Feature(
        name="incidents_90d",
        kind="need",
        source="school_incidents",
        aggregation="count of incidents of any category",
        window_days=90,
        unit="count",
        direction=1,
        description_es="Incidentes escolares en los últimos 90 días",
        description_en="School incidents over the last 90 days",
        reason_es=Plural(
            one="{value} incidente escolar en los últimos 90 días",
            other="{value} incidentes escolares en los últimos 90 días",
        ),
        reason_en=Plural(
            one="{value} school incident in the last 90 days",
            other="{value} school incidents in the last 90 days",
        ),
        referral_tags=_CONFLICT,
        factor="school_incidents",
    ),
    Feature(
        name="incidents_365d",
        kind="need",
        source="school_incidents",
        aggregation="count of incidents of any category",
        window_days=365,
        unit="count",
        direction=1,
        description_es="Incidentes escolares en el último año",
        description_en="School incidents over the last 365 days",
        reason_es=Plural(
            one="{value} incidente escolar en el último año",
            other="{value} incidentes escolares en el último año",
        ),
        reason_en=Plural(
            one="{value} school incident in the last year",
            other="{value} school incidents in the last year",
        ),
        referral_tags=_CONFLICT,
        factor="school_incidents",
    ),
    Feature(
        name="bullying_365d",
        kind="need",
        source="school_incidents",
        aggregation="count of bullying incidents",
        window_days=365,
        unit="count",
        direction=1,
        description_es="Incidentes de acoso escolar en el último año",
        description_en="Bullying incidents over the last 365 days",
        reason_es=Plural(
            one="{value} incidente de acoso escolar en el último año",
            other="{value} incidentes de acoso escolar en el último año",
        ),
        reason_en=Plural(
            one="{value} bullying incident in the last year",
            other="{value} bullying incidents in the last year",
        ),
        referral_tags=_CONFLICT,
        factor="school_incidents",
    ),
    Feature(
        name="serious_incidents_365d",
        kind="need",
        source="school_incidents",
        aggregation="count of severity-3 or weapon incidents",
        window_days=365,
        unit="count",
        direction=1,
        description_es="Incidentes graves (severidad 3 o con arma) en el último año",
        description_en="Serious incidents (severity 3 or a weapon) over the last 365 days",
        reason_es=Plural(
            one="{value} incidente grave en la escuela en el último año",
            other="{value} incidentes graves en la escuela en el último año",
        ),
        reason_en=Plural(
            one="{value} serious school incident in the last year",
            other="{value} serious school incidents in the last year",
        ),
        referral_tags=_CONFLICT,
        factor="school_incidents",
    ),
    Feature(
        name="substance_incidents_365d",
        kind="need",
        source="school_incidents",
        aggregation="count of substance incidents",
        window_days=365,
        unit="count",
        direction=1,
        description_es="Incidentes escolares por sustancias en el último año",
        description_en="Substance incidents at school over the last 365 days",
        reason_es=Plural(
            one="{value} incidente por consumo de sustancias en la escuela en el último año",
            other="{value} incidentes por consumo de sustancias en la escuela en el último año",
        ),
        reason_en=Plural(
            one="{value} substance-use incident at school in the last year",
            other="{value} substance-use incidents at school in the last year",
        ),
        referral_tags=_SUBSTANCE,
        factor="substance",
    ),
    Feature(
        name="suspension_days_365d",
        kind="need",
        source="school_incidents",
        aggregation="sum of suspension days",
        window_days=365,
        unit="count",
        direction=1,
        description_es="Días de suspensión en el último año",
        description_en="Days of suspension over the last 365 days",
        reason_es=Plural(
            one="{value} día de suspensión en el último año",
            other="{value} días de suspensión en el último año",
        ),
        reason_en=Plural(
            one="{value} day of suspension in the last year",
            other="{value} days of suspension in the last year",
        ),
        referral_tags=("school_reengagement", "restorative_mediation"),
        factor="school_incidents",
    ),
    Feature(
        name="days_since_last_incident",
        kind="need",
        source="school_incidents",
        aggregation="days from the latest incident to as_of",
        window_days=None,
        unit="days",
        direction=-1,
        description_es="Días desde el último incidente escolar",
        description_en="Days since the latest school incident",
        reason_es=Plural(
            one="{value} día desde el último incidente escolar",
            other="{value} días desde el último incidente escolar",
        ),
        reason_en=Plural(
            one="{value} day since the latest school incident",
            other="{value} days since the latest school incident",
        ),
        referral_tags=_CONFLICT,
        factor="school_incidents",
        missing_es=_NO_INCIDENT[0],
        missing_en=_NO_INCIDENT[1],
    ),
    # --- civic justice and probation: a record that stays ---------------------------------
    Feature(
        name="civic_infractions_365d",
        kind="history",
        source="justice_contacts",
        aggregation="count of civic infractions",
        window_days=365,
        unit="count",
        direction=1,
        description_es="Faltas cívicas registradas en el último año",
        description_en="Civic infractions recorded over the last 365 days",
        reason_es=Plural(
            one="{value} falta cívica registrada en el último año",
            other="{value} faltas cívicas registradas en el último año",
        ),
        reason_en=Plural(
            one="{value} civic infraction recorded in the last year",
            other="{value} civic infractions recorded in the last year",
        ),
        referral_tags=_JUSTICE,
        factor="civic_infractions",
    ),
    Feature(
        name="civic_infractions_total",
        kind="history",
        source="justice_contacts",
        aggregation="count of civic infractions",
        window_days=None,
        unit="count",
        direction=1,
        description_es="Faltas cívicas registradas en total",
        description_en="Civic infractions recorded in all",
        reason_es=Plural(
            one="{value} falta cívica registrada en total",
            other="{value} faltas cívicas registradas en total",
        ),
        reason_en=Plural(
            one="{value} civic infraction recorded in all",
            other="{value} civic infractions recorded in all",
        ),
        referral_tags=_JUSTICE,
        factor="civic_infractions",
    ),
    Feature(
        name="violence_contacts_365d",
        kind="history",
        source="justice_contacts",
        aggregation="count of contacts for violence",
        window_days=365,
        unit="count",
        direction=1,
        description_es="Contactos con la justicia cívica por violencia en el último año",
        description_en="Civic-justice contacts for violence over the last 365 days",
        reason_es=Plural(
            one="{value} contacto con la justicia cívica por violencia en el último año",
            other="{value} contactos con la justicia cívica por violencia en el último año",
        ),
        reason_en=Plural(
            one="{value} civic-justice contact for violence in the last year",
            other="{value} civic-justice contacts for violence in the last year",
        ),
        referral_tags=_JUSTICE,
        factor="civic_infractions",
    ),
    Feature(
        name="substance_contacts_365d",
        kind="history",
        source="justice_contacts",
        aggregation="count of contacts for substances",
        window_days=365,
        unit="count",
        direction=1,
        description_es="Contactos con la justicia cívica por sustancias en el último año",
        description_en="Civic-justice contacts for substances over the last 365 days",
        reason_es=Plural(
            one="{value} contacto con la justicia cívica por sustancias en el último año",
            other="{value} contactos con la justicia cívica por sustancias en el último año",
        ),
        reason_en=Plural(
            one="{value} civic-justice contact for substances in the last year",
            other="{value} civic-justice contacts for substances in the last year",
        ),
        referral_tags=_SUBSTANCE,
        factor="substance",
    ),
    Feature(
        name="mediation_dispositions_total",
        kind="history",
        source="justice_contacts",
        aggregation="count of mediation dispositions",
        window_days=None,
        unit="count",
        direction=0,
        description_es="Casos resueltos por mediación",
        description_en="Cases resolved through mediation",
        reason_es=Plural(
            one="{value} caso resuelto por mediación",
            other="{value} casos resueltos por mediación",
        ),
        reason_en=Plural(
            one="{value} case resolved through mediation",
            other="{value} cases resolved through mediation",
        ),
        referral_tags=("restorative_mediation",),
    ),
    Feature(
        name="detentions_total",
        kind="history",
        source="justice_contacts",
        aggregation="count of detentions",
        window_days=None,
        unit="count",
        direction=1,
        description_es="Detenciones registradas en total",
        description_en="Detentions recorded in all",
        reason_es=Plural(
            one="{value} detención registrada en total",
            other="{value} detenciones registradas en total",
        ),
        reason_en=Plural(
            one="{value} detention recorded in all",
            other="{value} detentions recorded in all",
        ),
        referral_tags=_JUSTICE,
        factor="civic_infractions",
    ),
    Feature(
        name="probation_active",
        kind="history",
        source="justice_contacts",
        aggregation="probation started and not ended at as_of",
        window_days=None,
        unit="flag",
        direction=1,
        description_es="Medida de libertad asistida vigente",
        description_en="Probation in force",
        reason_es="Medida de libertad asistida vigente: {value}",
        reason_en="Probation in force: {value}",
        referral_tags=("mentoring", "family_support"),
        factor="probation",
    ),
    Feature(
        name="probation_ever",
        kind="history",
        source="justice_contacts",
        aggregation="any probation started before as_of",
        window_days=None,
        unit="flag",
        direction=1,
        description_es="Ha tenido una medida de libertad asistida",
        description_en="Has ever been on probation",
        reason_es="Ha tenido una medida de libertad asistida: {value}",
        reason_en="Has ever been on probation: {value}",
        referral_tags=("mentoring", "family_support"),
        factor="probation",
    ),
    Feature(
        name="days_since_last_justice_contact",
        kind="history",
        source="justice_contacts",
        aggregation="days from the latest contact to as_of",
        window_days=None,
        unit="days",
        direction=-1,
        description_es="Días desde el último contacto con la justicia cívica",
        description_en="Days since the latest civic-justice contact",
        reason_es=Plural(
            one="{value} día desde el último contacto con la justicia cívica",
            other="{value} días desde el último contacto con la justicia cívica",
        ),
        reason_en=Plural(
            one="{value} day since the latest civic-justice contact",
            other="{value} days since the latest civic-justice contact",
        ),
        referral_tags=_JUSTICE,
        factor="civic_infractions",
        missing_es=_NO_CONTACT[0],
        missing_en=_NO_CONTACT[1],
    ),
    # --- prevention programmes ---------------------------------------------------------
    Feature(
        name="programs_completed_total",
        kind="need",
        source="programs",
        aggregation="programmes completed before as_of",
        window_days=None,
        unit="count",
        direction=-1,
        description_es="Programas de prevención concluidos",
        description_en="Prevention programmes completed",
        reason_es=Plural(
            one="{value} programa de prevención concluido",
            other="{value} programas de prevención concluidos",
        ),
        reason_en=Plural(
            one="Completed {value} prevention programme",
            other="Completed {value} prevention programmes",
        ),
        referral_tags=("mentoring",),
        factor="program_completion",
    ),
    Feature(
        name="programs_dropped_total",
        kind="need",
        source="programs",
        aggregation="programmes dropped before as_of",
        window_days=None,
        unit="count",
        direction=1,
        description_es="Programas de prevención abandonados",
        description_en="Prevention programmes dropped",
        reason_es=Plural(
            one="{value} programa de prevención abandonado",
            other="{value} programas de prevención abandonados",
        ),
        reason_en=Plural(
            one="Dropped {value} prevention programme",
            other="Dropped {value} prevention programmes",
        ),
        referral_tags=("mentoring", "family_support"),
        factor="program_dropout",
    ),
    Feature(
        name="program_active",
        kind="context",
        source="programs",
        aggregation="enrolled in a programme running at as_of",
        window_days=None,
        unit="flag",
        direction=0,
        description_es="Participa actualmente en un programa de prevención",
        description_en="Currently enrolled in a prevention programme",
        reason_es="Participa actualmente en un programa de prevención: {value}",
        reason_en="Currently enrolled in a prevention programme: {value}",
    ),
    Feature(
        name="program_attendance_rate",
        kind="need",
        source="programs",
        aggregation="sessions attended / offered in programmes that ended",
        window_days=None,
        unit="rate",
        direction=-1,
        description_es="Asistencia a sesiones de programas concluidos o abandonados",
        description_en="Attendance at sessions of programmes that ended",
        reason_es="Asistió al {value} de las sesiones de sus programas",
        reason_en="Attended {value} of the sessions of past programmes",
        referral_tags=("mentoring",),
        factor="program_completion",
    ),
    # --- school exits and age ----------------------------------------------------------
    Feature(
        name="dropped_out_before",
        kind="need",
        source="school_exits",
        aggregation="left school (dropped out) before as_of",
        window_days=None,
        unit="flag",
        direction=1,
        description_es="Dejó la escuela antes de la fecha de corte",
        description_en="Left school before the as-of date",
        reason_es="Dejó la escuela: {value}",
        reason_en="Left school: {value}",
        referral_tags=("school_reengagement", "family_support"),
    ),
    Feature(
        name="age",
        kind="context",
        source="youth",
        aggregation="age in whole years at as_of",
        window_days=None,
        unit="years",
        direction=0,
        description_es="Edad en años cumplidos",
        description_en="Age in whole years",
        reason_es=Plural(one="{value} año de edad", other="{value} años de edad"),
        reason_en=Plural(one="{value} year old", other="{value} years old"),
    ),
)

FEATURES_BY_NAME: dict[str, Feature] = {feature.name: feature for feature in FEATURES}


def features_for(tables: set[str] | frozenset[str]) -> tuple[Feature, ...]:
    """The features computable from the tables present (in registry order)."""
    return tuple(feature for feature in FEATURES if feature.source in tables)


def features_removed_by(table: str) -> tuple[Feature, ...]:
    """The features that an absent table takes away."""
    return tuple(feature for feature in FEATURES if feature.source == table)
