"""Purposes: support purposes only; punitive ones are refused whatever the configuration says."""

from __future__ import annotations

import pytest

from previ.config import PreviConfig, parse_config
from previ.errors import PreviError
from service.purposes import check_purpose
from service.settings import service_settings

ALLOWED = ("referral_planning", "case_review", "program_evaluation")


@pytest.mark.parametrize("purpose", ALLOWED)
def test_listed_support_purposes_are_allowed(purpose: str) -> None:
    assert check_purpose(purpose, ALLOWED).allowed


@pytest.mark.parametrize(
    "purpose",
    [
        "sanction",
        "SANCIÓN",
        "school_discipline",
        "disciplinary-hearing",
        "policing",
        "police_patrol",
        "immigration",
        "investigación penal",
        "criminal_investigation",
        "expulsion",
        "surveillance",
        "deportation",
    ],
)
def test_punitive_purposes_are_refused(purpose: str) -> None:
    assert check_purpose(purpose, ALLOWED).verdict == "punitive"


def test_a_punitive_purpose_is_refused_even_when_listed() -> None:
    assert check_purpose("sanction", (*ALLOWED, "sanction")).verdict == "punitive"


@pytest.mark.parametrize("purpose", ["curiosity", "Referral_Planning", "referral planning", ""])
def test_anything_not_listed_is_unknown(purpose: str) -> None:
    assert check_purpose(purpose, ALLOWED).verdict == "unknown"


def test_the_config_cannot_list_a_punitive_purpose() -> None:
    config = parse_config({"service": {"purposes": ["referral_planning", "school_discipline"]}})
    with pytest.raises(PreviError, match="school_discipline' is punitive"):
        service_settings(config)


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREVI_AUDIT_URL", "sqlite:////tmp/elsewhere.db")
    monkeypatch.setenv("PREVI_PURPOSES", '["case_review"]')
    settings = service_settings(parse_config({"service": {"audit_url": "sqlite:///a.db", "port": 9001}}))
    assert settings.audit_url == "sqlite:////tmp/elsewhere.db"
    assert settings.purposes == ("case_review",) and settings.port == 9001
    assert service_settings(PreviConfig()).port == 8000
