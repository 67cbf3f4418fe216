"""The remediation workflow in real headless Chromium: an Operator scans and builds a plan from the
scan; an Approver reads the diff and the exact API call and approves; the Operator applies it and the
page follows the run to `succeeded` — and the tag is back in the (moto) cloud.

Tests ask for `browser` before `gui`: without Chromium they skip (or fail in CI) before any server starts.
"""

from __future__ import annotations

import re
from typing import Any

import boto3

from driftmgr.services.access import AccessService, Actor
from tests.web.conftest import PASSWORD, Gui, sign_in

DESKTOP = {"width": 1280, "height": 900}


def _vpc_name(gui: Gui) -> str:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.70.0.0/16"]}])["Vpcs"]
    return str({t["Key"]: t["Value"] for t in vpcs[0].get("Tags", [])}["Name"])


def test_plan_review_approve_and_apply_in_the_browser(browser: Any, expect: Any, gui: Gui) -> None:
    AccessService(gui.platform.settings, gui.platform.db).add_user(
        Actor.cli(), "alice", PASSWORD, ["approver"]
    )
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()

    sign_in(page, gui, "olga")
    page.get_by_role("link", name="Sources").click()
    page.get_by_label("Name").fill("prod")
    page.get_by_label("State URL or path").fill(str(gui.state))
    page.get_by_role("button", name="Register").click()
    page.get_by_role("link", name="Scans").click()
    page.get_by_label(re.compile("prod")).check()
    page.get_by_role("button", name="Start scan").click()
    gui.platform.jobs.start()
    expect(page.locator("#job-status")).to_have_text("succeeded", timeout=60_000)

    page.get_by_role("link", name="Remediation").click()
    page.get_by_role("button", name="Build plan").click()
    page.wait_for_url(re.compile(r"/remediation/[0-9a-f]+$"))
    plan_url = page.url
    expect(page.locator("#plan-status")).to_have_text("pending")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)  # operators do not approve
    gui.shot(page, "r1-plan-pending")
    context.clear_cookies()

    sign_in(page, gui, "alice")
    page.goto(plan_url)
    action = page.locator("section.action", has_text="aws_vpc.main")
    row = action.locator("table.diff tbody tr", has_text="tags.Name")
    expect(row.locator("td.expected")).to_have_text("main")
    expect(row.locator("td.actual")).to_have_text("changed-by-hand")
    expect(action.locator("ol.steps")).to_contain_text("ec2.create_tags")
    gui.shot(page, "r2-approver-reviews")
    page.get_by_label("Comment (required to reject)").fill("the tag must say main")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#plan-status")).to_have_text("approved")
    expect(page.locator("#comments")).to_contain_text("the tag must say main")
    expect(page.get_by_role("button", name="Apply")).to_have_count(0)  # approvers do not execute
    context.clear_cookies()

    sign_in(page, gui, "olga")
    page.goto(plan_url)
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#plan-status")).to_have_text("succeeded", timeout=60_000)  # the page refreshes
    expect(page.locator("#outcome")).to_contain_text("in sync")
    gui.shot(page, "r3-plan-succeeded")
    assert _vpc_name(gui) == "main"
    context.close()
