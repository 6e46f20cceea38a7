"""The programme catalog: which prevention offers exist, for whom, and which reasons they answer.

A YAML file (default: ``service/catalog/default.yaml``), validated whole when the
service starts: an unknown key, a referral tag the feature registry does not
know, an empty age range or a repeated id is one error line naming it, and the
service does not start (``previ serve`` exits 2) rather than suggest from a
catalog nobody can trust.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from features.registry import REFERRAL_TAGS, Language
from previ.errors import PreviError

__all__ = ["Catalog", "LocalText", "Programme", "default_catalog_path", "load_catalog"]

Tier = Literal["universal", "selective", "indicated"]
ProgrammeId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]{0,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalText(_Strict):
    """A text people read, in each language the service speaks."""

    es: Annotated[str, Field(min_length=1, max_length=300)]
    en: Annotated[str, Field(min_length=1, max_length=300)]

    def __call__(self, language: Language) -> str:
        return self.es if language == "es" else self.en


class Programme(_Strict):
    id: ProgrammeId
    name: LocalText
    description: LocalText | None = None
    referral_tags: Annotated[tuple[str, ...], Field(min_length=1)]
    ages: tuple[Annotated[int, Field(ge=0, le=30)], Annotated[int, Field(ge=0, le=30)]]
    municipalities: (
        Literal["all"] | Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=1)]
    )
    capacity: Annotated[int, Field(ge=0)]
    tiers: Annotated[tuple[Tier, ...], Field(min_length=1)] = ("selective", "indicated")

    @field_validator("referral_tags")
    @classmethod
    def _known_tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [tag for tag in value if tag not in REFERRAL_TAGS]
        if unknown:
            raise ValueError(
                f"unknown referral tag '{unknown[0]}'; the registry knows {', '.join(REFERRAL_TAGS)}"
            )
        return value

    @field_validator("ages")
    @classmethod
    def _range(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] > value[1]:
            raise ValueError(f"must be [youngest, oldest]; {value[0]} is older than {value[1]}")
        return value

    def serves(self, *, age: int, municipality: str) -> bool:
        """Whether a young person of this age in this municipality can be referred here."""
        in_area = self.municipalities == "all" or municipality in self.municipalities
        return in_area and self.ages[0] <= age <= self.ages[1] and self.capacity > 0


class Catalog(_Strict):
    version: Annotated[str, Field(min_length=1, max_length=64)]
    programs: Annotated[tuple[Programme, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_ids(self) -> Catalog:
        seen: set[str] = set()
        for programme in self.programs:
            if programme.id in seen:
                raise ValueError(f"programme id '{programme.id}' appears more than once")
            seen.add(programme.id)
        return self

    def get(self, programme_id: str) -> Programme | None:
        return next((programme for programme in self.programs if programme.id == programme_id), None)

    def answering(self, tags: Sequence[str]) -> tuple[int, ...]:
        """Positions (catalog order) of the programmes that share a referral tag with ``tags``.

        Worked out once per distinct set of tags (a feature's tags, in practice)
        and kept: a score's referral matching is then a few dictionary look-ups.
        """
        key = tuple(tags)
        known = self.answering_index.get(key)
        if known is None:
            wanted = set(key)
            known = tuple(
                position
                for position, programme in enumerate(self.programs)
                if wanted.intersection(programme.referral_tags)
            )
            self.answering_index[key] = known
        return known

    @cached_property
    def answering_index(self) -> dict[tuple[str, ...], tuple[int, ...]]:
        """The memo of :meth:`answering` (the catalog is frozen, so its answers never change)."""
        return {}


def default_catalog_path() -> Path:
    return Path(str(resources.files("service") / "catalog" / "default.yaml"))


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and validate a catalog; PreviError with one line per problem."""
    path = Path(path) if path is not None else default_catalog_path()
    source = f"catalog {path}"
    if not path.exists():
        raise PreviError(f"{source}: file does not exist")
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise PreviError(f"{source}: not valid YAML ({error.__class__.__name__})") from error
    if not isinstance(raw, dict):
        raise PreviError(f"{source}: must hold a mapping with 'version' and 'programs'")
    try:
        return Catalog.model_validate(raw)
    except ValidationError as error:
        raise PreviError(*(_describe(source, item) for item in error.errors())) from error


def _describe(source: str, item: ErrorDetails) -> str:
    location = ".".join(str(part) for part in item["loc"]) or "catalog"
    if item["type"] == "extra_forbidden":
        return f"{source}: unknown key '{location}'"
    if item["type"] == "missing":
        return f"{source}: '{location}' is missing"
    return f"{source}: '{location}' {item['msg'][0].lower()}{item['msg'][1:]} (got {item.get('input')!r})"
