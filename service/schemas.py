"""Request and response bodies of the API, with the examples that make /docs a usable manual.

These are the wire format only: storage lives in :mod:`service.audit_log` and
:mod:`service.snapshots`. Every request model forbids unknown fields, numbers
must be finite, and text has a length limit, so a malformed body is a 422
naming the field before any code reads it.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    Strict,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from service.tokens import Role

MAX_BATCH = 1000
MAX_FEATURES = 500
MAX_REASON_LENGTH = 1000

YouthId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"),
    Field(
        description="The pseudonymous id of the young person (never a name or CURP).", examples=["Y000123"]
    ),
]
Purpose = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    Field(
        description="Why the score is asked for; one of the service's allowed purposes "
        "(default: referral_planning, case_review, program_evaluation). Punitive purposes are refused.",
        examples=["referral_planning"],
    ),
]
FeatureName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
MAX_LEVEL_LENGTH = 100
NOT_A_FEATURE_VALUE = "must be a finite number, a text level (at most 100 characters) or null"


def _feature_value(value: object) -> float | str | None:
    """One error per bad value (a plain union would report one per branch), and no bools or NaN."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            raise ValueError(NOT_A_FEATURE_VALUE) from None
        if math.isfinite(number):
            return number
    if isinstance(value, str) and len(value) <= MAX_LEVEL_LENGTH:
        return value
    raise ValueError(NOT_A_FEATURE_VALUE)


def _whole_number(value: object) -> object:
    """An integer, or a number with no fraction (JSON Schema's integer: 15.0 is 15); never text or a bool."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


FeatureValue = Annotated[
    float | str | None,
    PlainValidator(_feature_value),
    WithJsonSchema(
        {"anyOf": [{"type": "number"}, {"type": "string", "maxLength": MAX_LEVEL_LENGTH}, {"type": "null"}]}
    ),
]
Tier = Literal["universal", "selective", "indicated"]
Language = Literal["es", "en"]

EXAMPLE_FEATURES: dict[str, Any] = {
    "attendance_rate_90d": 0.71,
    "unexcused_absences_90d": 9,
    "failed_subjects_last_term": 3,
    "fights_365d": 2,
    "days_since_last_justice_contact": None,
}
EXAMPLE_UNKNOWN: list[Any] = ["grade_mean_365d"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Enrolment(_Request):
    """A programme the young person is in, finished or left (catalog id)."""

    program: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(examples=["mentoria"])
    status: Literal["active", "completed", "dropped"]


class Person(_Request):
    """One young person's feature values, as of today, with what referrals need to know."""

    youth_id: YouthId
    features: Annotated[dict[FeatureName, FeatureValue], Field(max_length=MAX_FEATURES)] = Field(
        description="Feature values of the served model by name (see GET /v1/model: feature_names), "
        "in the registry's units (rates as 0-1). null means that no record exists (never suspended, no "
        "grades on file), which the model reads as such; a feature never missing in training cannot be "
        "null. A feature left out is unknown (see unknown).",
        examples=[EXAMPLE_FEATURES],
    )
    unknown: Annotated[list[FeatureName], Field(max_length=MAX_FEATURES)] = Field(
        default_factory=list,
        description="Features whose value the caller does not know ('I don't know', not 'no record'). "
        "Features left out of features count as unknown too; listing them says so explicitly. The "
        "request's age is the age feature, so age is never unknown. Their "
        "contributions are replaced by their expectation over the training population, and "
        "probability_range gives every estimate their values could lead to.",
        examples=[EXAMPLE_UNKNOWN],
    )
    municipality: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        examples=["Villa Zaragoza"]
    )
    age: Annotated[int, Field(ge=0, le=30), BeforeValidator(_whole_number), Strict()] = Field(
        description="Age in whole years.", examples=[15]
    )
    programs: Annotated[list[Enrolment], Field(max_length=50)] = Field(
        default_factory=list, description="Programmes already active, completed or dropped."
    )


class ScoreRequest(Person):
    """Score one young person (role: caseworker)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "youth_id": "Y000123",
                    "purpose": "referral_planning",
                    "features": EXAMPLE_FEATURES,
                    "unknown": EXAMPLE_UNKNOWN,
                    "municipality": "Villa Zaragoza",
                    "age": 15,
                    "programs": [{"program": "deporte_y_cultura", "status": "completed"}],
                }
            ]
        },
    )

    purpose: Purpose


class BatchScoreRequest(_Request):
    """Score many young people at once (role: data_scientist)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "purpose": "program_evaluation",
                    "items": [
                        {
                            "youth_id": "Y000123",
                            "features": EXAMPLE_FEATURES,
                            "unknown": EXAMPLE_UNKNOWN,
                            "municipality": "Villa Zaragoza",
                            "age": 15,
                        }
                    ],
                }
            ]
        },
    )

    purpose: Purpose
    items: Annotated[list[Person], Field(min_length=1, max_length=MAX_BATCH)]


class ReasonOut(BaseModel):
    """One fact behind a score, worded for people."""

    feature: str = Field(examples=["unexcused_absences_90d"])
    factor: str | None = Field(None, examples=["unexcused_absences"])
    value: float | str | None = Field(examples=[9])
    contribution: float = Field(
        description="Effect on the estimate in logit units: positive raises it, negative lowers it.",
        examples=[0.42],
    )
    sentence: str = Field(examples=["9 faltas injustificadas en los últimos 90 días"])


class ReferralOut(BaseModel):
    """A programme suggestion and the reasons that led to it."""

    program: str = Field(examples=["reinsercion_escolar"])
    name: str = Field(examples=["Reinserción escolar"])
    description: str | None = None
    capacity: int = Field(description="Places per cycle in the catalog.", examples=[60])
    place: Literal["offered", "waiting", "declined", "withdrawn", "open", "full"] = Field(
        "open",
        description="Whether a place exists, after the latest `previ allocate` cycle: 'offered' (this young "
        "person holds one), 'waiting' (on its waiting list), 'declined' (they turned down the place offered; "
        "it went to the next in line), 'withdrawn' (they left its waiting list), 'open' (places left "
        "unoffered, or no cycle allocated yet) or 'full'.",
    )
    waiting_position: int | None = Field(None, description="Place on the waiting list (1 = next).")
    cycle: str | None = Field(None, description="The allocation cycle the place refers to.")
    weight: float = Field(description="Summed contribution of the reasons it answers (logit units).")
    reasons: list[ReasonOut]


class ScoreOut(BaseModel):
    """An explained estimate of the need for prevention support: a prompt for support, never a sanction."""

    youth_id: str
    model_version: str
    probability: float = Field(
        description="Calibrated probability of the adverse outcome within the horizon.", examples=[0.18]
    )
    percentile: float = Field(
        description="Share (0-100) of the reference population with an estimate at or below this one.",
        examples=[91.5],
    )
    percentile_reference: Literal["model", "snapshot"] = Field(
        description="'snapshot': the latest batch population scored by this model; 'model': its test fold."
    )
    tier: Tier = Field(examples=["selective"])
    probability_range: tuple[float, float] = Field(
        description="The lowest and highest probability the unknown features' values could give "
        "(both equal to probability when nothing is unknown).",
        examples=[[0.08, 0.31]],
    )
    unknown_features: list[str] = Field(
        default_factory=list,
        description="The features scored as unknown (listed in unknown, or left out), in model order. "
        "Each contributes its expectation over the training population, not conditioned on the known "
        "values.",
    )
    tier_uncertain: bool = Field(
        False, description="True when probability_range crosses a tier cut-off: get the data before deciding."
    )
    possible_tiers: list[Tier] = Field(
        default_factory=list, description="Every tier a value within probability_range falls in."
    )
    most_informative_unknown: str | None = Field(
        None, description="The unknown feature whose value would narrow probability_range most (expected)."
    )
    range_note: str | None = Field(
        None,
        description="The range in one sentence, in the response language (null when nothing is unknown).",
    )
    reasons: list[ReasonOut] = Field(
        description="What most raised the estimate, strongest first: needs and history with a recorded value."
    )
    protective_factors: list[ReasonOut] = Field(
        description="What most lowered it, strongest first: needs and history with a recorded value."
    )
    context: list[ReasonOut] = Field(
        default_factory=list, description="Given facts (age) the estimate takes into account; never a reason."
    )
    data_gaps: list[ReasonOut] = Field(
        default_factory=list,
        description="Missing values that moved the estimate: check the record. "
        "Never a reason or a referral basis.",
    )
    referrals: list[ReferralOut] = Field(description="Suggested programmes, strongest first.")
    note: str = Field(description="How to read the score, in the response language.")
    language: Language
    as_of: dt.date | None = Field(None, description="For a snapshot score: the date its features describe.")
    snapshot_id: int | None = None


class BatchScoreOut(BaseModel):
    model_version: str
    scores: list[ScoreOut] = Field(description="In the order of the request's items.")


class ModelOut(BaseModel):
    version: str = Field(examples=["3"])
    sha256: str
    source: str = Field(examples=["models:/previ-risk@champion"])
    kind: str = Field(examples=["glassbox"])
    feature_names: list[str]
    loaded_at: dt.datetime
    card: dict[str, Any]


ProgramId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    Field(description="A programme of the service's catalog, by id.", examples=["reinsercion_escolar"]),
]
Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_REASON_LENGTH, pattern=r"\S"),
    AfterValidator(str.strip),
    Field(
        description="Why the tier was changed, not blank; no names or identifying details, please. "
        "Stored without leading or trailing spaces.",
        examples=["Ya recibe acompañamiento del DIF municipal."],
    ),
]
ModelVersion = Annotated[
    str,
    StringConstraints(max_length=64),
    Field(description="The model version the score came from; default: the one served now."),
]


class _Feedback(_Request):
    youth_id: YouthId
    program: ProgramId | None = None
    tier: Tier | None = None
    reason: Reason | None = None
    model_version: ModelVersion | None = None


class ReferralFeedback(_Feedback):
    """A referral made or declined: it names the programme."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [{"youth_id": "Y000123", "kind": "referral_made", "program": "reinsercion_escolar"}]
        },
    )

    kind: Literal["referral_made", "referral_declined"]
    program: ProgramId


class TierOverride(_Feedback):
    """The caseworker sets another tier, and says why."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "youth_id": "Y000123",
                    "kind": "tier_overridden",
                    "tier": "universal",
                    "reason": "Ya recibe acompañamiento del DIF municipal.",
                }
            ]
        },
    )

    kind: Literal["tier_overridden"]
    tier: Tier = Field(description="The tier the caseworker sets.")
    reason: Reason


FeedbackIn = Annotated[
    ReferralFeedback | TierOverride,
    Field(
        discriminator="kind",
        description="What the caseworker did with a score (role: caseworker): by kind, a referral "
        "(programme required) or a tier override (tier and reason required).",
    ),
]
FEEDBACK: TypeAdapter[ReferralFeedback | TierOverride] = TypeAdapter(FeedbackIn)
"""Reads a feedback from fields (the web page's form): ``FEEDBACK.validate_python(fields)``."""


class FeedbackOut(BaseModel):
    id: int
    recorded_at: dt.datetime


Outcome = Literal["allowed", "refused"]


class AuditEntryOut(BaseModel):
    id: int
    at: dt.datetime
    token_id: str | None
    role: str | None
    purpose: str | None
    youth_pseudonym: str | None = Field(description="Keyed hash of the youth id (never the id).")
    model_version: str | None
    endpoint: str
    method: str
    outcome: Outcome
    status: int
    detail: str | None
    justification: str | None = Field(None, description="Why a look-up outside the caseload was made.")
    count: int = Field(
        1, description="Requests this entry stands for (refusals without a token: per minute)."
    )


class AuditLogOut(BaseModel):
    entries: list[AuditEntryOut] = Field(description="Newest first.")
    next_before_id: int | None = Field(description="Pass as before_id for the next page; null at the end.")


class ReloadOut(BaseModel):
    version: str
    previous_version: str | None
    changed: bool


class Health(BaseModel):
    status: Literal["ok", "ready"]
    model_version: str | None = None


class ErrorOut(BaseModel):
    """A refusal, in one sentence in the response language."""

    detail: str


class ValidationProblem(BaseModel):
    """One invalid field: where it is, what is wrong, and the kind of problem; never its value."""

    loc: list[str | int] = Field(
        description="Where: body, query or path, then the field's path.", examples=[["body", "age"]]
    )
    msg: str = Field(description="What is wrong, in the response language.")
    type: str = Field(description="The kind of problem (pydantic's error types, and a few of previ's).")


class ValidationErrorOut(BaseModel):
    """Every problem of an invalid request at once."""

    detail: list[ValidationProblem]


class CaseloadOut(BaseModel):
    """The young people on the caller's caseload, by id: no scores, and in no ranked order."""

    youth_ids: list[str] = Field(description="Sorted by id.", examples=[["Y000123"]])


ROLE_DESCRIPTIONS: dict[Role, str] = {
    "caseworker": "scores one young person, reads snapshot scores, records feedback",
    "program_manager": "reads the fairness audit",
    "data_scientist": "scores batches, reloads the model",
    "auditor": "reads the audit log",
}
