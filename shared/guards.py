"""Limits every request meets before any route, schema or token check sees it.

Each is answered with a problem+json 4xx that names the limit, so no input, however odd, reaches
code that could fail on it with a 500 (and a traceback in the log: a log flood without a login).

| what | limit | answer |
|---|---|---|
| request target (path and query) | ``MAX_TARGET_BYTES`` | 414, ``errors.url`` |
| headers | ``MAX_HEADER_FIELDS`` fields, ``MAX_HEADER_FIELD_BYTES`` each, ``MAX_HEADER_BYTES`` in all | 431, ``errors.headers`` |
| an id in the path | no control character (no record has one) | 404 naming the parameter |
| body | ``MAX_BODY_BYTES``, also when sent chunked | 413, ``errors.body`` |
| body of POST, PUT, PATCH | JSON (``application/json`` or ``+json``) | 415 |
| body | UTF-8, well-formed JSON | 400, ``errors.body`` |
| nesting of arrays and objects | ``MAX_JSON_DEPTH`` levels | 422, ``errors.body`` |
| integers | 64-bit (a longer literal is not even converted) | 422 naming the field |
| other numbers | finite (no ``1e999``, ``NaN``, ``Infinity``) | 422 naming the field |
| text | valid Unicode (no lone surrogate), no NUL; keys without control characters | 422 naming the field |
| query parameters | no NUL | 422 naming the parameter |

No stored or queried text holds a NUL: MongoDB refuses it in keys and PostgreSQL (under FerretDB)
in any text, so a NUL would otherwise surface as a database error, a 500.

Python's JSON parser recurses, so 2 KB of brackets would exhaust its stack: the nesting is
measured first, without parsing. Numbers are checked by the parser's own hooks, so no schema
field ever sees one out of range. gunicorn's limits (``shared.gunicorn_conf``) sit above these
as a backstop, for what never reaches Flask.

Every response under ``/v1`` and ``/fhir`` carries ``Cache-Control: no-store``: they hold health data, which
no browser, proxy or CDN on the way may keep.
"""
from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from flask import Flask, Response, request

from shared.errors import detail_for, problem_response
from shared.schemas import CONTROL_CHARACTERS

MAX_TARGET_BYTES = 4096
MAX_HEADER_FIELDS = 64
MAX_HEADER_FIELD_BYTES = 8 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_JSON_DEPTH = 32
# Every integer MongoDB can store (BSON int64) has at most 19 digits.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_INT_DIGITS = 19
# A problem lists at most this many refused fields: enough to fix a body, not an amplifier.
MAX_REPORTED_FIELDS = 20
JSON_METHODS = ("POST", "PUT", "PATCH")
NO_STORE_PREFIXES = ("/v1/", "/fhir/")

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_DEPTH_STEP = [0] * 256
_DEPTH_STEP[ord("[")] = _DEPTH_STEP[ord("{")] = 1
_DEPTH_STEP[ord("]")] = _DEPTH_STEP[ord("}")] = -1


def nesting_depth(body: bytes) -> int:
    """How deep arrays and objects nest in a UTF-8 JSON text, without parsing it: strings are cut
    out, the rest is reduced to its brackets, and the running count of open ones is taken by
    ``itertools`` in C: no recursion, and about the time parsing would take."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


class _Refused:
    """A value the parser's hooks refused, left where it was so that its field can be named."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


_TOO_BIG_INTEGER = _Refused(f"An integer must fit in 64 bits ({INT64_MIN} to {INT64_MAX}).")
_NOT_FINITE = _Refused("A number must be finite (1e999, NaN and Infinity are refused).")
_NOT_UNICODE = "Not valid Unicode text (a lone surrogate)."
_CONTROL_IN_KEY = "A key must not contain control characters."
_NUL = "Text must not contain a NUL character."


def json_problems(text: str) -> dict[str, list[str]]:
    """The fields of a JSON text (whose nesting is already known to be shallow) that no route may
    see, by their dotted path: ``{"measure.baseline": [reason]}``. Raises ``JSONDecodeError``.

    Numbers are checked by the parser's hooks as it meets them: an integer literal longer than
    19 digits is not even converted (``int()`` of 5,000 digits is slow, and refused past 4,300).
    Text is checked only when it could hold a lone surrogate or a control character, i.e. when
    it has an escape, a DEL or a character beyond ASCII, so a plain body is parsed once and not walked.
    """
    refusals: list[_Refused] = []

    def refuse(refusal: _Refused) -> _Refused:
        refusals.append(refusal)
        return refusal

    def integer(literal: str) -> int | _Refused:
        if len(literal.lstrip("-")) > MAX_INT_DIGITS:
            return refuse(_TOO_BIG_INTEGER)
        value = int(literal)
        return value if INT64_MIN <= value <= INT64_MAX else refuse(_TOO_BIG_INTEGER)

    def real(literal: str) -> float | _Refused:
        value = float(literal)
        return value if math.isfinite(value) else refuse(_NOT_FINITE)

    document = json.loads(text, parse_int=integer, parse_float=real, parse_constant=lambda _: refuse(_NOT_FINITE))
    if not refusals and "\\u" not in text and "\x7f" not in text and text.isascii():
        return {}
    return refused_fields(document)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def refused_fields(document: Any) -> dict[str, list[str]]:
    """Where a parsed body holds a refused number, a string no database can store (a lone UTF-16
    surrogate), or a key with a control character (MongoDB refuses a NUL in a key). Walked with
    a stack of its own, not by recursion; at most ``MAX_REPORTED_FIELDS`` are named."""
    found: dict[str, list[str]] = {}
    pending: list[tuple[str, Any]] = [("", document)]
    while pending and len(found) < MAX_REPORTED_FIELDS:
        path, value = pending.pop()
        if isinstance(value, _Refused):
            found[path or "body"] = [value.reason]
        elif isinstance(value, str):
            if not _encodable(value):
                found[path or "body"] = [_NOT_UNICODE]
            elif "\x00" in value:
                found[path or "body"] = [_NUL]
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else key
                if not _encodable(key):
                    found[name] = [_NOT_UNICODE]
                elif CONTROL_CHARACTERS.search(key):
                    found[name] = [_CONTROL_IN_KEY]
                else:
                    pending.append((name, item))
        elif isinstance(value, list):
            pending.extend((f"{path}.{index}" if path else str(index), item) for index, item in enumerate(value))
    return found


def _refuse(status: int, field: str, message: str, detail: str | None = None) -> Response:
    errors = {field: [message]}
    return problem_response(status, detail or detail_for(errors), errors=errors)


def _too_large(max_body_bytes: int) -> Response:
    return _refuse(413, "body", f"At most {max_body_bytes} bytes.", f"The body is larger than {max_body_bytes} bytes")


def _request_target_bytes() -> int:
    environ = request.environ
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if target is None:
        query = environ.get("QUERY_STRING", "")
        target = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
    return len(target)


def _header_problem() -> str | None:
    sizes = [len(name) + len(value) for name, value in request.headers.items()]
    if len(sizes) > MAX_HEADER_FIELDS:
        return f"More than {MAX_HEADER_FIELDS} header fields."
    if any(size > MAX_HEADER_FIELD_BYTES for size in sizes):
        return f"A header field is longer than {MAX_HEADER_FIELD_BYTES} bytes."
    if sum(sizes) > MAX_HEADER_BYTES:
        return f"The header fields hold more than {MAX_HEADER_BYTES} bytes."
    return None


def _path_id_problem() -> Response | None:
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
            return _refuse(404, name, "An id never contains control characters.", "Not found")
    return None


def _query_problem() -> Response | None:
    for name, value in request.args.items(multi=True):
        if "\x00" in value or "\x00" in name:
            return _refuse(422, name.replace("\x00", ""), _NUL)
    return None


def _body_problem(max_body_bytes: int) -> Response | None:
    length = request.content_length
    if length is not None and length > max_body_bytes:
        return _too_large(max_body_bytes)
    if request.method not in JSON_METHODS or not (length or request.headers.get("Transfer-Encoding")):
        return None
    mimetype = request.mimetype
    if not (mimetype == "application/json" or mimetype.endswith("+json")):
        return problem_response(415, f"Send the body as application/json, not {mimetype or 'no content type'}")
    body = request.get_data(cache=True)  # kept for the route's own parser
    if len(body) > max_body_bytes:  # sent chunked, it had no length to check beforehand
        return _too_large(max_body_bytes)
    try:
        text = body.decode("utf-8-sig")  # as the route's parser reads it, so both see one document
    except UnicodeDecodeError:
        return _refuse(400, "body", "Not UTF-8.", "The body is not valid JSON")
    if nesting_depth(body) > MAX_JSON_DEPTH:
        return _refuse(422, "body", f"Arrays and objects nest at most {MAX_JSON_DEPTH} levels deep.")
    try:
        errors = json_problems(text)
    except json.JSONDecodeError as exc:
        return _refuse(400, "body", f"{exc.msg} (line {exc.lineno}, column {exc.colno}).", "The body is not valid JSON")
    if errors:
        return problem_response(422, detail_for(errors), errors=errors)
    return None


def install_guards(app: Flask, max_body_bytes: int) -> None:
    # werkzeug stops reading a body without a length (chunked) at this maximum, silently: one byte
    # more than the limit shows that the body went over it.
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes + 1

    def guard() -> Response | None:
        if _request_target_bytes() > MAX_TARGET_BYTES:
            return _refuse(414, "url", f"At most {MAX_TARGET_BYTES} bytes of path and query.", "The URL is too long")
        header_problem = _header_problem()
        if header_problem:
            return _refuse(431, "headers", header_problem, "The request's headers are too large")
        return _path_id_problem() or _query_problem() or _body_problem(max_body_bytes)

    def no_store(response: Response) -> Response:
        if request.path.startswith(NO_STORE_PREFIXES):
            response.headers["Cache-Control"] = "no-store"
        return response

    app.before_request(guard)
    app.after_request(no_store)
