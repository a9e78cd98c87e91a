"""Paging against faulty servers (cases C01 and C03) and the roster frames."""

from __future__ import annotations

import logging

import pytest

from pipeline.columns import Layout
from pipeline.extract import fetch_all, members_frame, users_frame
from pipeline.scim.schema import builtin_user_schema
from tests.replay import ReplayServer, load_case


@pytest.mark.parametrize(
    "fixture", ["c01a_capped_pages.json", "c01b_capped_pages.json"]
)
def test_capped_pages_are_followed_by_what_arrived(wsgi_client, fixture):
    case = load_case(fixture)
    server = ReplayServer(case)
    client = wsgi_client(server, dialect="rfc")

    listing = fetch_all(client, "Users", case["client_page_size"])

    assert [r["id"] for r in listing.resources] == case["expected"]["exported_ids"]
    assert listing.complete
    assert server.start_indexes == [1, 4, 7]
    assert [r["count"] for r in server.requests] == ["5", "5", "5"]


def test_short_page_is_not_the_end_and_is_reported_incomplete(wsgi_client, caplog):
    case = load_case("c03a_short_page_is_not_the_end.json")
    server = ReplayServer(case)
    client = wsgi_client(server, dialect="rfc")

    with caplog.at_level(logging.WARNING, logger="pipeline"):
        listing = fetch_all(client, "Users", case["client_page_size"])

    assert [r["id"] for r in listing.resources] == case["expected"]["exported_ids"]
    assert not listing.complete
    assert listing.announced == 12
    first_pass = server.start_indexes[: len(server.start_indexes) // 2]
    acceptable = [
        [r["query"]["startIndex"] for r in case["expected_requests"]],
        *case["expected_requests_also_acceptable"],
    ]
    assert first_pass in acceptable
    assert max(server.start_indexes) > 6
    assert caplog.messages == [
        "Users: totalResults said 12 but 11 distinct resources were received"
    ]


def test_full_page_never_ends_the_export(wsgi_client):
    case = load_case("c03b_wrong_total_results.json")
    server = ReplayServer(case)
    client = wsgi_client(server, dialect="rfc")

    listing = fetch_all(client, "Users", case["client_page_size"])

    assert [r["id"] for r in listing.resources] == ["u01", "u02", "u03", "u04", "u05"]
    assert listing.complete
    assert server.start_indexes[:3] == [1, 3, 5]


def test_server_ignoring_start_index_is_incomplete(wsgi_client):
    case = load_case("c03a_short_page_is_not_the_end.json")
    first_page = case["responses_by_startIndex"]["1"]
    case["responses_by_startIndex"] = {}
    case["default_response"] = first_page
    server = ReplayServer(case)
    client = wsgi_client(server, dialect="rfc")

    listing = fetch_all(client, "Users", 5)

    assert len(listing.resources) == 5
    assert not listing.complete
    assert server.start_indexes == [1, 6, 11, 1, 6, 11]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_serial_and_parallel_paging_find_the_same(wsgi_client, concurrency):
    case = load_case("c03a_short_page_is_not_the_end.json")
    server = ReplayServer(case)
    client = wsgi_client(server, dialect="rfc", concurrency=concurrency)

    listing = fetch_all(client, "Users", case["client_page_size"])

    assert [r["id"] for r in listing.resources] == case["expected"]["exported_ids"]
    expected_first_pass = [1, 6, 10] if concurrency == 1 else [1, 6, 11]
    assert server.start_indexes[:3] == expected_first_pass


def test_psoda_dialect_pages_with_page_size(wsgi_client):
    server = ReplayServer(load_case("c01a_capped_pages.json"))
    client = wsgi_client(server)

    fetch_all(client, "Users", 5)

    assert server.requests[0] == {
        "path": "/scim/v2/Users",
        "startIndex": "1",
        "pageSize": "5",
    }


def test_users_frame_names_manager_and_groups():
    users = [
        {"id": "m1", "userName": "boss@example.com", "active": True},
        {
            "id": "u1",
            "userName": "ana@example.com",
            "emails": [
                {"value": "ana@example.com", "type": "work", "primary": True},
                {"value": "ana@home.example", "type": "home"},
                {"value": "ana2@example.com", "type": "work"},
                {"value": "untyped@example.com"},
            ],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "00912",
                "manager": {"value": "m1"},
            },
        },
    ]
    groups = [
        {
            "id": "g1",
            "displayName": "Staff",
            "members": [{"value": "u1"}, {"value": "g2"}],
        },
        {
            "id": "g2",
            "displayName": "Field",
            "members": [{"value": "u1", "type": "User"}],
        },
    ]

    frame = users_frame(users, groups, Layout(builtin_user_schema()))
    members = members_frame(users, groups)

    assert list(frame.columns) == [
        "id",
        "userName",
        "active",
        "emails.work",
        "emails.work.2",
        "emails.home",
        "emails.other",
        "emails.primary",
        "employeeNumber",
        "manager",
        "groups",
    ]
    ana = frame.iloc[1].to_dict()
    assert ana["manager"] == "boss@example.com"
    assert ana["groups"] == "Field;Staff"
    assert ana["emails.primary"] == "work"
    assert ana["active"] is None
    assert frame.iloc[0]["active"] is True
    assert members.values.tolist() == [
        ["g1", "Staff", "u1", "User", "ana@example.com"],
        ["g1", "Staff", "g2", "Group", "Field"],
        ["g2", "Field", "u1", "User", "ana@example.com"],
    ]
