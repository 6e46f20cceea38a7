"""Every sentence the service's API says to people, as English message ids translated by the catalogs.

The pages' own words live in the templates and :mod:`service.pages`; these are
the messages the API and the pages share (refusals, errors, the note beside
every score). Each is marked with :func:`~previ.i18n.N_` and read through
:func:`text` in the request's language (see :mod:`previ.i18n`).

Error texts never repeat what the client sent (a purpose, an id, a value): they
name the field or the rule, so a response cannot leak what it refuses.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from previ.i18n import N_, Language, Plural, translation

__all__ = [
    "AUDIT_UNAVAILABLE",
    "BODY_TOO_LARGE",
    "DATETIME_WITH_ZONE",
    "INTERNAL",
    "MODEL_REFUSED",
    "NOTE",
    "NOT_IN_SNAPSHOT",
    "NOT_ON_CASELOAD",
    "NOT_ON_CASELOAD_JUSTIFY",
    "NO_AUDIT",
    "NO_MODEL",
    "NO_SNAPSHOT",
    "OUT_OF_CASELOAD_LIMIT",
    "PURPOSE_PUNITIVE",
    "PURPOSE_UNKNOWN",
    "RANGE_AND",
    "RANGE_BASIS",
    "RANGE_SETTLED",
    "RANGE_UNCERTAIN",
    "RATE_LIMITED",
    "REPEATED_PARAMETER",
    "TOKENS_UNAVAILABLE",
    "TOKEN_IN_QUERY",
    "UNAUTHENTICATED",
    "UNKNOWN_PROGRAM",
    "VALIDATION",
    "WRONG_ROLE",
    "Counted",
    "parse_accept_language",
    "range_many_unknown",
    "text",
    "validation_message",
]

NOTE = N_(
    "This estimate is a prompt to offer prevention support, not a determination about the young person. "
    "It must never be used to sanction, police or discipline."
)
RANGE_UNCERTAIN = N_(
    "Without {missing}, the estimate would lie between {low} and {high}: get “{most}” before deciding."
)
RANGE_SETTLED = N_(
    "Without {missing}, the estimate would lie between {low} and {high}; the prevention tier is the same "
    "across that range."
)
RANGE_BASIS = N_(
    "What is not known counts at its average over the training population, not adjusted to the known values."
)
RANGE_AND = N_("and")
PURPOSE_PUNITIVE = N_(
    "Request refused: previ estimates a need for prevention support and cannot be used for punitive purposes "
    "(sanctions, policing, discipline, immigration, investigation). The request was logged."
)
PURPOSE_UNKNOWN = N_(
    "Request refused: the purpose is not on the allowed list ({allowed}). The request was logged."
)
UNAUTHENTICATED = N_(
    "A valid token is required: send 'Authorization: Bearer <token>' (issued by 'previ tokens add')."
)
WRONG_ROLE = N_("Your role ({role}) has no access to this resource.")
NO_MODEL = N_("No model is loaded yet; try again later (see GET /readyz).")
AUDIT_UNAVAILABLE = N_(
    "The audit log cannot be written, so no result is returned. Tell the service's operator."
)
TOKENS_UNAVAILABLE = N_("The tokens cannot be read; tell the service's operator.")
NO_SNAPSHOT = N_("No batch snapshot exists yet ('previ score').")
NOT_IN_SNAPSHOT = N_("This young person is not in the latest snapshot (as of {as_of}).")
NO_AUDIT = N_("The served model has no recorded fairness audit.")
UNKNOWN_PROGRAM = N_("Not a programme of the catalog.")
BODY_TOO_LARGE = N_("The request body exceeds the limit of {limit} bytes.")
INTERNAL = N_("Internal error; it was logged on the server.")
MODEL_REFUSED = N_("Model refused; still serving version {version}. Reason: {reason}")
NOT_ON_CASELOAD = N_("This young person is not on your caseload; the request was logged.")
NOT_ON_CASELOAD_JUSTIFY = N_(
    "This young person is not on your caseload. You may look them up by stating a justification "
    "('justification' parameter, 10-500 characters); it is logged."
)
OUT_OF_CASELOAD_LIMIT = N_("You have used the {limit} look-ups outside your caseload allowed per day.")
RATE_LIMITED = N_("Too many requests; try again in {seconds} seconds.")
TOKEN_IN_QUERY = N_("A token never goes in the URL: send it in the 'Authorization: Bearer' header.")
REPEATED_PARAMETER = N_("The parameter '{name}' appears more than once.")


class Counted(NamedTuple):
    """A message whose words agree with the number in the error context's field ``number``."""

    words: Plural
    number: str


_WHOLE_NUMBER = N_("Should be a whole number.")
_NUMBER = N_("Should be a number.")
_ONE_OF = N_("Should be one of: {expected}.")
_JSON_OBJECT = N_("Should be a JSON object.")
_DATE = N_("Should be a date (YYYY-MM-DD).")
DATETIME_WITH_ZONE = "datetime_with_zone"  # previ's own error type: RFC 3339 query times
_DATETIME = N_("Should be a date and time with its time zone (ISO 8601, e.g. 2025-08-01T09:00:00Z).")

# FastAPI's 422 messages by pydantic error type; ``{...}`` fields come from the error's context. A type
# not listed keeps pydantic's English message.
VALIDATION: Final[dict[str, str | Counted]] = {
    "missing": N_("Field required."),
    "extra_forbidden": N_("Extra inputs are not permitted."),
    "string_too_short": Counted(
        Plural(
            "Should have at least {min_length} character.", "Should have at least {min_length} characters."
        ),
        "min_length",
    ),
    "string_too_long": Counted(
        Plural("Should have at most {max_length} character.", "Should have at most {max_length} characters."),
        "max_length",
    ),
    "string_pattern_mismatch": N_("Has characters that are not allowed: use letters, digits and . _ : -"),
    "string_type": N_("Should be a string."),
    "int_type": _WHOLE_NUMBER,
    "int_parsing": _WHOLE_NUMBER,
    "int_from_float": _WHOLE_NUMBER,
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "bool_type": N_("Should be true or false."),
    "greater_than_equal": N_("Should be at least {ge}."),
    "less_than_equal": N_("Should be at most {le}."),
    "greater_than": N_("Should be greater than {gt}."),
    "less_than": N_("Should be less than {lt}."),
    "literal_error": _ONE_OF,
    "enum": _ONE_OF,
    "too_short": Counted(
        Plural("Should have at least {min_length} item.", "Should have at least {min_length} items."),
        "min_length",
    ),
    "too_long": Counted(
        Plural("Should have at most {max_length} item.", "Should have at most {max_length} items."),
        "max_length",
    ),
    "list_type": N_("Should be a list."),
    "dict_type": _JSON_OBJECT,
    "model_attributes_type": _JSON_OBJECT,
    "json_invalid": N_("The body is not valid JSON."),
    "date_from_datetime_parsing": _DATE,
    "date_parsing": _DATE,
    "datetime_type": _DATETIME,
    "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "timezone_aware": _DATETIME,
    DATETIME_WITH_ZONE: _DATETIME,
    "union_tag_invalid": N_("Its kind should be one of: {expected_tags}."),
    "union_tag_not_found": N_("The field {discriminator} is required: it says which kind this is."),
}


def text(message: str, language: Language, **values: object) -> str:
    """``message`` (one of this module's ids) in ``language``, its fields filled with ``values``."""
    return translation(language).gettext(message, **values)


def range_many_unknown(count: int, language: Language) -> str:
    """ "12 values", when too many are unknown to name them in the range sentence."""
    return translation(language).ngettext("{count} value", "{count} values", count, count=count)


def validation_message(
    kind: str, context: dict[str, object] | None, fallback: str, language: Language
) -> str:
    """A pydantic error in ``language``; ``fallback`` (pydantic's own words) for an unlisted type."""
    template = VALIDATION.get(kind)
    if template is None:
        return fallback
    values = context or {}
    texts = translation(language)
    try:
        if isinstance(template, Counted):
            count = values[template.number]
            if not isinstance(count, int):
                return fallback
            words = texts.ngettext(template.words.one, template.words.other, count)
        else:
            words = texts.gettext(template)
        return words.format(**values)
    except (KeyError, IndexError):
        return fallback


def parse_accept_language(header: str | None, default: Language) -> Language:
    """The first of es/en the client accepts, by quality; ``default`` when neither is named."""
    if not header:
        return default
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()[:2]
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranked.append((-quality, position, tag))
    for negative_quality, _, tag in sorted(ranked):
        if negative_quality < 0 and tag in ("es", "en"):
            return "es" if tag == "es" else "en"
    return default
