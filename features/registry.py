"""The feature registry: every feature declared once.

A declaration carries everything the rest of previ reads about a feature: its
*kind* (what a caseworker can do about it), the source table it needs, how it
aggregates and over which window, its unit, the expected direction of its effect
(used as the glass box's monotone constraint), a description and a neutral
reason sentence, the referral tags it points to and the *factor* it measures.
Reason sentences state a fact with its value ("7 unexcused absences in the last
90 days"); whether that fact raised or lowered the need is for the explanation
to say.

Descriptions and sentences are English message ids, translated by the gettext
catalogs (:mod:`previ.i18n`): "7 faltas injustificadas en los últimos 90 días".
A counted sentence is a :class:`Plural`, whose form is chosen by the catalog's
plural rule for the number as written ("1 falta", "2 faltas").

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
from functools import lru_cache
from typing import Final, Literal

from previ.i18n import N_, Language, Plural, translation

__all__ = [
    "FEATURES",
    "FEATURES_BY_NAME",
    "KINDS",
    "PROTECTIVE_FACTORS",
    "REASON_KINDS",
    "REFERRAL_TAGS",
    "RISK_FACTORS",
    "UNITS",
    "Feature",
    "Kind",
    "Language",
    "Plural",
    "Unit",
    "features_for",
    "features_removed_by",
    "format_value",
]

Direction = Literal[-1, 0, 1]
Unit = Literal["count", "days", "rate", "grade", "flag", "years", "points"]
Kind = Literal["need", "history", "context"]

KINDS: tuple[Kind, ...] = ("need", "history", "context")
# Kinds whose recorded values may be a score's reasons, protective factors and referral basis.
REASON_KINDS: frozenset[str] = frozenset({"need", "history"})
# What each unit measures, in words (a value out of its range is refused naming it).
UNITS: Final[dict[str, str]] = {
    "count": N_("a count"),
    "days": N_("days"),
    "rate": N_("a share from 0 to 1"),
    "grade": N_("grade points"),
    "flag": N_("yes (1) or no (0)"),
    "years": N_("years"),
    "points": N_("a change in share, from -1 to 1"),
}

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
NO_RECORD = N_("No record: {description}")


@dataclass(frozen=True, kw_only=True)
class Feature:
    """One feature of the point-in-time matrix, declared by keyword.

    ``window_days`` is the look-back window ending just before ``as_of`` (None:
    all history before ``as_of``, or a state as it stood at ``as_of``).
    ``direction`` is +1 when a higher value raises the need for support, -1 when
    it protects, 0 when unknown; the glass box uses it as a monotone constraint.
    ``description_text`` and ``reason_text`` are English message ids (see the
    module's docstring); ``reason_text`` holds ``{value}`` and, for counted
    units, is a :class:`Plural` so that "1 falta" and "2 faltas" both read right.
    ``missing_text`` says what an absent value means where it is a fact rather
    than a gap (no incident ever: "days since the last incident" is empty);
    otherwise the gap reads "No record: <description>".
    """

    name: str
    kind: Kind
    source: str
    aggregation: str
    window_days: int | None
    unit: Unit
    direction: Direction
    description_text: str
    reason_text: str | Plural
    referral_tags: tuple[str, ...] = ()
    factor: str | None = None
    missing_text: str | None = None

    def description(self, language: Language) -> str:
        return translation(language).gettext(self.description_text)

    def reason(self, value: float | None, language: Language) -> str:
        """The reason sentence with the value filled in; what a missing value means when there is none."""
        if value is None or value != value:  # None or NaN: the template would read "Promedio de sin dato"
            return self.missing(language)
        text = format_value(value, self.unit, language)
        template = self.reason_text
        if isinstance(template, Plural):  # the form agrees with the number as written ("1", "+1", "1.234")
            return template.text(_count(text), language, value=text)
        return translation(language).gettext(template).format(value=text)

    def missing(self, language: Language) -> str:
        """What an absent value says: the declared meaning, else "No record: <description>"."""
        texts = translation(language)
        if self.missing_text:
            return texts.gettext(self.missing_text)
        description = self.description(language)
        return texts.gettext(NO_RECORD, description=description[:1].lower() + description[1:])


def format_value(value: float | None, unit: Unit, language: Language) -> str:
    """Write a feature value for people in the language's locale: counts as integers, rates as percentages.

    Values are rounded as they are written, and each written form is kept
    (there are few: whole counts, rates to the percent), so wording a large
    batch costs a dictionary look-up per value.
    """
    if value is None or value != value:  # None or NaN
        return translation(language).gettext("no data")
    return _written(unit, language, _as_written(value, unit))


def _as_written(value: float, unit: Unit) -> float:
    """``value`` rounded to what its unit writes, without the "-0" a tiny negative number would print."""
    digits = {"rate": 2, "grade": 1}.get(unit, 0)
    scaled = 100 * value if unit == "points" else value
    return round(scaled, digits) + 0.0


@lru_cache(maxsize=65_536)
def _written(unit: Unit, language: Language, value: float) -> str:
    texts = translation(language)
    if unit == "rate":
        return texts.percent(value)
    if unit == "points":
        return ("+" if value > 0 else "") + texts.integer(int(value))
    if unit == "grade":
        return texts.decimal(value, 1)
    if unit == "flag":
        return texts.gettext("yes") if value else texts.gettext("no")
    return texts.integer(int(value))


def _count(written: str) -> int:
    """The whole number a written value shows, for the plural rule: "+1" -> 1, "1.234" -> 1234."""
    digits = "".join(character for character in written if character.isdigit())
    return int(digits) if digits else 0


_SCHOOL = ("school_reengagement", "family_support")
_TUTOR = ("tutoring",)
_CONFLICT = ("restorative_mediation", "mentoring")
_SUBSTANCE = ("substance_prevention", "family_support")
_JUSTICE = ("restorative_mediation", "mentoring", "family_support")
_NO_INCIDENT = N_("No school incident on record")
_NO_CONTACT = N_("No civic-justice contact on record")

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
        description_text=N_("Attendance rate over the last 90 days"),
        reason_text=N_("Attended {value} of school days in the last 90 days"),
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
        description_text=N_("Attendance rate over the last 365 days"),
        reason_text=N_("Attended {value} of school days in the last year"),
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
        description_text=N_("Change in attendance: last 90 days against the 9 months before"),
        reason_text=Plural(
            "Attendance changed by {value} point against the months before",
            "Attendance changed by {value} points against the months before",
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
        description_text=N_("Unexcused absences over the last 90 days"),
        reason_text=Plural(
            "{value} unexcused absence in the last 90 days",
            "{value} unexcused absences in the last 90 days",
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
        description_text=N_("Unexcused absences over the last 365 days"),
        reason_text=Plural(
            "{value} unexcused absence in the last year",
            "{value} unexcused absences in the last year",
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
        description_text=N_("Excused absences over the last 90 days"),
        reason_text=Plural(
            "{value} excused absence in the last 90 days",
            "{value} excused absences in the last 90 days",
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
        description_text=N_("Days late over the last 90 days"),
        reason_text=Plural(
            "Late {value} day in the last 90 days",
            "Late {value} days in the last 90 days",
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
        description_text=N_("Days enrolled in school over the last 90 days"),
        reason_text=Plural(
            "Enrolled in school {value} day in the last 90 days",
            "Enrolled in school {value} days in the last 90 days",
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
        description_text=N_("Subjects failed in the latest term"),
        reason_text=Plural(
            "Failed {value} subject in the latest term",
            "Failed {value} subjects in the latest term",
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
        description_text=N_("Subjects failed over the last 365 days"),
        reason_text=Plural(
            "Failed {value} subject in the last year",
            "Failed {value} subjects in the last year",
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
        description_text=N_("Failed mathematics or Spanish in the latest term"),
        reason_text=N_("Failed mathematics or Spanish in the latest term: {value}"),
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
        description_text=N_("Mean grade in the latest term (0-10)"),
        reason_text=N_("Mean grade of {value} in the latest term"),
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
        description_text=N_("Mean grade over the last 365 days (0-10)"),
        reason_text=N_("Mean grade of {value} in the last year"),
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
        description_text=N_("Change in mean grade: latest term against the terms before"),
        # A grade is written with one decimal ("1,0"), which takes the plural in both languages.
        reason_text=N_("Mean grade changed by {value} points against earlier terms"),
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
        description_text=N_("Fights recorded at school over the last 90 days"),
        reason_text=Plural(
            "{value} fight at school in the last 90 days",
            "{value} fights at school in the last 90 days",
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
        description_text=N_("Fights recorded at school over the last 365 days"),
        reason_text=Plural(
            "{value} fight at school in the last year",
            "{value} fights at school in the last year",
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
        description_text=N_("School incidents over the last 90 days"),
        reason_text=Plural(
            "{value} school incident in the last 90 days",
            "{value} school incidents in the last 90 days",
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
        description_text=N_("School incidents over the last 365 days"),
        reason_text=Plural(
            "{value} school incident in the last year",
            "{value} school incidents in the last year",
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
        description_text=N_("Bullying incidents over the last 365 days"),
        reason_text=Plural(
            "{value} bullying incident in the last year",
            "{value} bullying incidents in the last year",
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
        description_text=N_("Serious incidents (severity 3 or a weapon) over the last 365 days"),
        reason_text=Plural(
            "{value} serious school incident in the last year",
            "{value} serious school incidents in the last year",
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
        description_text=N_("Substance incidents at school over the last 365 days"),
        reason_text=Plural(
            "{value} substance-use incident at school in the last year",
            "{value} substance-use incidents at school in the last year",
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
        description_text=N_("Days of suspension over the last 365 days"),
        reason_text=Plural(
            "{value} day of suspension in the last year",
            "{value} days of suspension in the last year",
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
        description_text=N_("Days since the latest school incident"),
        reason_text=Plural(
            "{value} day since the latest school incident",
            "{value} days since the latest school incident",
        ),
        referral_tags=_CONFLICT,
        factor="school_incidents",
        missing_text=_NO_INCIDENT,
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
        description_text=N_("Civic infractions recorded over the last 365 days"),
        reason_text=Plural(
            "{value} civic infraction recorded in the last year",
            "{value} civic infractions recorded in the last year",
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
        description_text=N_("Civic infractions recorded in all"),
        reason_text=Plural(
            "{value} civic infraction recorded in all",
            "{value} civic infractions recorded in all",
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
        description_text=N_("Civic-justice contacts for violence over the last 365 days"),
        reason_text=Plural(
            "{value} civic-justice contact for violence in the last year",
            "{value} civic-justice contacts for violence in the last year",
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
        description_text=N_("Civic-justice contacts for substances over the last 365 days"),
        reason_text=Plural(
            "{value} civic-justice contact for substances in the last year",
            "{value} civic-justice contacts for substances in the last year",
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
        description_text=N_("Cases resolved through mediation"),
        reason_text=Plural(
            "{value} case resolved through mediation",
            "{value} cases resolved through mediation",
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
        description_text=N_("Detentions recorded in all"),
        reason_text=Plural(
            "{value} detention recorded in all",
            "{value} detentions recorded in all",
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
        description_text=N_("Probation in force"),
        reason_text=N_("Probation in force: {value}"),
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
        description_text=N_("Has ever been on probation"),
        reason_text=N_("Has ever been on probation: {value}"),
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
        description_text=N_("Days since the latest civic-justice contact"),
        reason_text=Plural(
            "{value} day since the latest civic-justice contact",
            "{value} days since the latest civic-justice contact",
        ),
        referral_tags=_JUSTICE,
        factor="civic_infractions",
        missing_text=_NO_CONTACT,
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
        description_text=N_("Prevention programmes completed"),
        reason_text=Plural(
            "Completed {value} prevention programme",
            "Completed {value} prevention programmes",
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
        description_text=N_("Prevention programmes dropped"),
        reason_text=Plural(
            "Dropped {value} prevention programme",
            "Dropped {value} prevention programmes",
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
        description_text=N_("Currently enrolled in a prevention programme"),
        reason_text=N_("Currently enrolled in a prevention programme: {value}"),
    ),
    Feature(
        name="program_attendance_rate",
        kind="need",
        source="programs",
        aggregation="sessions attended / offered in programmes that ended",
        window_days=None,
        unit="rate",
        direction=-1,
        description_text=N_("Attendance at sessions of programmes that ended"),
        reason_text=N_("Attended {value} of the sessions of past programmes"),
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
        description_text=N_("Left school before the as-of date"),
        reason_text=N_("Left school: {value}"),
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
        description_text=N_("Age in whole years"),
        reason_text=Plural(
            "{value} year old",
            "{value} years old",
        ),
    ),
)

FEATURES_BY_NAME: dict[str, Feature] = {feature.name: feature for feature in FEATURES}


def features_for(tables: set[str] | frozenset[str]) -> tuple[Feature, ...]:
    """The features computable from the tables present (in registry order)."""
    return tuple(feature for feature in FEATURES if feature.source in tables)


def features_removed_by(table: str) -> tuple[Feature, ...]:
    """The features that an absent table takes away."""
    return tuple(feature for feature in FEATURES if feature.source == table)
