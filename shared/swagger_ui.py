"""``/docs``: Swagger UI for the service's own ``/openapi.json``, served by the service itself.

Nothing is loaded from another origin, so the page works in an air-gapped clinic, and nothing
runs inline, so it works under the strict Content-Security-Policy it is sent with. Swagger UI's
files are those the pinned ``flask-swagger-ui`` package ships (Swagger UI 5.34.0); its own page
has an inline script, so the page and the start-up script here are ours.

URLs are relative, so the page also works behind a proxy that serves the API under a prefix.
"""
from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, Response, abort, send_from_directory
from markupsafe import escape

ASSETS = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
ASSET_FILES = ("swagger-ui.css", "index.css", "swagger-ui-bundle.js", "favicon-32x32.png")
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",  # Swagger UI's stylesheet draws its icons from data: URLs
    "connect-src 'self'",  # the document, and "Try it out" against this same service
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
))
_CACHE_SECONDS = 3600

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link rel="stylesheet" href="docs/assets/swagger-ui.css">
  <link rel="stylesheet" href="docs/assets/index.css">
  <link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/assets/swagger-ui-bundle.js"></script>
  <script src="docs/start.js"></script>
</body>
</html>
"""
START_SCRIPT = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    displayOperationId: true,
    displayRequestDuration: true,
    tryItOutEnabled: false
  });
});
"""

if missing := [name for name in ASSET_FILES if not (ASSETS / name).is_file()]:
    raise ImportError(f"flask-swagger-ui no longer ships {', '.join(missing)} in {ASSETS}: see requirements.txt")


def _strict(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def docs_blueprint(title: str) -> Blueprint:
    """The page at ``/docs``, its start-up script and Swagger UI's files (not in the OpenAPI document)."""
    blueprint = Blueprint("docs", __name__)
    page = PAGE.format(title=escape(title))

    @blueprint.get("/docs")
    def docs_page():
        return Response(page, mimetype="text/html")

    @blueprint.get("/docs/start.js")
    def docs_start():
        return Response(START_SCRIPT, mimetype="text/javascript")

    @blueprint.get("/docs/assets/<name>")
    def docs_asset(name: str):
        if name not in ASSET_FILES:
            abort(404)
        return send_from_directory(ASSETS, name, max_age=_CACHE_SECONDS)

    blueprint.after_request(_strict)
    return blueprint
