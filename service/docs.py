"""/docs: the API manual with Swagger UI served from the installed ``swagger-ui-bundle`` package.

FastAPI's default page loads Swagger UI from a CDN with no integrity check and
starts it with an inline script, which rules out a strict Content-Security-Policy.
Here the files come from the Python package (no network at run time), the
start-up script is a static file of ours, and the page carries a CSP that
allows scripts from this origin only. ReDoc (also a CDN) is not served.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

__all__ = ["DOCS_CSP", "mount_docs"]

DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'"
)
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - API</title>
<link rel="stylesheet" href="/docs-static/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="/docs-static/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""


def mount_docs(app: FastAPI) -> None:
    """Add GET /docs and the Swagger UI files under /docs-static."""
    app.mount("/docs-static", StaticFiles(directory=swagger_ui_path), name="docs-static")
    page = PAGE.format(title=escape(app.title), openapi=escape(app.openapi_url or "/openapi.json"))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"content-security-policy": DOCS_CSP})
