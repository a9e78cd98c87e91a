"""The sandbox: Psoda's dialect, the RFC dialect, state, faults, seeds and samples."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.errors import InputFileError, PipelineError, UsageError
from pipeline.sandbox import (
    Faults,
    SandboxApplication,
    SandboxServer,
    build_app,
    generate_seed,
    serve,
)

BASE_URL = "http://sandbox.test/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def client_of(app: SandboxApplication, **headers: str) -> httpx.Client:
    """Return a client talking to an app in process, with the API key by default."""
    headers = headers or {"API-Key": "secret"}
    transport = httpx.WSGITransport(app=app)
    return httpx.Client(transport=transport, base_url=BASE_URL, headers=headers)


def create_user(client: httpx.Client, user_name: str, **attributes: Any) -> str:
    body = {"schemas": [USER], "userName": user_name, **attributes}
    response = client.post("/Users", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def user_names(response: httpx.Response) -> list[str]:
    return [user["userName"] for user in response.json()["Resources"]]


@pytest.fixture
def app() -> SandboxApplication:
    return build_app(api_keys=("secret",))


@pytest.fixture
def client(app: SandboxApplication) -> Iterator[httpx.Client]:
    with client_of(app) as client:
        yield client


# -- Authentication ---------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{"API-Key": "secret"}, {"Authorization": "Bearer secret"}],
    ids=["api-key", "bearer"],
)
def test_known_key_is_accepted(app: SandboxApplication, headers: dict) -> None:
    with client_of(app, **headers) as client:
        response = client.get("/Users")

    assert response.status_code == 200
    assert response.json()["totalResults"] == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Accept": "application/scim+json"},
        {"API-Key": "wrong"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic c2VjcmV0"},
        {"Authorization": "secret"},
    ],
    ids=["none", "wrong-api-key", "wrong-bearer", "basic", "no-scheme"],
)
def test_missing_or_wrong_key_is_refused(
    app: SandboxApplication, headers: dict
) -> None:
    with client_of(app, **headers) as client:
        response = client.get("/Users")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="SCIM"'
    assert response.json() == {
        "schemas": [ERROR],
        "status": "401",
        "detail": "Missing or unknown API key; send it as 'API-Key: <key>' or "
        "'Authorization: Bearer <key>'",
    }


def test_unknown_path_needs_a_key_too(app: SandboxApplication) -> None:
    with client_of(app, Accept="application/json") as client:
        assert client.get("/ServiceProviderConfig").status_code == 401


def test_sandbox_needs_an_api_key() -> None:
    with pytest.raises(ValueError, match="at least one API key"):
        build_app(api_keys=())


def test_paths_outside_the_base_path_are_not_found(app: SandboxApplication) -> None:
    with client_of(app) as client:
        response = client.get("http://sandbox.test/v2/Users")

    assert response.status_code == 404
    assert response.json()["detail"] == "The SCIM API is at /scim/v2"


# -- Listing ----------------------------------------------------------------


def test_page_size_pages_and_count_is_ignored(client: httpx.Client) -> None:
    for name in ("u1", "u2", "u3", "u4", "u5"):
        create_user(client, name)

    response = client.get("/Users", params={"startIndex": 3, "pageSize": 2, "count": 1})

    body = response.json()
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (5, 3, 2)
    assert user_names(response) == ["u3", "u4"]


def test_count_alone_does_not_page(client: httpx.Client) -> None:
    for name in ("u1", "u2", "u3"):
        create_user(client, name)

    response = client.get("/Users", params={"count": 1})

    assert user_names(response) == ["u1", "u2", "u3"]


def test_page_size_must_be_a_number(client: httpx.Client) -> None:
    response = client.get("/Users", params={"pageSize": "ten"})

    assert response.status_code == 400
    assert response.json()["detail"] == "pageSize must be a whole number, not 'ten'"


def test_lists_in_insertion_order_across_updates(client: httpx.Client) -> None:
    ids = {name: create_user(client, name) for name in ("zulu", "alpha", "mike")}
    replaced = client.put(
        f"/Users/{ids['alpha']}",
        json={"schemas": [USER], "userName": "alpha", "title": "Boss"},
    )

    response = client.get("/Users")

    assert replaced.status_code == 200
    assert user_names(response) == ["zulu", "alpha", "mike"]
    assert [user["id"] for user in response.json()["Resources"]] == list(ids.values())


def test_resource_locations_use_the_base_path(client: httpx.Client) -> None:
    user_id = create_user(client, "ana")

    response = client.get(f"/Users/{user_id}")

    assert response.json()["meta"]["location"] == f"{BASE_URL}/Users/{user_id}"


# -- What Psoda does not do -------------------------------------------------


def test_filter_is_refused(client: httpx.Client) -> None:
    response = client.get("/Users", params={"filter": 'userName eq "ana"'})

    assert response.status_code == 400
    assert response.json() == {
        "schemas": [ERROR],
        "status": "400",
        "scimType": "invalidFilter",
        "detail": "Filtering is not supported; list all resources instead",
    }


def test_patch_is_not_allowed(client: httpx.Client) -> None:
    user_id = create_user(client, "ana")
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "x"}],
    }

    response = client.patch(f"/Users/{user_id}", json=patch)

    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, GET, PUT"
    assert client.get(f"/Users/{user_id}").json().get("title") is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/ServiceProviderConfig"),
        ("GET", "/ResourceTypes"),
        ("GET", "/ResourceTypes/User"),
        ("POST", "/Bulk"),
        ("GET", "/Me"),
        ("GET", "/"),
        ("POST", "/.search"),
    ],
)
def test_other_endpoints_are_absent(
    client: httpx.Client, method: str, path: str
) -> None:
    response = client.request(method, path, json={})

    assert response.status_code == 404
    assert response.json()["detail"] == f"No SCIM endpoint at {path!r}"


def test_delete_user_suspends_and_keeps_it_listed(client: httpx.Client) -> None:
    user_id = create_user(client, "ana", active=True)

    deleted = client.delete(f"/Users/{user_id}")
    again = client.delete(f"/Users/{user_id}")

    assert (deleted.status_code, deleted.content) == (204, b"")
    assert again.status_code == 204
    assert client.get(f"/Users/{user_id}").json()["active"] is False
    listed = client.get("/Users").json()
    assert listed["totalResults"] == 1
    assert listed["Resources"][0]["active"] is False


def test_delete_unknown_user_is_not_found(client: httpx.Client) -> None:
    assert client.delete("/Users/nobody").status_code == 404


def test_delete_group_removes_it(client: httpx.Client) -> None:
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]}
    group_id = client.post("/Groups", json={**body, "displayName": "Ops"}).json()["id"]

    deleted = client.delete(f"/Groups/{group_id}")

    assert deleted.status_code == 204
    assert client.get(f"/Groups/{group_id}").status_code == 404
    assert client.get("/Groups").json()["totalResults"] == 0


def test_schemas_are_served(client: httpx.Client) -> None:
    listed = client.get("/Schemas")
    one = client.get(f"/Schemas/{ENTERPRISE}")

    assert listed.status_code == 200
    assert [schema["id"] for schema in listed.json()["Resources"]] == [
        USER,
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        ENTERPRISE,
    ]
    assert one.status_code == 200
    assert one.json()["name"] == "EnterpriseUser"


# -- RFC dialect ------------------------------------------------------------


@pytest.fixture
def rfc_client() -> Iterator[httpx.Client]:
    with client_of(build_app(dialect="rfc"), Authorization="Bearer secret") as client:
        yield client


def test_rfc_pages_with_count(rfc_client: httpx.Client) -> None:
    for name in ("u1", "u2", "u3"):
        create_user(rfc_client, name)

    response = rfc_client.get("/Users", params={"startIndex": 2, "count": 1})

    assert response.json()["totalResults"] == 3
    assert user_names(response) == ["u2"]


def test_rfc_delete_removes_user(rfc_client: httpx.Client) -> None:
    user_id = create_user(rfc_client, "ana")

    deleted = rfc_client.delete(f"/Users/{user_id}")

    assert deleted.status_code == 204
    assert rfc_client.get(f"/Users/{user_id}").status_code == 404
    assert rfc_client.get("/Users").json()["totalResults"] == 0


def test_rfc_filters_and_patches(rfc_client: httpx.Client) -> None:
    user_id = create_user(rfc_client, "ana")
    create_user(rfc_client, "bob")
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "Chef"}],
    }

    found = rfc_client.get("/Users", params={"filter": 'userName eq "ana"'})
    patched = rfc_client.patch(f"/Users/{user_id}", json=patch)

    assert user_names(found) == ["ana"]
    assert patched.status_code == 204
    assert rfc_client.get(f"/Users/{user_id}").json()["title"] == "Chef"
    assert rfc_client.get("/ServiceProviderConfig").status_code == 200


# -- State ------------------------------------------------------------------


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = build_app(state_path=state)
    with client_of(first) as client:
        ana = create_user(client, "ana", active=True)
        bob = create_user(client, "bob")
        client.delete(f"/Users/{ana}")
        before = client.get("/Users").json()["Resources"]
    first.flush()

    second = build_app(state_path=state)
    with client_of(second) as client:
        after = client.get("/Users").json()["Resources"]
        created = create_user(client, "cid")
    second.flush()

    assert after == before
    assert [user["id"] for user in after] == [ana, bob]
    assert after[0]["active"] is False
    assert created not in (ana, bob)
    saved = json.loads(state.read_text())
    assert [user["userName"] for user in saved["users"]] == ["ana", "bob", "cid"]
    assert saved["groups"] == []


def test_state_is_saved_in_the_background(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with client_of(build_app(state_path=state)) as client:
        for index in range(20):
            create_user(client, f"u{index}")

    deadline = time.monotonic() + 10
    while not state.exists() and time.monotonic() < deadline:
        time.sleep(0.05)

    saved = json.loads(state.read_text())
    assert [user["userName"] for user in saved["users"]] == [
        f"u{index}" for index in range(20)
    ]
    assert list(tmp_path.iterdir()) == [state]


def test_state_keeps_no_password(tmp_path: Path) -> None:
    app = build_app(state_path=tmp_path / "state.json")
    with client_of(app) as client:
        create_user(client, "ana", password="hunter2")
    app.flush()

    assert "hunter2" not in (tmp_path / "state.json").read_text()


def test_state_wins_over_seed(tmp_path: Path) -> None:
    state, seed = tmp_path / "state.json", tmp_path / "seed.json"
    seed.write_text(json.dumps(generate_seed(users=3, groups=1)))
    state.write_text(json.dumps({"users": [], "groups": []}))

    app = build_app(state_path=state, seed_path=seed)

    assert app.storage.resources == []


def test_seed_keeps_ids_and_meta() -> None:
    app = build_app(seed_path=SAMPLES / "seed.json")
    seed = json.loads((SAMPLES / "seed.json").read_text(encoding="utf-8"))

    with client_of(app) as client:
        zoe = client.get("/Users/u001").json()

    assert zoe["userName"] == "zoe.dubois@example.com"
    assert zoe["meta"]["created"] == seed["users"][0]["meta"]["created"]
    assert zoe["meta"]["lastModified"] == seed["users"][0]["meta"]["lastModified"]


def test_missing_seed_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist; give an existing seed"):
        build_app(seed_path=tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{", "is not valid JSON"),
        ('{"users": {}}', "is not a sandbox state"),
        (
            '{"users": [{"id": "u1", "userName": 5}]}',
            "User 'u1' is not valid SCIM: userName: Input should be a valid string",
        ),
    ],
)
def test_broken_state_is_an_input_error(
    tmp_path: Path, content: str, problem: str
) -> None:
    state = tmp_path / "state.json"
    state.write_text(content)

    with pytest.raises(InputFileError, match=problem):
        build_app(state_path=state)


# -- Faults -----------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after() -> None:
    with client_of(build_app(faults=Faults(rate_limit=2))) as client:
        statuses = [client.get("/Schemas") for _ in range(3)]

    assert [response.status_code for response in statuses] == [200, 200, 429]
    assert statuses[2].headers["Retry-After"] == "1"


def test_injected_errors_are_5xx() -> None:
    with client_of(build_app(faults=Faults(error_rate=1.0, seed=7))) as client:
        statuses = {client.get("/Users").status_code for _ in range(20)}

    assert statuses <= {500, 502, 503}
    assert len(statuses) > 1


def test_dropped_connection_after_the_write() -> None:
    app = build_app(faults=Faults(drop_rate=1.0))
    with client_of(app) as client, pytest.raises(httpx.RemoteProtocolError):
        create_user(client, "ana")

    assert [user.user_name for user in app.storage.resources] == ["ana"]


# -- Over loopback ----------------------------------------------------------


def test_server_serves_on_loopback_with_keep_alive(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    app = build_app(state_path=state)

    with SandboxServer(app, port=0) as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/scim/v2", server.url)
        headers = {"API-Key": "secret"}
        with httpx.Client(base_url=server.url, headers=headers) as client:
            for index in range(10):
                create_user(client, f"u{index}")
            listed = client.get("/Users", params={"pageSize": 4, "startIndex": 5})
            again = client.get("/Schemas")
            ports = {client_port(listed), client_port(again)}
            deleted = client.delete(f"/Users/{listed.json()['Resources'][0]['id']}")
            refused = client.get("/Users", headers={"API-Key": "wrong"})

    assert user_names(listed) == ["u4", "u5", "u6", "u7"]
    assert listed.headers["Content-Length"] == str(len(listed.content))
    assert (listed.http_version, again.http_version) == ("HTTP/1.1", "HTTP/1.1")
    assert len(ports) == 1
    assert (deleted.status_code, refused.status_code) == (204, 401)
    saved = json.loads(state.read_text())
    assert [user.get("active") for user in saved["users"]][4] is False
    assert not [t for t in threading.enumerate() if t.name.startswith("sandbox-")]


def client_port(response: httpx.Response) -> int:
    """Return the local port of a response's connection: equal ports, one connection."""
    stream = response.extensions["network_stream"]
    return int(stream.get_extra_info("client_addr")[1])


def test_server_serves_concurrent_requests() -> None:
    app = build_app(faults=Faults(latency=0.2))
    with (
        SandboxServer(app) as server,
        httpx.Client(base_url=server.url, headers={"API-Key": "secret"}) as client,
    ):
        started = time.monotonic()
        threads = [
            threading.Thread(target=client.get, args=("/Schemas",)) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started

    assert elapsed < 1.2


def test_server_drops_the_connection_on_purpose() -> None:
    app = build_app(faults=Faults(drop_rate=1.0))
    with (
        SandboxServer(app) as server,
        httpx.Client(base_url=server.url, headers={"API-Key": "secret"}) as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        client.get("/Users")


def test_server_refuses_other_hosts() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        SandboxServer(build_app(), host="0.0.0.0")


def test_serve_says_when_the_port_is_taken() -> None:
    taken = pytest.raises(PipelineError, match="choose another port with --port")
    with SandboxServer(build_app()) as server, taken:
        serve(port=server.port)


def test_serve_announces_and_saves_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    script = (
        "import sys\n"
        "from pipeline.sandbox import serve\n"
        "def announce(url, key):\n"
        "    print(url, key, flush=True)\n"
        f"serve(port=0, state_path={str(state)!r}, announce=announce)\n"
        "print('stopped', flush=True)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url, key = process.stdout.readline().split()
        with httpx.Client(base_url=url, headers={"API-Key": key}) as client:
            create_user(client, "ana")
        process.terminate()
        output, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert len(key) >= 32
    assert output == "stopped\n"
    assert process.returncode == 0
    assert [u["userName"] for u in json.loads(state.read_text())["users"]] == ["ana"]


# -- Seeds and samples ------------------------------------------------------


def test_generated_seed_is_deterministic_and_varied() -> None:
    seed = generate_seed(users=300, groups=12, seed=3)

    assert seed == generate_seed(users=300, groups=12, seed=3)
    assert seed != generate_seed(users=300, groups=12, seed=4)
    assert (len(seed["users"]), len(seed["groups"])) == (300, 12)
    users = seed["users"]
    assert len({user["userName"] for user in users}) == 300
    numbers = [user[ENTERPRISE]["employeeNumber"] for user in users]
    assert all(re.fullmatch(r"\d{5}", number) for number in numbers)
    assert any(number.startswith("0") for number in numbers)
    assert any(not user["active"] for user in users)
    assert any(not user["displayName"].isascii() for user in users)
    nested = [m for m in seed["groups"][0]["members"] if m["type"] == "Group"]
    assert [m["display"] for m in nested] == [
        "Engineering",
        "Design",
        "Data & Analytics",
    ]


def test_generated_seed_loads_on_the_sandbox(tmp_path: Path) -> None:
    seed = generate_seed(users=200, groups=20)
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))

    with client_of(build_app(seed_path=path)) as client:
        users = client.get("/Users", params={"pageSize": 1000}).json()
        groups = client.get("/Groups", params={"pageSize": 1000}).json()

    assert [user["id"] for user in users["Resources"]] == [
        u["id"] for u in seed["users"]
    ]
    assert groups["totalResults"] == 20
    manager = users["Resources"][50][ENTERPRISE]["manager"]["value"]
    assert manager in {user["id"] for user in seed["users"][:50]}


def test_sample_seed_is_a_varied_tenant() -> None:
    seed = json.loads((SAMPLES / "seed.json").read_text(encoding="utf-8"))
    users = {user["userName"]: user for user in seed["users"]}

    assert len(users) >= 60 and len(seed["groups"]) >= 6
    names = {user["displayName"] for user in users.values()}
    assert {"Zoë Dubois", "José Müller", "李雷", "Mette Ørsted"} <= names
    suspended = sorted(user["id"] for user in users.values() if not user["active"])
    assert suspended == ["u013", "u027", "u041", "u056", "u060"]
    nesting = seed["groups"][0]
    assert [m["value"] for m in nesting["members"]] == ["g02", "g03", "g04"]


def test_onboarding_sheet_tells_the_demo_story() -> None:
    seed = json.loads((SAMPLES / "seed.json").read_text(encoding="utf-8"))
    active = {user["userName"]: user["active"] for user in seed["users"]}
    with open(SAMPLES / "onboarding.csv", encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))

    new = [row["userName"] for row in rows if row["userName"] not in active]
    known = [row for row in rows if row["userName"] in active]
    assert len(new) == 7
    assert [row["active"] for row in known] == ["", "", "", "", "FALSE", "TRUE"]
    assert active[known[4]["userName"]] is True
    assert active[known[5]["userName"]] is False
    assert rows[0]["employeeNumber"] == "00977"
