"""Every sentence the service says to people, in Spanish and English, in one place.

Error texts never repeat what the client sent (a purpose, an id, a value): they
name the field or the rule, so a response cannot leak what it refuses.
"""

from __future__ import annotations

from typing import Final

from features.registry import Language

__all__ = ["TEXTS", "VALIDATION", "parse_accept_language", "text", "validation_message"]

TEXTS: Final[dict[str, dict[Language, str]]] = {
    "note": {
        "es": "Esta estimación es una invitación a ofrecer apoyo preventivo, no una determinación sobre "
        "la persona joven. Nunca debe usarse para sancionar, vigilar ni disciplinar.",
        "en": "This estimate is a prompt to offer prevention support, not a determination about the young "
        "person. It must never be used to sanction, police or discipline.",
    },
    "range_uncertain": {
        "es": "Sin {missing}, la estimación estaría entre {low} y {high}: consiga el dato «{most}» antes de "
        "decidir.",
        "en": "Without {missing}, the estimate would lie between {low} and {high}: get “{most}” before "
        "deciding.",
    },
    "range_settled": {
        "es": "Sin {missing}, la estimación estaría entre {low} y {high}; el nivel de prevención es el mismo "
        "en todo ese intervalo.",
        "en": "Without {missing}, the estimate would lie between {low} and {high}; the prevention tier is "
        "the same across that range.",
    },
    "range_basis": {
        "es": "Lo que no se sabe cuenta con su promedio en la población de entrenamiento, sin ajustarlo a "
        "los datos conocidos.",
        "en": "What is not known counts at its average over the training population, not adjusted to the "
        "known values.",
    },
    "range_many_unknown": {"es": "{count} datos", "en": "{count} values"},
    "range_and": {"es": "y", "en": "and"},
    "purpose_punitive": {
        "es": "Solicitud rechazada: previ estima la necesidad de apoyo preventivo y no puede usarse con "
        "fines punitivos (sanción, vigilancia, disciplina, migración, investigación). La solicitud quedó "
        "registrada.",
        "en": "Request refused: previ estimates a need for prevention support and cannot be used for "
        "punitive purposes (sanctions, policing, discipline, immigration, investigation). "
        "The request was logged.",
    },
    "purpose_unknown": {
        "es": "Solicitud rechazada: el propósito no está en la lista permitida ({allowed}). "
        "La solicitud quedó registrada.",
        "en": "Request refused: the purpose is not on the allowed list ({allowed}). The request was logged.",
    },
    "unauthenticated": {
        "es": "Falta un token válido: envíe 'Authorization: Bearer <token>' (lo emite 'previ tokens add').",
        "en": "A valid token is required: send 'Authorization: Bearer <token>' "
        "(issued by 'previ tokens add').",
    },
    "wrong_role": {
        "es": "Su rol ({role}) no tiene acceso a este recurso.",
        "en": "Your role ({role}) has no access to this resource.",
    },
    "no_model": {
        "es": "No hay un modelo cargado todavía; intente más tarde (ver GET /readyz).",
        "en": "No model is loaded yet; try again later (see GET /readyz).",
    },
    "audit_unavailable": {
        "es": "El registro de auditoría no está disponible, así que no se entrega ningún resultado. "
        "Avise a la persona responsable del servicio.",
        "en": "The audit log cannot be written, so no result is returned. Tell the service's operator.",
    },
    "tokens_unavailable": {
        "es": "Los tokens no se pueden leer; avise a la persona responsable del servicio.",
        "en": "The tokens cannot be read; tell the service's operator.",
    },
    "no_snapshot": {
        "es": "Todavía no hay ningún lote calculado ('previ score').",
        "en": "No batch snapshot exists yet ('previ score').",
    },
    "not_in_snapshot": {
        "es": "La persona no aparece en el último lote (fecha de corte {as_of}).",
        "en": "This young person is not in the latest snapshot (as of {as_of}).",
    },
    "no_audit": {
        "es": "El modelo en servicio no tiene auditoría de equidad registrada.",
        "en": "The served model has no recorded fairness audit.",
    },
    "unknown_program": {
        "es": "No es un programa del catálogo.",
        "en": "Not a programme of the catalog.",
    },
    "body_too_large": {
        "es": "El cuerpo de la solicitud excede el límite de {limit} bytes.",
        "en": "The request body exceeds the limit of {limit} bytes.",
    },
    "internal": {
        "es": "Error interno; quedó registrado en el servidor.",
        "en": "Internal error; it was logged on the server.",
    },
    "model_refused": {
        "es": "Modelo rechazado; se sigue usando la versión {version}. Motivo: {reason}",
        "en": "Model refused; still serving version {version}. Reason: {reason}",
    },
    "not_on_caseload": {
        "es": "Esta persona no está en su lista de casos asignados; la solicitud quedó registrada.",
        "en": "This young person is not on your caseload; the request was logged.",
    },
    "not_on_caseload_justify": {
        "es": "Esta persona no está en su lista de casos asignados. Puede consultarla indicando una "
        "justificación (parámetro 'justification', 10 a 500 caracteres); quedará registrada.",
        "en": "This young person is not on your caseload. You may look them up by stating a justification "
        "('justification' parameter, 10-500 characters); it is logged.",
    },
    "out_of_caseload_limit": {
        "es": "Ya usó las {limit} consultas fuera de su lista de casos permitidas por día.",
        "en": "You have used the {limit} look-ups outside your caseload allowed per day.",
    },
    "rate_limited": {
        "es": "Demasiadas solicitudes; vuelva a intentarlo en {seconds} segundos.",
        "en": "Too many requests; try again in {seconds} seconds.",
    },
    "token_in_query": {
        "es": "Un token nunca va en la dirección (URL): envíelo en el encabezado 'Authorization: Bearer'.",
        "en": "A token never goes in the URL: send it in the 'Authorization: Bearer' header.",
    },
    "repeated_parameter": {
        "es": "El parámetro '{name}' aparece más de una vez.",
        "en": "The parameter '{name}' appears more than once.",
    },
}


# FastAPI's 422 messages by pydantic error type, in each language; ``{...}`` fields come from the error's
# context. A type not listed keeps pydantic's English message.
VALIDATION: Final[dict[str, dict[Language, str]]] = {
    "missing": {"es": "Falta este campo.", "en": "Field required."},
    "extra_forbidden": {"es": "Campo no permitido.", "en": "Extra inputs are not permitted."},
    "string_too_short": {
        "es": "Debe tener al menos {min_length} caracteres.",
        "en": "Should have at least {min_length} characters.",
    },
    "string_too_long": {
        "es": "Debe tener como máximo {max_length} caracteres.",
        "en": "Should have at most {max_length} characters.",
    },
    "string_pattern_mismatch": {
        "es": "Tiene caracteres no permitidos: use letras, números y . _ : -",
        "en": "Has characters that are not allowed: use letters, digits and . _ : -",
    },
    "string_type": {"es": "Debe ser un texto.", "en": "Should be a string."},
    "int_type": {"es": "Debe ser un número entero.", "en": "Should be a whole number."},
    "int_parsing": {"es": "Debe ser un número entero.", "en": "Should be a whole number."},
    "int_from_float": {"es": "Debe ser un número entero.", "en": "Should be a whole number."},
    "float_type": {"es": "Debe ser un número.", "en": "Should be a number."},
    "float_parsing": {"es": "Debe ser un número.", "en": "Should be a number."},
    "bool_type": {"es": "Debe ser verdadero o falso.", "en": "Should be true or false."},
    "greater_than_equal": {"es": "Debe ser mayor o igual que {ge}.", "en": "Should be at least {ge}."},
    "less_than_equal": {"es": "Debe ser menor o igual que {le}.", "en": "Should be at most {le}."},
    "greater_than": {"es": "Debe ser mayor que {gt}.", "en": "Should be greater than {gt}."},
    "less_than": {"es": "Debe ser menor que {lt}.", "en": "Should be less than {lt}."},
    "literal_error": {"es": "Debe ser uno de: {expected}.", "en": "Should be one of: {expected}."},
    "enum": {"es": "Debe ser uno de: {expected}.", "en": "Should be one of: {expected}."},
    "too_short": {
        "es": "Debe tener al menos {min_length} elementos.",
        "en": "Should have at least {min_length} items.",
    },
    "too_long": {
        "es": "Debe tener como máximo {max_length} elementos.",
        "en": "Should have at most {max_length} items.",
    },
    "list_type": {"es": "Debe ser una lista.", "en": "Should be a list."},
    "dict_type": {"es": "Debe ser un objeto JSON.", "en": "Should be a JSON object."},
    "model_attributes_type": {"es": "Debe ser un objeto JSON.", "en": "Should be a JSON object."},
    "json_invalid": {"es": "El cuerpo no es JSON válido.", "en": "The body is not valid JSON."},
    "date_from_datetime_parsing": {
        "es": "Debe ser una fecha (AAAA-MM-DD).",
        "en": "Should be a date (YYYY-MM-DD).",
    },
    "date_parsing": {"es": "Debe ser una fecha (AAAA-MM-DD).", "en": "Should be a date (YYYY-MM-DD)."},
}


def validation_message(
    kind: str, context: dict[str, object] | None, fallback: str, language: Language
) -> str:
    """A pydantic error in ``language``; ``fallback`` (pydantic's own words) for an unlisted type."""
    template = VALIDATION.get(kind)
    if template is None:
        return fallback
    try:
        return template[language].format(**(context or {}))
    except (KeyError, IndexError):
        return fallback


def text(key: str, language: Language, **values: object) -> str:
    return TEXTS[key][language].format(**values)


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
