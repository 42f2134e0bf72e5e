"""Keboola's own Python client (kbcstorage, from PyPI) managing configurations on berth.

Run by runtime/server/tests/all/kbcstorage_client.rs as: python kbcstorage_client.py URL TOKEN
READ_ONLY_TOKEN. Every check is an assert; the last line printed is "kbcstorage: ok".
"""

import json
import sys

import requests
from kbcstorage.client import Client

url, token, read_only_token = sys.argv[1], sys.argv[2], sys.argv[3]
client = Client(url, token)  # branch "default", as the client defaults to
configs = client.configurations
COMPONENT = "acme.a"


def expect_http_error(status, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except requests.HTTPError as error:
        assert error.response.status_code == status, (status, error.response.text)
        body = error.response.json()
        assert body["status"] == "error" and body["code"] == status, body
        return body["error"]
    raise AssertionError(f"expected HTTP {status}")


# Configurations: create (JSON body), detail, list.
created = configs.create(
    COMPONENT,
    "From Python",
    description="made by kbcstorage",
    configuration={"parameters": {"#password": "py-secret-1", "n": 1}},
    change_description="created by the client",
    configuration_id="py1",
)
assert created["id"] == "py1", created
assert created["name"] == "From Python", created
assert created["description"] == "made by kbcstorage", created
assert created["isDisabled"] is False, created
assert created["configuration"]["parameters"]["n"] == 1, created
secret = created["configuration"]["parameters"]["#password"]
assert secret.startswith("KBC::ProjectSecure::"), secret

detail = configs.detail(COMPONENT, "py1")
assert detail["id"] == "py1" and detail["version"] == created["version"], detail
generated = configs.create(COMPONENT, "Generated id")
assert generated["id"] and generated["id"] != "py1", generated
listed = configs.list(COMPONENT)
assert sorted(c["id"] for c in listed) == sorted(["py1", generated["id"]]), listed

# Update: the client's own call when it has one, else its endpoint plumbing with the Storage
# API's form body (configuration as a JSON string).
config_url = f"{configs.base_url}/{COMPONENT}/configs/py1"
new_configuration = {"parameters": {"#password": "py-secret-2", "n": 2}}
if hasattr(configs, "update"):
    updated = configs.update(
        COMPONENT, "py1", name="Renamed", configuration=new_configuration, is_disabled=True
    )
else:
    updated = configs._put(
        config_url,
        data={
            "name": "Renamed",
            "configuration": json.dumps(new_configuration),
            "isDisabled": "true",
            "changeDescription": "renamed",
        },
    )
assert updated["name"] == "Renamed", updated
assert updated["isDisabled"] is True, updated
assert updated["configuration"]["parameters"]["n"] == 2, updated
assert "py-secret-2" not in json.dumps(updated), updated
assert updated["version"] > created["version"], updated

# Rows: create, update (isDisabled), delete.
row = configs._post(
    f"{config_url}/rows",
    data={
        "rowId": "r1",
        "name": "Row",
        "configuration": json.dumps({"parameters": {"#key": "py-secret-3"}}),
    },
)
assert row["id"] == "r1" and row["isDisabled"] is False, row
assert row["configuration"]["parameters"]["#key"].startswith("KBC::ProjectSecure::"), row
row = configs._put(f"{config_url}/rows/r1", data={"isDisabled": "true", "name": "Row 1"})
assert row["isDisabled"] is True and row["name"] == "Row 1", row
assert configs.detail(COMPONENT, "py1")["rowsSortOrder"] == ["r1"]
configs._delete(f"{config_url}/rows/r1")
assert configs.detail(COMPONENT, "py1")["rows"] == []

# State.
if hasattr(configs, "update_state"):
    configs.update_state(COMPONENT, "py1", {"component": {"cursor": 5}})
else:
    configs._put(f"{config_url}/state", data={"state": json.dumps({"component": {"cursor": 5}})})
assert configs.detail(COMPONENT, "py1")["state"]["component"]["cursor"] == 5

# Components with their configurations, the token.
components = client.components.list(include=["configuration", "rows", "state"])
ours = [c for c in components if c["id"] == COMPONENT][0]
assert "py1" in [c["id"] for c in ours["configurations"]], ours
verify = client.tokens.verify()
assert verify["owner"]["id"] and verify["owner"]["defaultBackend"], verify

# Errors reach the client as HTTP errors with berth's messages.
message = expect_http_error(404, configs.detail, COMPONENT, "nope")
assert message == 'configuration "nope" of component "acme.a" does not exist', message
message = expect_http_error(409, configs.create, COMPONENT, "again", configuration_id="py1")
assert "already exists" in message, message
reader = Client(url, read_only_token)
message = expect_http_error(403, reader.configurations.create, COMPONENT, "not allowed")
assert "read-only" in message, message
assert reader.configurations.detail(COMPONENT, "py1")["id"] == "py1"

# Delete.
configs.delete(COMPONENT, "py1")
configs.delete(COMPONENT, generated["id"])
expect_http_error(404, configs.detail, COMPONENT, "py1")
assert configs.list(COMPONENT) == []

print("kbcstorage: ok")
