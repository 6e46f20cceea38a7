"""Service settings: the ``service`` section of previ.yaml, overridden by ``PREVI_*`` variables.

The fields are declared once, in :class:`previ.config.ServiceConfig`; this class
adds the environment as a source (which wins over the file, so a deployment can
set ``PREVI_AUDIT_URL`` without editing the config) and the pseudonymisation
key, which may only come from the environment or its key file.
"""

from __future__ import annotations

from typing import Literal

from limits import parse
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from previ.config import PreviConfig, ServiceConfig
from previ.errors import PreviError
from service.pseudonym import load_key
from service.purposes import punitive_words

PUNITIVE_IN_CONFIG = "service.purposes: '{purpose}' is punitive; previ refuses it even when listed"


class ServiceSettings(ServiceConfig, BaseSettings):
    """Everything the running service reads about itself."""

    model_config = SettingsConfigDict(env_prefix="PREVI_", extra="ignore", frozen=True)

    pseudonym_key: SecretStr | None = Field(
        None, description="Key of the keyed hash of youth ids (PREVI_PSEUDONYM_KEY); else pseudonym_key_file."
    )
    audit_key: SecretStr | None = Field(
        None, description="Key of the audit log's hash chain (PREVI_AUDIT_KEY); else audit_key_file."
    )
    session_key: SecretStr | None = Field(
        None, description="Key that signs session cookies (PREVI_SESSION_KEY); else session_key_file."
    )

    @field_validator("purposes")
    @classmethod
    def _never_punitive(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        flagged = [purpose for purpose in value if punitive_words(purpose)]
        if flagged:
            raise ValueError(PUNITIVE_IN_CONFIG.format(purpose=flagged[0]))
        if not value:
            raise ValueError("list at least one purpose")
        return value

    @field_validator("rate_limit_api", "rate_limit_login")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            parse(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a rate such as '120/minute' or '10 per minute'") from None
        return value

    def key(self, which: Literal["pseudonym", "audit", "session"]) -> bytes:
        """A secret key: from its PREVI_*_KEY variable, else its key file (created 0600 if absent)."""
        secret = getattr(self, f"{which}_key")
        return load_key(
            secret.get_secret_value() if secret else None,
            getattr(self, f"{which}_key_file"),
            what=f"{which} key",
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment first (it wins), then the values read from previ.yaml."""
        return (env_settings, init_settings)


def service_settings(config: PreviConfig) -> ServiceSettings:
    """The service section of ``config`` with ``PREVI_*`` overrides; PreviError naming a bad value."""
    try:
        return ServiceSettings(**config.service.model_dump(exclude_unset=True))
    except ValidationError as error:
        raise PreviError(*(_describe(item) for item in error.errors())) from error


def _describe(item: ErrorDetails) -> str:
    location = ".".join(str(part) for part in item["loc"])
    message = item["msg"]
    return f"service: '{location}' {message[0].lower()}{message[1:]}"
