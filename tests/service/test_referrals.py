"""Referral suggestions: ranked by the reasons they answer, filtered by who can join."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from models.reasons import Reason
from service.catalog import Catalog, load_catalog
from service.referrals import EnrolmentStatus, suggest_referrals


def _reason(feature: str, contribution: float, *tags: str) -> Reason:
    direction = "raises" if contribution > 0 else "lowers"
    return Reason(feature, 1.0, contribution, direction, f"{feature} sentence", None, tags)


def _catalog(*programmes: dict[str, object]) -> Catalog:
    base = {"name": {"es": "x", "en": "x"}, "ages": [11, 19], "municipalities": "all", "capacity": 10}
    return Catalog.model_validate({"version": "t", "programs": [{**base, **p} for p in programmes]})


CATALOG = _catalog(
    {"id": "tutoria", "referral_tags": ["tutoring"]},
    {"id": "escuela", "referral_tags": ["school_reengagement"]},
    {"id": "familia", "referral_tags": ["family_support"], "ages": [11, 14]},
    {"id": "mediacion", "referral_tags": ["restorative_mediation"], "municipalities": ["Cuautempan"]},
    {"id": "mentoria", "referral_tags": ["mentoring"], "capacity": 0},
)
REASONS = [
    _reason("unexcused_absences_90d", 0.5, "school_reengagement", "family_support"),
    _reason("failed_subjects_last_term", 0.3, "tutoring"),
    _reason("grade_mean_last_term", 0.25, "tutoring"),
    _reason("fights_365d", 0.2, "restorative_mediation", "mentoring"),
    _reason("attendance_rate_365d", -0.9, "school_reengagement"),
]


def _ids(reasons: list[Reason], **kwargs: object) -> list[str]:
    options = {"age": 13, "municipality": "Cuautempan", "enrolments": {}, "top": 10, **kwargs}
    return [s.programme.id for s in suggest_referrals(reasons, CATALOG, **options)]  # type: ignore[arg-type]


def test_programmes_rank_by_the_summed_contribution_of_the_reasons_they_answer() -> None:
    suggestions = suggest_referrals(
        REASONS, CATALOG, age=13, municipality="Cuautempan", enrolments={}, top=10
    )
    assert [(s.programme.id, round(s.weight, 6)) for s in suggestions] == [
        ("tutoria", 0.55),
        ("escuela", 0.5),
        ("familia", 0.5),
        ("mediacion", 0.2),
    ]
    assert [r.feature for r in suggestions[0].reasons] == [
        "failed_subjects_last_term",
        "grade_mean_last_term",
    ]


def test_protective_factors_never_lead_to_a_referral() -> None:
    assert _ids([_reason("attendance_rate_365d", -0.9, "school_reengagement")]) == []


def test_age_municipality_and_closed_capacity_are_respected() -> None:
    assert "familia" not in _ids(REASONS, age=16)
    assert "mediacion" not in _ids(REASONS, municipality="Villa Zaragoza")
    assert "mentoria" not in _ids(REASONS)


def test_active_and_completed_programmes_are_skipped_but_dropped_ones_offered_again() -> None:
    assert _ids(REASONS, enrolments={"tutoria": "active", "escuela": "completed"}) == ["familia", "mediacion"]
    assert _ids(REASONS, enrolments={"tutoria": "dropped"})[0] == "tutoria"


def test_ties_are_broken_by_programme_id_and_top_limits_the_list() -> None:
    assert _ids(REASONS, top=3) == ["tutoria", "escuela", "familia"]


def test_the_default_catalog_answers_every_registry_tag() -> None:
    from features.registry import REFERRAL_TAGS

    catalog = load_catalog()
    covered = {tag for programme in catalog.programs for tag in programme.referral_tags}
    assert covered == set(REFERRAL_TAGS)


TAGS = ("tutoring", "school_reengagement", "family_support", "restorative_mediation", "mentoring")


@settings(max_examples=200, deadline=None)
@given(
    reasons=st.lists(
        st.builds(
            _reason,
            st.sampled_from(["a", "b", "c", "d"]),
            st.floats(min_value=-1.0, max_value=1.0, allow_nan=False),
            *(st.sampled_from(TAGS) for _ in range(2)),
        ),
        max_size=6,
    ),
    age=st.integers(min_value=10, max_value=20),
    municipality=st.sampled_from(["Cuautempan", "Tlalpan"]),
    enrolled=st.dictionaries(
        st.sampled_from([p.id for p in CATALOG.programs]), st.sampled_from(["active", "completed", "dropped"])
    ),
)
def test_the_precomputed_matching_suggests_what_comparing_every_programme_with_every_reason_does(
    reasons: list[Reason], age: int, municipality: str, enrolled: dict[str, EnrolmentStatus]
) -> None:
    """The catalog's tag index is only a shortcut: the programmes sharing a tag with a raising reason."""
    raising = [reason for reason in reasons if reason.direction == "raises" and reason.contribution > 0]
    expected = []
    for programme in CATALOG.programs:
        if enrolled.get(programme.id) in ("active", "completed") or not programme.serves(
            age=age, municipality=municipality
        ):
            continue
        matched = tuple(r for r in raising if set(programme.referral_tags) & set(r.referral_tags))
        if matched:
            expected.append((programme.id, sum(r.contribution for r in matched), matched))
    expected.sort(key=lambda item: (-item[1], item[0]))
    suggestions = suggest_referrals(
        reasons, CATALOG, age=age, municipality=municipality, enrolments=enrolled, top=10
    )
    assert [(s.programme.id, s.weight, s.reasons) for s in suggestions] == expected
