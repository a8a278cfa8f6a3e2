"""The order path's pre-encoded ``buy``: the template's bytes are the dict path's request and
journal line, and the request is valid against Deriv's ``send.json``."""

from __future__ import annotations

import orjson
import pytest

from tickgate.gateware.records import Side
from tickgate.host.daemon.ordertemplates import OrderTemplates, buy_request
from tickgate.host.venues.deriv import schema_check

EXECUTION = [
    {"stake_per_lot": 1.0, "multiplier": 40, "take_profit": 0.0, "stop_loss": 0.0},
    {"stake_per_lot": 10.0, "multiplier": 100, "take_profit": 5.0, "stop_loss": 5.0},
    {"stake_per_lot": 0.35, "multiplier": 400, "take_profit": 2.5, "stop_loss": 0.0},
]


@pytest.mark.parametrize("ex", EXECUTION)
@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
@pytest.mark.parametrize("lots", [1, 3])
def test_template_request_decodes_to_the_dict_path_request_and_passes_send_json(
        ex: dict[str, float], side: int, lots: int) -> None:
    cid = "tg18c2b3a1f00abc-12"
    request, _ = buy_request(ex, "USD", "1HZ100V", side, lots, 1_700_000_000, 7)
    head = OrderTemplates(ex, "USD").buy("1HZ100V", side, lots).request_head(cid)
    sent = head + b',"req_id":42}'          # what the client appends
    decoded = orjson.loads(sent)
    assert decoded == {**request, "passthrough": {"client_id": cid}, "req_id": 42}
    assert next(iter(decoded)) == "buy"
    assert schema_check.has_schema("buy")
    assert schema_check.errors(decoded) == []


@pytest.mark.parametrize("ex", EXECUTION)
@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_template_ahead_line_decodes_to_the_line_of_the_dict_path_events(
        ex: dict[str, float], side: int) -> None:
    cid, ts_ns, epoch, order_id = "tg1-3", 1_765_000_000_012_345_678, 1_765_000_000, 2**32 - 1
    _, data = buy_request(ex, "USD", "R_50", side, 2, epoch, order_id)
    tpl = OrderTemplates(ex, "USD").buy("R_50", side, 2)
    events = [("intent", cid, None, data), ("send", cid, None, {"call": "buy"})]
    ts, got = orjson.loads(tpl.ahead_line(ts_ns, cid, epoch, order_id))
    assert ts == 1_765_000_000.012345678
    assert [ts, got] == orjson.loads(orjson.dumps([ts, events]))
    assert tpl.intent_data(epoch, order_id) == data


def test_templates_are_built_once_per_symbol_side_and_lots() -> None:
    templates = OrderTemplates(EXECUTION[0], "USD")
    assert templates.buy("R_10", Side.BUY, 1) is templates.buy("R_10", Side.BUY, 1)
    assert templates.buy("R_10", Side.BUY, 1) is not templates.buy("R_10", Side.SELL, 1)
