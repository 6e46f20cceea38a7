"""Live scores from supplied feature values: one young person (caseworker) or a batch (data scientist)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import APIRouter

from service.allocation_store import places_for
from service.deps import CaseworkerGuard, DataScientistGuard, Guard, on_event_loop
from service.model_store import LoadedModel
from service.responses import refusals
from service.results import Partial, enrolment_map, score_out
from service.schemas import BatchScoreOut, BatchScoreRequest, Person, ScoreOut, ScoreRequest
from service.scoring import FeatureProblem, explained_scores, feature_problems, unknown_features, values_row

router = APIRouter(tags=["scores"])

AFTER_A_SCORE = {
    "RecordFeedback": {
        "operationId": "record_feedback",
        "description": "Record what was done about this score: the referral made or declined, or the tier "
        "overridden (for a young person on the caller's caseload).",
        "requestBody": {
            "youth_id": "$response.body#/youth_id",
            "model_version": "$response.body#/model_version",
        },
    },
    "SnapshotScore": {
        "operationId": "snapshot_score",
        "description": "The same young person's score in the latest batch snapshot.",
        "parameters": {"path.youth_id": "$response.body#/youth_id"},
    },
}


@router.post(
    "/v1/scores",
    response_model=ScoreOut,
    summary="Score one young person from feature values (caseworker)",
    operation_id="score",
    responses=refusals(links=AFTER_A_SCORE),
)
async def score_one(body: ScoreRequest, guard: CaseworkerGuard) -> ScoreOut:
    """Probability, percentile and tier, with reasons, protective factors and referral suggestions.

    Send the features you know (GET /v1/model lists them). null means that no
    record exists, as in the data bundle; a feature you do not know goes in
    ``unknown`` (or is left out): its contribution becomes its expectation over
    the training population and ``probability_range`` shows how far its value
    could move the estimate. The purpose must be an allowed one: punitive
    purposes are refused and logged.
    """
    return await on_event_loop(guard, lambda deferring: _checked_one(body, deferring))


def _checked_one(body: ScoreRequest, guard: Guard) -> Callable[[], ScoreOut]:
    """The purpose, the model and the values checked and the access logged; what then answers."""
    ids = [body.youth_id]
    guard.check_purpose(body.purpose, youth_ids=ids, model=None)
    model = guard.model(purpose=body.purpose, youth_ids=ids)
    answer = checked_people(guard, model, [body], purpose=body.purpose, locations=[("body", "features")])
    guard.log("allowed", 200, purpose=body.purpose, youth_ids=ids, model=model)
    return lambda: answer()[0]


@router.post(
    "/v1/scores:batch",
    response_model=BatchScoreOut,
    summary="Score many young people at once (data scientist)",
    operation_id="score_batch",
    responses=refusals(),
)
def score_batch(body: BatchScoreRequest, guard: DataScientistGuard) -> BatchScoreOut:
    """The same scores as POST /v1/scores, in the order of ``items`` (at most 1,000)."""
    # A thread's route, unlike score_one: a thousand people scored on the event loop would hold every
    # other request (and /healthz) for a fifth of a second; here the hand-off is small beside the work.
    ids = [item.youth_id for item in body.items]
    guard.check_purpose(body.purpose, youth_ids=ids, model=None)
    model = guard.model(purpose=body.purpose, youth_ids=ids)
    locations = [("body", "items", index, "features") for index in range(len(body.items))]
    scores = score_people(guard, model, body.items, purpose=body.purpose, locations=locations)
    return BatchScoreOut(model_version=model.version, scores=scores)


def score_people(
    guard: Guard,
    model: LoadedModel,
    people: Sequence[Person],
    *,
    purpose: str,
    locations: Sequence[tuple[str | int, ...]],
) -> list[ScoreOut]:
    """Check every person's values against ``model``, score them in one pass, log, answer (in a thread)."""
    answers = checked_people(guard, model, people, purpose=purpose, locations=locations)()
    guard.log("allowed", 200, purpose=purpose, youth_ids=[person.youth_id for person in people], model=model)
    return answers


def checked_people(
    guard: Guard,
    model: LoadedModel,
    people: Sequence[Person],
    *,
    purpose: str,
    locations: Sequence[tuple[str | int, ...]],
) -> Callable[[], list[ScoreOut]]:
    """Check every person's values against ``model`` (a 422, logged, names each invalid one).

    Returns what scores them all in one pass; the caller logs the access.
    """
    ids = [person.youth_id for person in people]
    problems: list[tuple[tuple[str | int, ...], FeatureProblem]] = [
        (location, problem)
        for person, location in zip(people, locations, strict=True)
        for problem in feature_problems(
            model.scoring, person.features, age=person.age, unknown=person.unknown
        )
    ]
    if problems:
        guard.invalid(problems, purpose=purpose, youth_ids=ids, model=model)
    return lambda: _answers(guard, model, people)


def _answers(guard: Guard, model: LoadedModel, people: Sequence[Person]) -> list[ScoreOut]:
    """Scores, reasons, protective factors and referrals for people whose values were checked."""
    scoring = model.scoring
    rows = [values_row(scoring, person.features, age=person.age) for person in people]
    unknown = [
        unknown_features(scoring, person.features, person.unknown, age=person.age) for person in people
    ]
    masks = [[name in listed for name in scoring.feature_names] for listed in map(set, unknown)]
    settings = guard.state.settings
    reference = guard.state.snapshots.reference_for(model.sha256)
    scores = explained_scores(
        scoring, rows, masks, reference=reference, language=guard.language, top=settings.top_reasons
    )
    places = places_for(guard.state.snapshots, [person.youth_id for person in people])
    return [
        score_out(
            youth_id=person.youth_id,
            model_version=model.version,
            probability=score.probability,
            percentile=score.percentile,
            reference=score.reference,
            tier=score.tier,
            reasons=score.reasons,
            partial=Partial(
                low=score.low,
                high=score.high,
                unknown=tuple(names),
                most_informative=score.most_informative,
                tiers=scoring.tiers,
                registry=scoring.registry,
            ),
            catalog=guard.state.catalog,
            age=person.age,
            municipality=person.municipality,
            enrolments=enrolment_map(person.programs),
            language=guard.language,
            max_referrals=settings.max_referrals,
            places=places.get(person.youth_id),
        )
        for person, score, names in zip(people, scores, unknown, strict=True)
    ]
