"""The simulator's handshake and envelope: app_id check, echo_req, req_id, passthrough, and
Deriv's errors for bad input."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
import websockets
from ci_policy import skip_or_fail
from jsonschema import ValidationError
from simserver_client import DEMO, TOKENS, Client, async_test, connect, validate_message

from tickgate.host.simserver import SimServer, schemas

SHARED = Path(__file__).resolve().parents[3] / "shared" / "deriv-schemas" / "v3"


@async_test
async def test_invalid_app_id_is_refused_with_http_401() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server:
        for bad in ("abc", "0", ""):
            with pytest.raises(websockets.InvalidStatus) as info:
                async with connect(server.url_for(bad)):
                    pass
            response = info.value.response
            assert response.status_code == 401
            assert json.loads(response.body) == {"error": "InvalidAppID"}
        url = f"ws://127.0.0.1:{server.port}/websockets/v3"
        with pytest.raises(websockets.InvalidStatus) as info:
            async with connect(url):
                pass
        assert info.value.response.status_code == 401
        with pytest.raises(websockets.InvalidStatus) as info:
            async with connect(f"ws://127.0.0.1:{server.port}/elsewhere?app_id=1089"):
                pass
        assert info.value.response.status_code == 404


@async_test
async def test_app_id_allow_list_answers_403() -> None:
    async with SimServer(port=0, tokens=TOKENS, app_ids={1089}) as server:
        async with connect(server.url_for(1089)) as ws:
            await Client(ws).ok({"ping": 1})
        with pytest.raises(websockets.InvalidStatus) as info:
            async with connect(server.url_for(1234)):
                pass
        assert info.value.response.status_code == 403
        assert json.loads(info.value.response.body) == {"error": "AccessRestricted"}


@async_test
async def test_envelope_echo_req_id_passthrough_and_masking() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server, connect(server.url) as ws:
        c = Client(ws)
        msg = await c.ok({"ping": 1, "req_id": 0, "passthrough": {"a": [1, 2]}})
        assert msg == {"echo_req": {"ping": 1, "req_id": 0, "passthrough": {"a": [1, 2]}},
                       "msg_type": "ping", "ping": "pong", "req_id": 0,
                       "passthrough": {"a": [1, 2]}}
        msg = await c.ok({"time": 1})
        assert abs(msg["time"] - server.clock.epoch()) <= 1
        msg = await c.ok({"authorize": DEMO, "tokens": [DEMO]})
        assert msg["echo_req"]["authorize"] == "<not shown>"
        assert msg["echo_req"]["tokens"] == "<not shown>"
        assert DEMO not in json.dumps(msg)
        msg = await c.ok({"website_status": 1})
        assert msg["website_status"]["site_status"] == "up"
        assert msg["website_status"]["api_call_limits"]["max_requestes_general"]["minutely"]


@async_test
async def test_bad_input_gets_derivs_errors() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server, connect(server.url) as ws:
        c = Client(ws)
        msg = await c.error('{"ping": 1', "BadRequest")            # malformed JSON
        assert msg["msg_type"] == "error"
        await c.error("[1, 2]", "BadRequest")                       # not an object
        msg = await c.error({"no_such_call": 1}, "UnrecognisedRequest", raw=True)
        assert msg["msg_type"] == "error" and msg["echo_req"]["no_such_call"] == 1
        msg = await c.error({"ping": 2}, "InputValidationFailed", raw=True)
        assert msg["msg_type"] == "ping"
        assert msg["error"]["details"] == {"ping": "Not in enum list: 1."}
        assert msg["error"]["message"] == "Input validation failed: ping"
        msg = await c.error({"ticks": "R_100", "bogus": 1}, "InputValidationFailed", raw=True)
        assert "bogus" in msg["error"]["details"]
        msg = await c.error({"ticks_history": "R_100"}, "InputValidationFailed", raw=True)
        assert msg["error"]["details"] == {"end": "Missing property."}
        msg = await c.error({"ping": 1, "bad key!": 1}, "SanityCheckFailed", raw=True)
        assert msg["msg_type"] == "sanity_check"
        await c.ok({"ping": 1})   # the connection survives all of it


def test_vendored_schemas_are_derivs() -> None:
    """The package's schemas are the shared copies, byte for byte (when shared/ is there)."""
    if not SHARED.is_dir():
        skip_or_fail("shared/deriv-schemas is not beside the clone")
    for call in schemas.CALLS:
        for direction in ("send", "receive"):
            ours = (schemas.SCHEMA_DIR / call / f"{direction}.json").read_bytes()
            assert ours == (SHARED / call / f"{direction}.json").read_bytes(), (call, direction)


def test_validate_message_catches_a_bad_message() -> None:
    with pytest.raises(ValidationError):
        validate_message({"echo_req": {}, "msg_type": "ping", "ping": "ping"})
    with pytest.raises(ValidationError):
        validate_message({"echo_req": {}, "msg_type": "tick", "tick": {"quote": "1.0",
                                                                      "pip_size": 2}})


@async_test
async def test_http_get_on_the_api_path_without_upgrade_is_not_served() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server:
        import asyncio

        def get() -> int:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{server.port}/websockets/v3?app_id=x",
                                       timeout=5)
            except urllib.error.HTTPError as err:
                return err.code
            return 200
        assert await asyncio.get_running_loop().run_in_executor(None, get) == 401
