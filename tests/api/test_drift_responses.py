"""Stored scans' reports and item pages: built once, kept, served with an ETag — and still behind the
access rule on every request, whoever asked first."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event

from driftmgr.services.history import HistoryService
from tests.api.conftest import Api
from tests.services.test_history import PROD, report


def _store(api: Api) -> str:
    doc = report(
        datetime(2026, 12, 1, tzinfo=UTC), {"vpc-1": "drifted", "vpc-2": "missing", "vpc-3": "unmanaged"}
    )
    return HistoryService(api.platform.db).record(doc, sources=[PROD])


def _count_queries(api: Api) -> list[str]:
    seen: list[str] = []
    event.listen(api.platform.db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_a_report_and_its_items_are_read_once_then_served_with_an_etag(api: Api) -> None:
    scan_id = _store(api)
    viewer = api.as_role("viewer")
    first = api.client.get(f"/api/v1/drift/scans/{scan_id}", headers=viewer)
    assert first.status_code == 200 and first.json()["summary"]["drifted"] == 1
    items = api.client.get(
        f"/api/v1/drift/scans/{scan_id}/items", params={"status": "drifted"}, headers=viewer
    )
    assert items.status_code == 200
    assert (items.json()["total"], items.json()["items"][0]["id"]) == (1, "vpc-1")

    queries = _count_queries(api)
    again = api.client.get(f"/api/v1/drift/scans/{scan_id}", headers=viewer)
    same = api.client.get(
        f"/api/v1/drift/scans/{scan_id}/items", params={"status": "drifted"}, headers=viewer
    )
    assert (again.content, same.content) == (first.content, items.content)
    assert queries == []  # neither the token (cached for seconds) nor the scan needed the database

    for r in (first, items):
        etag = r.headers["etag"]
        url = str(r.request.url)
        assert api.client.get(url, headers={**viewer, "If-None-Match": etag}).status_code == 304
        assert api.client.get(url, headers={**viewer, "If-None-Match": f'W/{etag}, "x"'}).status_code == 304
        assert api.client.get(url, headers={**viewer, "If-None-Match": '"other"'}).status_code == 200

    other = api.client.get(
        f"/api/v1/drift/scans/{scan_id}/items", params={"status": "missing"}, headers=viewer
    )
    assert [i["id"] for i in other.json()["items"]] == ["vpc-2"]  # another query, another page
    page = api.client.get(
        f"/api/v1/drift/scans/{scan_id}/items", params={"limit": 1, "offset": 2}, headers=viewer
    )
    assert (page.json()["total"], [i["id"] for i in page.json()["items"]]) == (3, ["vpc-3"])


def test_a_cached_answer_is_still_refused_to_those_without_the_permission(api: Api) -> None:
    scan_id = _store(api)
    url = f"/api/v1/drift/scans/{scan_id}"
    assert api.client.get(url, headers=api.as_role("admin")).status_code == 200  # now cached
    assert api.client.get(url).status_code == 401
    assert api.client.get(url, headers={"Authorization": "Bearer dm_nottoken"}).status_code == 401
    assert api.client.get(f"{url}/items").status_code == 401


def test_a_revoked_token_is_refused_at_once_though_its_caller_was_cached(api: Api) -> None:
    scan_id = _store(api)
    url = f"/api/v1/drift/scans/{scan_id}"
    viewer = api.as_role("viewer")
    assert api.client.get(url, headers=viewer).status_code == 200
    prefix = api.tokens["viewer"][:11]
    assert api.client.delete(f"/api/v1/tokens/{prefix}", headers=api.as_role("admin")).status_code in (
        200,
        204,
    )
    assert api.client.get(url, headers=viewer).status_code == 401


def test_unknown_scans_are_404_and_not_kept(api: Api) -> None:
    for path in ("/api/v1/drift/scans/nope", "/api/v1/drift/scans/nope/items"):
        r = api.client.get(path, headers=api.as_role("viewer"))
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    scan_id = _store(api)  # a scan stored afterwards is found: nothing negative was kept
    assert api.client.get(f"/api/v1/drift/scans/{scan_id}", headers=api.as_role("viewer")).status_code == 200


def test_the_scan_list_shows_a_new_scan_at_once(api: Api) -> None:
    admin = api.as_role("admin")
    assert api.client.get("/api/v1/drift/scans", headers=admin).json()["items"] == []
    scan_id = _store(api)
    assert [s["id"] for s in api.client.get("/api/v1/drift/scans", headers=admin).json()["items"]] == [
        scan_id
    ]
