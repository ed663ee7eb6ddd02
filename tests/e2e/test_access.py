"""Access control on the real deployment: team isolation, hidden data out of reach of every
route, aggregate-only scores on the test phase, and no tokens in any log."""

import numpy as np
import pytest

HR_PROBES = [
    "/static/../var/private/aim2019/validation/hr/0801.npy",
    "/static/..%2f..%2fvar%2fprivate%2faim2019%2fvalidation%2fhr%2f0801.npy",
    "/static/%2e%2e/%2e%2e/var/srchallenge.db",
    "/api/v1/phases/aim2019/validation/inputs/..%2Fhr%2F0801.npy",
    "/api/v1/phases/aim2019/validation/inputs/%2e%2e%2f%2e%2e%2f%2e%2e%2fprivate%2faim2019%2fvalidation%2fhr%2f0801.npy",
    "/api/v1/phases/aim2019/..%2F..%2Fprivate/inputs.zip",
    "/api/v1/phases/..%2Fprivate/validation/inputs.zip",
    "/competitions/..%2F..%2Fvar%2Fsrchallenge.db",
]


@pytest.fixture(scope="module")
def beta(stack):
    return stack.cli("team", "create", "beta").stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def alpha_submission(stack):
    return stack.submit_and_wait(stack.results_zip())


def test_a_team_never_sees_another_teams_submission(stack, beta, alpha_submission):
    with stack.client(beta) as client:
        assert client.get(f"/api/v1/submissions/{alpha_submission['id']}").status_code == 404
        assert alpha_submission["id"] not in {s["id"] for s in client.get("/api/v1/submissions").json()}
        taken = client.put(f"/api/v1/phases/{stack.phase}/entries/psnr", json={"submission_id": alpha_submission["id"]})
        assert taken.status_code == 404


def test_submission_ids_are_not_sequential(stack, alpha_submission):
    second = stack.submit_and_wait(stack.results_zip())
    assert len(alpha_submission["id"]) >= 20 and not alpha_submission["id"].isdigit()
    assert int(second["id"], 16) - int(alpha_submission["id"], 16) not in (1, -1)


@pytest.mark.parametrize("path", HR_PROBES)
def test_hidden_data_is_not_reachable_through_any_route(stack, path):
    hr_bytes = np.load(stack.data_dir / "private" / "aim2019" / "validation" / "hr" / "0801.npy").tobytes()[:64]
    with stack.client() as client:
        response = client.get(path)
    assert response.status_code in (400, 403, 404, 405, 422), (path, response.status_code)
    assert hr_bytes not in response.content and b"SQLite format" not in response.content


def test_test_phase_shows_aggregate_scores_only(stack):
    body = stack.submit_and_wait(stack.results_zip(), phase="aim2019/test")
    assert body["status"] == "scored" and body["psnr"] is not None
    assert body["per_image"] is None


def test_no_token_appears_in_any_log(stack, beta, alpha_submission):
    for log in stack.root.glob("*.log"):
        text = log.read_text(errors="replace")
        assert stack.token not in text and beta not in text, f"a token leaked into {log.name}"
