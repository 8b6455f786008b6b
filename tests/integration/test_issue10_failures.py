"""Issue 10 ("Clinical safety and security"): the failures it reproduced, each now answered as it
should be. Where a failure's test lives elsewhere it is named here; the ones below had none that
sent the exact input the issue reported.

(3) tiny inputs answered 500
    - JSON nested ~1,000 deep, before any token: test_bad_input_everywhere ("nested 1,000 deep",
      every route, no token), test_request_limits (under gunicorn), unit test_guards
    - a 401-digit number in goal progress ``value``, smart-check ``measure.baseline``, scale
      ``weight``; an integer over 4,300 digits: below, and test_bad_input_everywhere
      ("401-digit integer", "4,301-digit integer" on every route), unit test_guards
(4) a client resetting its own baseline: tests/service/questionnaires/test_access_and_bad_input
    (test_only_clinical_staff_may_mark_a_baseline)
(5) secrets in logs: a rejected setting echoed, a malformed ``MONGO_URL``/``AMQP_URL`` printing
    its password: test_secrets_stay_out_of_logs, unit test_config
    (test_a_bad_value_is_named_but_never_repeated)
(6) tokens: RS256/ES256 from a provider (test_identity_provider), issuer and audience (unit
    test_auth: test_issuer_and_audience_are_checked_for_hs256_when_set), ``exp`` as a string and
    ``exp`` in the year 3000 (unit test_auth: test_bad_claims_are_refused_saying_which)
(7) ``/readyz`` opening a broker connection per call: test_processes
    (test_readyz_is_cheap_one_pooled_database_connection_and_no_broker_connection);
    ``Cache-Control: no-store``: test_access_audit (every route holding a client's records),
    test_bad_input_everywhere (every error under /v1), test_request_limits; NUL in ids:
    test_bad_input_everywhere (path, query and body ids); oversized headers and a chunked body
    over the limit under real gunicorn: test_request_limits
"""
from __future__ import annotations

import pymongo
import pytest
import requests

from services.goals import config
from services.goals.app import create_app

pytestmark = pytest.mark.integration

LIMIT_OF_PYTHON_INT_TEXT = 4300  # sys.get_int_max_str_digits(): int() of a longer literal raises
NUMBERS = {"401 digits": "1" + "0" * 400, "4,301 digits": "9" * (LIMIT_OF_PYTHON_INT_TEXT + 1)}
GOAL = ('{"client_id": "client-1", "title": "Walk after lunch", "category": "behavioral", '
        '"measure": {"kind": "count", "unit": "walks", "baseline": %s, "target": 10, "per": "week"}, '
        '"start_date": "2026-01-05", "target_date": "2026-03-16"}')
SCALE = '{"levels": {"-2": "a", "-1": "b", "0": "c", "1": "d", "2": "e"}, "weight": %s}'


@pytest.mark.parametrize("size", sorted(NUMBERS))
def test_a_huge_number_in_progress_smart_check_or_weight_is_a_422_naming_it(harness, auth, size):
    settings = harness.settings(config.SERVICE, config.OPTIONS)
    base = harness.serve(create_app(settings=settings))
    headers = {**auth(), "Content-Type": "application/json"}
    goal = requests.post(f"{base}/v1/goals", data=GOAL % 0, headers=headers, timeout=30)
    assert goal.status_code == 201, goal.text
    one = f"{base}/v1/goals/{goal.json()['id']}"
    database = pymongo.MongoClient(settings.mongo_url)[settings.database]
    stored = sorted(map(repr, database[config.HISTORY].find()))

    number = NUMBERS[size]
    for method, url, body, field in [
        ("POST", f"{one}/progress", f'{{"value": {number}}}', "value"),
        ("POST", f"{base}/v1/goals/smart-check", GOAL % number, "measure.baseline"),
        ("PUT", f"{one}/attainment-scale", SCALE % number, "weight"),
    ]:
        answer = requests.request(method, url, data=body, headers=headers, timeout=30)
        assert answer.status_code == 422, (url, answer.status_code, answer.text[:200])
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert list(answer.json()["errors"]) == [field]
    assert sorted(map(repr, database[config.HISTORY].find())) == stored
    database.client.close()
