"""The competition's overview, rules and data pages, the board's link to the LR inputs, and the
team page's upload form, in headless Chromium over the real API (no worker: an upload stays queued)."""

import io
import time
import zipfile
from datetime import datetime, timedelta, timezone

import httpx
import numpy as np
from playwright.sync_api import expect

from bench.stack import photo_like, png_bytes
from tests.e2e.test_web import browser, page  # noqa: F401  (the playwright fixtures)


def import_hr(cli, tmp_path, phase: str) -> None:
    folder = tmp_path / f"hr-{phase}"
    folder.mkdir()
    (folder / "0801.png").write_bytes(png_bytes(photo_like(np.random.default_rng(8), 32, 48)))
    cli("dataset", "import", "--phase", f"aim2019/{phase}", "--hr", str(folder))


def test_overview_rules_and_data_say_what_the_bundle_does(cli, api, tmp_path, page):  # noqa: F811
    import_hr(cli, tmp_path, "validation")
    import_hr(cli, tmp_path, "test")
    opens = datetime.now(timezone.utc) + timedelta(days=39)
    cli("phase", "schedule", "aim2019/test", "--opens", opens.strftime("%Y-%m-%dT%H:%M:%SZ"))
    page.goto(f"{api}/competitions/aim2019")
    page.click("nav.competition-pages >> text=Overview")
    expect(page.locator("p.description")).to_contain_text("x4 single-image super-resolution on DIV2K")
    expect(page.locator("#phase-test")).to_contain_text("opens at")
    page.click("nav.competition-pages >> text=Rules")
    expect(page.locator("p.tolerances")).to_contain_text("up to 0.01 dB below the baseline's, a runtime up to 1.1×")
    expect(page.locator("ul.tracks li")).to_have_count(3)
    expect(page.locator("#phase-test")).to_contain_text("measure by re-running your code")
    page.click("nav.competition-pages >> text=Data")
    link = page.locator("#inputs-validation a.inputs")
    inputs = httpx.get(api + link.get_attribute("href"))
    assert inputs.status_code == 200 and zipfile.ZipFile(io.BytesIO(inputs.content)).namelist() == ["0801x4.png"]
    expect(page.locator("#inputs-test a.inputs")).to_have_count(0)
    expect(page.locator("#inputs-test .not-published")).to_contain_text("its LR inputs are published then")


def test_the_board_links_the_phase_inputs(cli, api, tmp_path, page):  # noqa: F811
    page.goto(f"{api}/competitions/aim2019?phase=validation")
    expect(page.locator("p.inputs")).to_contain_text("phase aim2019/validation has no inputs yet")
    import_hr(cli, tmp_path, "validation")
    deadline = time.monotonic() + 10
    while True:  # the page is served from a render up to SRCHALLENGE_LEADERBOARD_MAX_AGE_SECONDS old
        page.goto(f"{api}/competitions/aim2019?phase=validation")
        if page.locator("p.inputs a.inputs").count() or time.monotonic() > deadline:
            break
        page.wait_for_timeout(200)
    href = page.locator("p.inputs a.inputs").get_attribute("href")
    assert href == "/api/v1/phases/aim2019/validation/inputs.zip" and httpx.get(api + href).status_code == 200


def test_the_team_page_uploads_a_zip(cli, api, tmp_path, page):  # noqa: F811
    import_hr(cli, tmp_path, "validation")
    token = cli("team", "create", "formteam").stdout.strip().splitlines()[-1]
    results = tmp_path / "results.zip"
    with zipfile.ZipFile(results, "w") as zf:
        zf.writestr("0801.png", png_bytes(photo_like(np.random.default_rng(8), 32, 48)))
    page.goto(f"{api}/team")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    form = page.locator("#phase-aim2019-validation form.upload")
    form.locator("input[name=file]").set_input_files(str(results))
    form.locator("input[name=params]").fill("893936")
    form.locator("input[name=runtime]").fill("0.039")
    form.locator("input[name=runtime_baseline]").fill("0.091")
    form.locator("button[type=submit]").click()
    expect(page.locator("p.notice[role=status]")).to_contain_text("received: it is scored shortly")
    mine = httpx.get(f"{api}/api/v1/submissions", headers={"Authorization": f"Bearer {token}"}).json()
    assert [(s["phase"], s["self_params"], s["self_runtime"], s["kind"]) for s in mine] == [
        ("aim2019/validation", 893936, 0.039, "results")]
    expect(page.locator(f"#submission-{mine[0]['id']}")).to_be_visible()


def test_an_upload_form_without_its_csrf_field_records_nothing(cli, api, tmp_path):
    import_hr(cli, tmp_path, "validation")
    token = cli("team", "create", "forged").stdout.strip().splitlines()[-1]
    with httpx.Client(base_url=api) as browser_like:
        login_page = browser_like.get("/team").text
        csrf = login_page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        assert browser_like.post("/login", data={"token": token, "csrf": csrf}).status_code == 303
        refused = browser_like.post("/team/phases/aim2019/validation/submissions", data={"csrf": "wrong"},
                                    files={"file": ("r.zip", b"PK\x05\x06" + bytes(18), "application/zip")})
        assert refused.status_code == 403 and "this form expired" in refused.text
    assert httpx.get(f"{api}/api/v1/submissions", headers={"Authorization": f"Bearer {token}"}).json() == []
