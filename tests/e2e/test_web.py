"""The web leaderboard and team pages in real headless Chromium, against the real stack.

The stack is shared by the session, so these tests add their own teams and submissions and look
only at those rows; they never assume an empty leaderboard.
"""

import re

import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bench.stack import REPO, zip_bytes

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts"
FAST = 'web <fast> & "co"'  # markup in a team name must show as text, in the table and the plot
BIG = "web-big"
SELF_REPORTED = {"runtime_baseline": "0.1", "extra_data": "no"}


def noisy(stack, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: np.clip(v.astype(int) + rng.integers(-5, 6, v.shape), 0, 255).astype(np.uint8)
            for k, v in stack.hr.items()}


def scored(stack, data: bytes, token: str, **fields) -> str:
    response = stack.upload(data, token=token, **fields)
    assert response.status_code == 202, response.text
    body = stack.wait_scored(response.json()["id"], token=token)
    assert body["status"] == "scored", body
    return body["id"]


@pytest.fixture(scope="module")
def web(stack):
    """alpha with two ranked submissions (A, then B), FAST ranked first on params, BIG unranked."""
    tokens = {name: stack.cli("team", "create", name).stdout.strip().splitlines()[-1] for name in (FAST, BIG)}
    ids = {
        "A": scored(stack, stack.results_zip(noisy(stack, 11)), stack.token, params="900000", runtime="0.05",
                    gpu="web-A", **SELF_REPORTED),
        "B": scored(stack, stack.results_zip(noisy(stack, 12)), stack.token, params="800000", runtime="0.06",
                    gpu="web-B", **SELF_REPORTED),
        FAST: scored(stack, stack.results_zip(), tokens[FAST], params="400000", runtime="0.02", gpu="web-fast",
                     **SELF_REPORTED),
        BIG: scored(stack, stack.results_zip(noisy(stack, 13)), tokens[BIG], params="2000000", runtime="0.04",
                    gpu="web-big", **SELF_REPORTED),
    }
    return {"ids": ids, "tokens": tokens, "board": f"{stack.url}/competitions/aim2019?phase=validation"}


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser):
    context = browser.new_context()
    yield context.new_page()
    context.close()


def exactly(text: str) -> re.Pattern:
    return re.compile(f"^{re.escape(text)}$")


def row(page: Page, track: str, team: str):
    return page.locator(f"#track-{track} tbody tr").filter(has=page.locator("td.team", has_text=exactly(team)))


def column(page: Page, track: str, name: str) -> list[str]:
    """The first line of each cell (a second line is the other source's figure)."""
    return [cell.split("\n")[0].strip() for cell in page.locator(f"#track-{track} tbody td.{name}").all_inner_texts()]


def ranks(page: Page, track: str) -> dict[str, str]:
    return dict(zip(column(page, track, "team"), column(page, track, "rank")))


def test_tabs_switch_in_place_with_javascript(web, page):
    page.goto(web["board"])
    expect(page.locator("#track-params")).to_be_visible()
    expect(page.locator("#track-psnr")).to_be_hidden()
    page.get_by_role("link", name="Track 3: Fidelity").click()
    expect(page.locator("#track-psnr")).to_be_visible()
    expect(page.locator("#track-params")).to_be_hidden()
    assert "track=psnr" in page.url


def test_tabs_work_without_javascript(web, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(web["board"])
    page.get_by_role("link", name="Track 2: Inference").click()
    page.wait_for_url("**track=runtime**")
    expect(page.locator("#track-runtime")).to_be_visible()
    expect(page.locator("#track-params")).to_be_hidden()
    expect(page.get_by_role("link", name="Track 2: Inference")).to_have_attribute("aria-current", "page")
    context.close()


def test_baseline_is_highlighted_and_unranked_rows_say_why(web, page):
    page.goto(web["board"] + "&track=psnr")
    baseline = page.locator("#track-psnr tr.baseline")
    expect(baseline).to_have_count(1)
    expect(baseline.locator("td.team")).to_have_text("Baseline")
    background = baseline.evaluate("tr => getComputedStyle(tr).backgroundColor")
    plain = row(page, "psnr", FAST).evaluate("tr => getComputedStyle(tr).backgroundColor")
    assert background != plain
    big = row(page, "psnr", BIG)
    expect(big).to_have_class("unranked")
    expect(big.locator("td.rank")).to_have_text("−")
    expect(big.locator("td.reason")).to_contain_text("2,000,000 parameters exceed the baseline's 1,517,571")
    expect(row(page, "psnr", FAST).locator("td.team")).to_have_text(FAST)


def params_key(cell: str) -> float:
    return float(cell.replace(",", ""))


def test_sorting_reorders_rows_and_keeps_ranks(web, page):
    page.goto(web["board"] + "&track=params")
    before = ranks(page, "params")
    assert before[FAST] != "−" and before[BIG] == "−"
    page.locator("#track-params th.params a").click()
    page.wait_for_url("**sort=params&dir=asc**")
    figures = [c for c in column(page, "params", "params") if c != "n/a"]
    assert figures == sorted(figures, key=params_key) and len(figures) >= 4
    assert ranks(page, "params") == before
    page.locator("#track-params th.params a").click()
    page.wait_for_url("**dir=desc**")
    figures = [c for c in column(page, "params", "params") if c != "n/a"]
    assert figures == sorted(figures, key=params_key, reverse=True)
    expect(page.locator("#track-params th.params")).to_have_attribute("aria-sort", "descending")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "leaderboard.png"), full_page=True)


def test_the_pareto_plot_has_a_marker_per_entry(web, page):
    page.goto(web["board"])
    plot = page.locator("svg.pareto")
    expect(plot).to_be_visible()
    for team in ("Baseline", FAST, BIG):
        expect(plot.locator("g.point text.label", has_text=exactly(team))).to_have_count(1)
    # alpha's two submissions (A, B): one marker each that stands on some track — one or two,
    # as other tests may choose a different standing entry per track; at most one per submission
    assert 1 <= plot.locator("g.point text.label", has_text=exactly("alpha")).count() <= 2
    expect(plot.locator("g.point.unranked text.label", has_text=exactly(BIG))).to_have_count(1)
    expect(plot.locator("line.baseline-psnr")).to_have_count(1)
    expect(plot.locator("line.baseline-runtime")).to_have_count(1)


def login(page: Page, stack, token: str) -> None:
    page.goto(f"{stack.url}/team")
    page.get_by_label("Team token").fill(token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{stack.url}/team")


def stand_with(page: Page, stack, submission_id: str, track: str = "psnr") -> None:
    form = page.locator("#phase-aim2019-validation tr.entry[data-track='%s'] form" % track)
    form.locator("select").select_option(submission_id)
    form.get_by_role("button").click()
    expect(page.get_by_role("status")).to_have_text("Your entry was saved.")


def test_login_lists_submissions_and_the_entry_form_decides_what_stands(web, stack, page):
    login(page, stack, stack.token)
    expect(page.get_by_role("heading", name="Team alpha")).to_be_visible()
    for key in ("A", "B"):
        expect(page.locator(f"#submission-{web['ids'][key]}")).to_contain_text("scored")
    expect(page.locator("table.per-image").first).to_be_attached()
    cookie = next(c for c in page.context.cookies() if c["name"] == "srchallenge_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and stack.token not in cookie["value"]
    for key in ("A", "B", "A"):
        page.goto(f"{stack.url}/team")
        stand_with(page, stack, web["ids"][key])
        page.goto(web["board"] + "&track=psnr")
        expect(row(page, "psnr", "alpha").locator("td.gpu")).to_have_text(f"web-{key}")


def test_posts_without_the_csrf_token_are_refused(web, stack, page):
    login(page, stack, stack.token)
    form = {"phase": "aim2019/validation", "track": "psnr", "submission_id": web["ids"]["B"]}
    assert page.context.request.post(f"{stack.url}/team/entries", form=form).status == 403
    assert page.context.request.post(f"{stack.url}/team/entries", form={**form, "csrf": "forged"}).status == 403
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    accepted = page.context.request.post(f"{stack.url}/team/entries", form={**form, "csrf": csrf}, max_redirects=0)
    assert accepted.status == 303, "the same request with the page's token goes through"
    assert page.context.request.post(f"{stack.url}/logout", form={}).status == 403
    page.get_by_role("button", name="Log out").click()
    page.goto(f"{stack.url}/team")
    expect(page.get_by_label("Team token")).to_be_visible()


def test_a_wrong_token_is_refused_on_the_login_page(web, stack, page):
    login_page = page.goto(f"{stack.url}/team")
    assert login_page.ok
    page.get_by_label("Team token").fill("srt_not-a-token")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("unknown or revoked team token")


def test_pending_submissions_refresh_the_team_page(web, stack, page):
    # a team of its own: a new submission of web-big's would replace its entry on the board
    token = stack.cli("team", "create", "web-pending").stdout.strip().splitlines()[-1]
    stack.stop("worker")
    try:
        pending = stack.upload(stack.results_zip(noisy(stack, 14)), token=token).json()["id"]
        login(page, stack, token)
        expect(page.locator(f"#submission-{pending} td.status")).to_have_text(re.compile(r"^submitted\s*\d+ in line"))
        expect(page.locator("meta[http-equiv=refresh]")).to_have_attribute("content", "5")
    finally:
        stack.start_worker()
    stack.wait_scored(pending, token=token)
    # No reload by the test: the page's own refresh must bring the new status (a reload of ours
    # would race the browser's).
    expect(page.locator(f"#submission-{pending} td.status")).to_have_text("scored", timeout=20_000)
    expect(page.locator("meta[http-equiv=refresh]")).to_have_count(0)


def test_entries_api(web, stack):
    path = "/api/v1/phases/aim2019/validation/entries"
    failed = stack.upload(zip_bytes({}), token=stack.token).json()["id"]
    stack.wait_scored(failed)
    with stack.client() as client:
        response = client.put(f"{path}/psnr", json={"submission_id": web["ids"]["B"]})
        assert response.status_code == 200 and response.json() == {"track": "psnr", "submission_id": web["ids"]["B"]}
        board = client.get("/api/v1/phases/aim2019/validation/leaderboard?track=psnr").json()
        assert next(r for r in board["tracks"][0]["rows"] if r["team"] == "alpha")["gpu"] == "web-B"
        assert client.put(f"{path}/psnr", json={"submission_id": web["ids"][FAST]}).status_code == 404
        assert client.put(f"{path}/nope", json={"submission_id": web["ids"]["B"]}).status_code == 404
        assert client.put(f"{path}/psnr", json={"submission_id": failed}).status_code == 409
        # undo: the latest scored submission in the track stands again (A is older than B)
        assert client.put(f"{path}/psnr", json={"submission_id": web["ids"]["A"]}).status_code == 200
        assert psnr_row(client, "alpha")["gpu"] == "web-A"
        assert client.delete(f"{path}/psnr").status_code == 204
        latest = next(s for s in client.get("/api/v1/submissions").json()
                      if s["status"] == "scored" and "psnr" in s["tracks"] and s["phase"] == "aim2019/validation")
        assert latest["id"] != web["ids"]["A"] and psnr_row(client, "alpha")["gpu"] == latest["gpu"]
        assert client.delete(f"{path}/psnr").status_code == 204, "clearing twice is harmless"
        assert client.delete(f"{path}/nope").status_code == 404
    assert httpx.put(f"{stack.url}{path}/psnr", json={"submission_id": web["ids"]["B"]}).status_code == 401
    assert httpx.delete(f"{stack.url}{path}/psnr").status_code == 401


def psnr_row(client, team: str) -> dict:
    board = client.get("/api/v1/phases/aim2019/validation/leaderboard?track=psnr").json()
    return next(r for r in board["tracks"][0]["rows"] if r["team"] == team)


def test_pages_send_security_headers(web, stack):
    for url in ("/", "/competitions/aim2019", "/team"):
        headers = httpx.get(stack.url + url).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["referrer-policy"]
    assert httpx.get(f"{stack.url}/static/style.css").headers["content-type"].startswith("text/css")


def test_a_results_zip_to_a_phase_ranking_measured_figures_is_told_to_submit_code(web, stack, page):
    token = stack.cli("team", "create", "web-results-only").stdout.strip().splitlines()[-1]
    measured = stack.upload(stack.results_zip(noisy(stack, 15)), token=token, phase="aim2019/test")
    assert measured.status_code == 202, measured.text
    assert "Submit your code" in measured.json()["notice"]
    self_reported = stack.upload(stack.results_zip(noisy(stack, 16)), token=token)
    assert self_reported.status_code == 202 and self_reported.json()["notice"] is None
    body = stack.wait_scored(measured.json()["id"], token=token)
    assert body["notice"] == measured.json()["notice"]
    stack.wait_scored(self_reported.json()["id"], token=token)
    login(page, stack, token)
    expect(page.locator(f"#submission-{measured.json()['id']} small.notice")).to_contain_text("Submit your code")
    expect(page.locator(f"#submission-{self_reported.json()['id']} small.notice")).to_have_count(0)


def test_api_docs_render_with_no_internet(stack, page):
    """/docs and /redoc loaded Swagger UI and ReDoc from a CDN: blank pages on a server without internet."""
    outside = []

    def only_this_server(route):
        if route.request.url.startswith(stack.url):
            route.continue_()
        else:
            outside.append((route.request.resource_type, route.request.url))
            route.abort()

    page.route("**/*", only_this_server)
    page.goto(f"{stack.url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("srchallenge")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert outside == []
    page.goto(f"{stack.url}/redoc")
    expect(page.locator("h1", has_text="srchallenge")).to_be_visible()
    # ReDoc's own "API docs by Redocly" badge is an image on its CDN: cosmetic, and nothing else is
    assert {kind for kind, _url in outside} <= {"image"}, outside
