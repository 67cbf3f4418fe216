"""The GUI in real headless Chromium: sign in, register a source, start a scan, watch its progress
arrive live, read a drifted resource's diff; a Viewer is refused where a Viewer may not act.

Tests ask for `browser` before `gui`: without Chromium they skip (or fail in CI) before any server starts.
"""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import Gui, sign_in

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def test_operator_scans_and_reads_the_diff(browser: Any, expect: Any, gui: Gui) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()

    sign_in(page, gui, "olga")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    gui.shot(page, "01-dashboard-empty")

    page.get_by_role("link", name="Sources").click()
    page.get_by_label("Name").fill("prod")
    page.get_by_label("State URL or path").fill(str(gui.state))
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#sources")).to_contain_text("prod")
    gui.shot(page, "02-source-registered")

    # no worker runs yet: the job stays queued until the page is open, then progress must arrive live
    page.get_by_role("link", name="Scans").click()
    page.get_by_label(re.compile("prod")).check()
    page.get_by_role("button", name="Start scan").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+$"))
    expect(page.locator("#job-status")).to_have_text("queued")
    expect(page.locator("#job")).to_have_attribute("data-live", "websocket")  # subscribed to job events
    gui.shot(page, "03-job-queued")
    page.evaluate("window.__sameDocument = true")  # a reload or navigation would drop it
    gui.platform.jobs.start()
    expect(page.locator("#job-status")).to_have_text("succeeded", timeout=60_000)
    assert page.evaluate("window.__sameDocument === true"), "the job page reloaded instead of updating"
    expect(page.locator("#job-percent")).to_have_text("100%")
    live = int(page.locator("#job").get_attribute("data-events") or 0)
    assert live >= 2, f"only {live} job event(s) arrived over the WebSocket"  # started, progress, succeeded
    gui.shot(page, "04-job-succeeded-live")

    page.get_by_role("link", name="Open the scan report").click()
    table = page.locator("#resources")
    expect(table).to_contain_text("aws_vpc.main")
    expect(table).to_contain_text("drifted")
    gui.shot(page, "05-scan-resources")
    page.get_by_role("link", name="aws_vpc.main").click()
    row = page.locator("#diff tbody tr", has_text="Name")
    expect(row.locator("td.expected")).to_have_text("main")
    expect(row.locator("td.actual")).to_have_text("changed-by-hand")
    gui.shot(page, "06-resource-diff")

    # filters narrow the list server-side
    page.go_back()
    page.get_by_label("Status").select_option("missing")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("No resource out of sync matches these filters")).to_be_visible()
    page.get_by_label("Status").select_option("")
    page.get_by_label("Search").fill("MAIN")
    page.get_by_label("Sort by").select_option("severity")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#resources")).to_contain_text("aws_vpc.main")
    page.get_by_label("Search").fill("no-such-resource")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#resources")).to_have_count(0)

    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("svg.chart circle")).to_have_count(1)
    expect(page.locator(".status-drifted .big")).to_have_text("1")
    gui.shot(page, "07-dashboard-after-scan")

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    mobile = phone.new_page()
    mobile.context.add_cookies(context.cookies())
    mobile.goto(f"{gui.url}/")
    expect(mobile.get_by_role("heading", name="Dashboard")).to_be_visible()
    width = mobile.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the dashboard scrolls sideways on a phone ({width}px)"
    gui.shot(mobile, "08-dashboard-phone")
    phone.close()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile("/login$"))
    page.goto(f"{gui.url}/scans")
    page.wait_for_url(re.compile(r"/login\?next=/scans$"))
    context.close()


def test_viewer_is_refused_and_sees_no_actions(browser: Any, expect: Any, gui: Gui) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, gui, "admin")
    page.goto(f"{gui.url}/sources")
    page.get_by_label("Name").fill("prod")
    page.get_by_label("State URL or path").fill(str(gui.state))
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#sources")).to_contain_text("prod")
    context.clear_cookies()

    sign_in(page, gui, "vic")
    page.goto(f"{gui.url}/scans")
    expect(page.get_by_role("button", name="Start scan")).to_have_count(0)
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    page.goto(f"{gui.url}/sources")
    expect(page.get_by_role("button", name="Register")).to_have_count(0)

    # post the scan form anyway, with the viewer's own valid CSRF token: the server refuses it
    page.goto(f"{gui.url}/scans")
    page.evaluate(
        """() => {
            const csrf = document.querySelector('form[action="/logout"] input[name=csrf_token]').value;
            const f = document.createElement('form');
            f.method = 'post'; f.action = '/scans';
            for (const [k, v] of [['csrf_token', csrf], ['sources', 'prod']]) {
                const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v;
                f.appendChild(i);
            }
            document.body.appendChild(f); f.submit();
        }"""
    )
    expect(page.get_by_role("heading", name=re.compile("Not allowed"))).to_be_visible()
    expect(page.locator("#error-message")).to_contain_text("scans:run")
    gui.shot(page, "09-viewer-refused")
    assert gui.platform.jobs.list(kind="drift") == [], "the refused scan was queued"

    page.goto(f"{gui.url}/users")
    expect(page.get_by_role("heading", name=re.compile("Not allowed"))).to_be_visible()
    context.close()


def test_readable_without_javascript(browser: Any, expect: Any, gui: Gui) -> None:
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, gui, "admin")
    for path, heading in [
        ("/", "Dashboard"),
        ("/scans", "Scans"),
        ("/sources", "State sources"),
        ("/schedules", "Schedules"),
        ("/notifications", "Notification channels"),
        ("/users", "Users"),
        ("/tokens", "API tokens"),
        ("/audit", "Audit log"),
    ]:
        response = page.goto(f"{gui.url}{path}")
        assert response is not None and response.status == 200, path
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    page.get_by_role("link", name="Verify the hash chain").click()
    expect(page.locator("#verify-result")).to_contain_text("Chain intact")
    gui.shot(page, "10-audit-no-js")
    page.goto(f"{gui.url}/tokens")
    page.get_by_label("Name").fill("ci")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_have_text(re.compile(r"^dm_"))
    context.close()
