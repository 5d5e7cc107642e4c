"""Schemathesis against the API's own OpenAPI schema: whatever the schema allows, no 5xx,
on SQLite and on PostgreSQL (whose 32-bit integer columns refused a cursor SQLite took).

Driven through Hypothesis directly (the schemathesis pytest plugin does not load
under this pytest): every operation, 50 generated requests each, derandomized so a
run is repeatable.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings


@pytest.fixture
def api_schema(api_on):
    return schemathesis.openapi.from_url(api_on[0] + "/openapi.json")


def test_no_server_errors(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 9
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=50, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call()
            statuses.append(response.status_code)
            assert response.status_code < 500, (case.method, case.formatted_path, case.query,
                                                response.text[:300])
            if response.status_code >= 400:  # schemathesis gives each header as a list of values
                assert response.headers["content-type"][0].startswith("application/problem+json")

        check()
    assert len(statuses) >= 9 * 20 and {200, 400, 404} <= set(statuses)
