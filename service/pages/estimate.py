"""The caseworker's estimate from what they know: for each feature a value, "no record", or "I don't know".

The two answers a caseworker without a value can give mean different things:
"no tiene registro" is a fact (the school holds no grades, there was never a
suspension) and is scored as the data bundle scores it; "no lo sé" is an unknown,
marginalised over the training population, and the page shows how far it could
move the estimate. The form posts to the scoring path of ``POST /v1/scores``
(:func:`service.routes.scores.score_people`) with the caller's guard, so the
checks, the score and the audit entry are the API's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from service.model_store import LoadedModel
from service.pages.frame import Page, PageRoute, check_form, page_for
from service.pages.labels import label_of
from service.pages.views import contribution_bars, percent
from service.routes.scores import score_people
from service.schemas import ScoreOut, ScoreRequest

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CaseworkerPage = Annotated[Page, Depends(page_for("caseworker"))]
Choice = Literal["value", "no_record", "unknown"]
CHOICES: tuple[Choice, ...] = ("value", "no_record", "unknown")
PERSON_FIELDS = ("youth_id", "purpose", "municipality", "age")


@dataclass(frozen=True)
class FeatureField:
    """One feature's row of the form: its words, the caller's choice and value, and any problem."""

    name: str
    label: str
    choices: tuple[tuple[Choice, str], ...]  # (choice, its words)
    choice: Choice
    value: str
    problem: str | None = None


@router.get("/caseworker/estimate")
def estimate_form(page: CaseworkerPage) -> Response:
    """The empty form: every feature starts as "I don't know"."""
    model = page.guard.model()
    return _render(page, model, form={}, problems={})


@router.post("/caseworker/estimate")
async def estimate(page: CaseworkerPage) -> Response:
    """Score what the caseworker entered; problems are shown beside their fields."""
    form = await check_form(page)
    model = await run_in_threadpool(page.guard.model)
    features, unknown, problems = _read_features(page, model, form)
    if problems:
        await run_in_threadpool(page.guard.log, "refused", 422, detail="invalid_features")
        return _render(page, model, form=form, problems=problems, status=400)
    try:
        body = ScoreRequest(
            youth_id=form.get("youth_id", "").strip(),
            purpose=form.get("purpose", "").strip()[:64],
            municipality=form.get("municipality", "").strip(),
            age=int(form.get("age", "").strip()),
            features=features,
            unknown=unknown,
        )
    except (ValidationError, ValueError) as error:
        fields = (
            {str(item["loc"][0]) for item in error.errors()} if isinstance(error, ValidationError) else set()
        )
        wrong = [name for name in PERSON_FIELDS if name in fields] or ["age"]
        await run_in_threadpool(page.guard.log, "refused", 422, detail="invalid_request")
        return _render(
            page,
            model,
            form=form,
            problems={name: page.gettext("Check this field.") for name in wrong},
            status=400,
        )
    try:
        score = await run_in_threadpool(_score, page, model, body)
    except HTTPException as error:
        if error.status_code != 422 or not isinstance(error.detail, list):
            raise
        named = {str(item["loc"][-1]): str(item["msg"]) for item in error.detail}
        return _render(page, model, form=form, problems=named, status=400)
    return _render(page, model, form=form, problems={}, score=score)


def _score(page: Page, model: LoadedModel, body: ScoreRequest) -> ScoreOut:
    guard = page.guard
    guard.check_purpose(body.purpose, youth_ids=[body.youth_id], model=None)
    return score_people(guard, model, [body], purpose=body.purpose, locations=[("form",)])[0]


def _read_features(
    page: Page, model: LoadedModel, form: dict[str, str]
) -> tuple[dict[str, float | str | None], list[str], dict[str, str]]:
    """Values, unknown names and per-feature problems from the posted choices."""
    scoring = model.scoring
    features: dict[str, float | str | None] = {}
    unknown: list[str] = []
    problems: dict[str, str] = {}
    for name in scoring.feature_names:
        choice = form.get(f"choice:{name}", "unknown")
        raw = form.get(f"value:{name}", "").strip()
        if choice == "no_record":
            features[name] = None
        elif choice == "value":
            if not raw:
                problems[name] = page.gettext("Enter the value, or choose “no record” or “I don't know”.")
            elif name in scoring.categorical_levels:
                features[name] = raw
            else:
                try:
                    features[name] = float(raw.replace(",", "."))
                except ValueError:
                    problems[name] = page.gettext("Must be a number.")
        else:
            unknown.append(name)
    return features, unknown, problems


def _render(
    page: Page,
    model: LoadedModel,
    *,
    form: dict[str, str],
    problems: dict[str, str],
    score: ScoreOut | None = None,
    status: int = 200,
) -> Response:
    scoring = model.scoring
    registry = scoring.registry
    population = scoring.population
    fields = []
    for name in scoring.feature_names:
        never_missing = population is not None and population.never_missing(name)
        choices = tuple(
            # "no tiene registro" is a fact, scored as in the bundle; "no lo sé" is marginalised (a range)
            (choice, label_of("choice", choice, page.language))
            for choice in CHOICES
            if not (choice == "no_record" and never_missing)
        )
        chosen = form.get(f"choice:{name}", "unknown")
        feature = registry.get(name)
        fields.append(
            FeatureField(
                name=name,
                label=feature.description(page.language) if feature else name,
                choices=choices,
                choice=chosen if chosen in {choice for choice, _ in choices} else "unknown",
                value=form.get(f"value:{name}", ""),
                problem=problems.get(name),
            )
        )
    context: dict[str, Any] = {
        "fields": fields,
        "person": {name: form.get(name, "") for name in PERSON_FIELDS},
        "person_problems": {name: problems[name] for name in PERSON_FIELDS if name in problems},
        "has_problems": bool(problems),
        "score": score,
    }
    if score is not None:
        reasons, protective = contribution_bars(score)
        low, high = score.probability_range
        context |= {
            "probability": percent(score.probability, page.language),
            "low": percent(low, page.language),
            "high": percent(high, page.language),
            "reason_bars": reasons,
            "protective_bars": protective,
        }
    return page.render("estimate.html", status=status, **context)
