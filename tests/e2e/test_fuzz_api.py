"""The whole API fuzzed from its own OpenAPI spec against the real deployment: no 5xx, and every
response that the spec documents matches its declared schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance


@pytest.fixture(scope="module")
def api_schema(stack):
    return schemathesis.openapi.from_url(f"{stack.url}/openapi.json")


@pytest.fixture(scope="module")
def fuzzer_token(stack):
    """A team of its own: what the fuzzer uploads or chooses must not move other tests' entries."""
    return stack.cli("team", "create", "fuzzer").stdout.strip().splitlines()[-1]


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_survives_fuzzing(case, fuzzer_token):
    # as a team, so authenticated routes are exercised beyond the 401
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzzer_token}"},
                           checks=[not_a_server_error, response_schema_conformance])
