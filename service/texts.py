"""Every sentence the service says to people, in Spanish and English, in one place.

Error texts never repeat what the client sent (a purpose, an id, a value): they
name the field or the rule, so a response cannot leak what it refuses.
"""

from __future__ import annotations

from typing import Final

from features.registry import Language

__all__ = ["TEXTS", "parse_accept_language", "text"]

TEXTS: Final[dict[str, dict[Language, str]]] = {
    "note": {
        "es": "Esta estimación es una invitación a ofrecer apoyo preventivo, no una determinación sobre "
        "la persona joven. Nunca debe usarse para sancionar, vigilar ni disciplinar.",
        "en": "This estimate is a prompt to offer prevention support, not a determination about the young "
        "person. It must never be used to sanction, police or discipline.",
    },
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
        "es": "El archivo de tokens no se puede leer; avise a la persona responsable del servicio.",
        "en": "The token file cannot be read; tell the service's operator.",
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
