"""Write each service's OpenAPI document to ``docs/openapi/<service>.json``.

    python -m shared.apidocs

The documents are generated from the services' marshmallow schemas by flask-smorest; a test
regenerates them and compares with the committed files, so the published HTTP contract cannot
drift from the code. Each running service also serves its own at ``/openapi.json``.
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from shared.config import load_settings

SERVICES = ("goals", "questionnaires", "notifications")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "openapi"
# Generating a document reads no secret and opens no connection; the settings only need to load.
_PLACEHOLDER_SECRET = "openapi-generation-needs-no-real-secret"


def openapi_document(service: str) -> dict[str, Any]:
    config = importlib.import_module(f"services.{service}.config")
    app_module = importlib.import_module(f"services.{service}.app")
    settings = load_settings(service, {"JWT_SECRET": _PLACEHOLDER_SECRET, "LOG_LEVEL": "WARNING"}, config.OPTIONS)
    document: dict[str, Any] = app_module.create_app(settings=settings).test_client().get("/openapi.json").get_json()
    return document


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    for service in SERVICES:
        path = DOCS / f"{service}.json"
        path.write_text(json.dumps(openapi_document(service), indent=2, sort_keys=True) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
