"""Pricing, buying, selling and settlement; the books stay consistent."""

from __future__ import annotations

from simserver_client import DEMO, TOKENS, Client, async_test, connect

from tickgate.host.simserver import SimServer, pricing

CALL = {"proposal": 1, "amount": 10, "basis": "stake", "contract_type": "CALL",
        "currency": "USD", "duration": 5, "duration_unit": "t", "symbol": "R_100"}


def _params(proposal: dict) -> dict:
    return {k: v for k, v in proposal.items() if k != "proposal"}


async def _logged_in(server: SimServer, ws) -> Client:  # noqa: ANN001
    c = Client(ws)
    await c.ok({"authorize": DEMO})
    return c


@async_test
async def test_proposals() -> None:
    async with SimServer(port=0, tokens=TOKENS, speed=100) as server, \
            connect(server.url) as ws:
        c = Client(ws)
        p = (await c.ok(CALL))["proposal"]
        assert p["ask_price"] == 10 and p["payout"] == 19.0
        assert "higher than entry spot" in p["longcode"]
        put = (await c.ok({**CALL, "contract_type": "PUT", "basis": "payout"}))["proposal"]
        assert put["payout"] == 10 and put["ask_price"] == round(10 * 0.5 / 0.95, 2)
        match = (await c.ok({**CALL, "contract_type": "DIGITMATCH", "barrier": "5"}))
        assert match["proposal"]["payout"] == 95.0
        over = (await c.ok({**CALL, "contract_type": "DIGITOVER", "barrier": "7"}))
        assert over["proposal"]["payout"] == round(10 * 0.95 / 0.2, 2)
        mult = (await c.ok({"proposal": 1, "amount": 10, "basis": "stake",
                            "contract_type": "MULTUP", "currency": "USD", "multiplier": 100,
                            "symbol": "R_100", "limit_order": {"take_profit": 5,
                                                               "stop_loss": 5}}))["proposal"]
        assert mult["multiplier"] == 100 and mult["ask_price"] == 10
        assert set(mult["limit_order"]) == {"stop_out", "take_profit", "stop_loss"}
        await c.error({**CALL, "contract_type": "MULTUP", "multiplier": 7, "duration": 1},
                      "ContractCreationFailure")
        await c.error({"proposal": 1, "amount": 10, "contract_type": "MULTUP",
                       "currency": "USD", "multiplier": 7, "symbol": "R_100"},
                      "ContractBuyValidationError")
        await c.error({**CALL, "contract_type": "DIGITEVEN", "symbol": "frxEURUSD"},
                      "OfferingsValidationError")
        await c.error({**CALL, "duration": 11}, "ContractBuyValidationError")
        await c.error({**CALL, "amount": 0.1}, "ContractBuyValidationError")
        sub = await c.ok({**CALL, "subscribe": 1})
        again = await c.next(lambda m: m.get("req_id") == sub["req_id"] and m is not sub)
        assert again["proposal"]["id"] == sub["subscription"]["id"]
        await c.error({**CALL, "subscribe": 1}, "AlreadySubscribed")
        assert (await c.ok({"forget_all": "proposal"}))["forget_all"] == [again["proposal"]["id"]]


@async_test
async def test_buy_settle_and_the_books() -> None:
    async with SimServer(port=0, tokens=TOKENS, speed=100, seed=5) as server, \
            connect(server.url) as ws:
        c = await _logged_in(server, ws)
        bal_sub = await c.ok({"balance": 1, "subscribe": 1})
        tx_sub = await c.ok({"transaction": 1, "subscribe": 1})
        assert tx_sub["transaction"]["id"] == tx_sub["subscription"]["id"]
        await c.error({"buy": "0" * 32, "price": 10}, "InvalidContractProposal")
        prop = await c.ok(CALL)
        await c.error({"buy": prop["proposal"]["id"], "price": 5}, "PriceMoved")
        prop = await c.ok(CALL)
        buy = await c.ok({"buy": prop["proposal"]["id"], "price": 10, "subscribe": 1})
        b = buy["buy"]
        assert b["balance_after"] == 9990 and b["buy_price"] == 10
        await c.error({"buy": prop["proposal"]["id"], "price": 10}, "InvalidContractProposal")
        port = (await c.ok({"portfolio": 1}))["portfolio"]["contracts"]
        assert [p["contract_id"] for p in port] == [b["contract_id"]]
        sid = buy["subscription"]["id"]
        while True:
            poc = (await c.next(lambda m: m.get("subscription", {}).get("id") == sid
                                and m["msg_type"] == "proposal_open_contract"))
            if poc["proposal_open_contract"]["is_sold"]:
                break
        final = poc["proposal_open_contract"]
        assert final["status"] in ("won", "lost") and len(final["tick_stream"]) == 6
        won = final["status"] == "won"
        assert final["sell_price"] == (19.0 if won else 0.0)
        assert (final["exit_tick"] > final["entry_tick"]) == won
        # balance and transaction streams saw the buy and the settlement
        balances = [(await c.next(lambda m: m["msg_type"] == "balance" and
                                  m.get("subscription") == bal_sub["subscription"]))
                    ["balance"]["balance"] for _ in range(2)]
        assert balances == [9990.0, 9990.0 + final["sell_price"]]
        actions = [(await c.next(lambda m: m["msg_type"] == "transaction" and
                                 "action" in m["transaction"]))["transaction"]
                   for _ in range(2)]
        assert [a["action"] for a in actions] == ["buy", "sell"]
        assert actions[0]["amount"] == -10 and actions[1]["balance"] == balances[1]
        # statement: one buy and one sell for the contract; profit table: one line
        st = (await c.ok({"statement": 1, "description": 1}))["statement"]
        mine = [t for t in st["transactions"] if t["contract_id"] == b["contract_id"]]
        assert sorted(t["action_type"] for t in mine) == ["buy", "sell"]
        assert st["transactions"][0]["balance_after"] == balances[1]
        pt = (await c.ok({"profit_table": 1, "description": 1}))["profit_table"]
        assert pt["count"] == 1
        row = pt["transactions"][0]
        assert row["contract_id"] == b["contract_id"] and row["sell_price"] == final[
            "sell_price"] and row["underlying_symbol"] == "R_100"
        assert (await c.ok({"portfolio": 1}))["portfolio"]["contracts"] == []
        again = (await c.ok({"proposal_open_contract": 1, "contract_id": b["contract_id"]}))
        assert again["proposal_open_contract"]["is_sold"] == 1
        await c.error({"sell": b["contract_id"], "price": 0}, "ContractIsSold")


@async_test
async def test_multiplier_sell_and_take_profit() -> None:
    async with SimServer(port=0, tokens=TOKENS, speed=100) as server, \
            connect(server.url) as ws:
        c = await _logged_in(server, ws)
        params = {"contract_type": "MULTUP", "currency": "USD", "symbol": "1HZ100V",
                  "amount": 10, "basis": "stake", "multiplier": 400}
        buy = (await c.ok({"buy": "1", "price": 10, "parameters": params}))["buy"]
        all_poc = await c.ok({"proposal_open_contract": 1, "subscribe": 1})
        assert all_poc["proposal_open_contract"]["contract_id"] == buy["contract_id"]
        sold = (await c.ok({"sell": buy["contract_id"], "price": 0}))["sell"]
        assert sold["contract_id"] == buy["contract_id"]
        assert sold["balance_after"] == round(9990 + sold["sold_for"], 2)
        # a tight take profit / stop loss closes the contract by itself
        tp = {**params, "limit_order": {"take_profit": 0.5, "stop_loss": 0.5}}
        buy2 = await c.ok({"buy": "1", "price": 10, "parameters": tp, "subscribe": 1})
        sid = buy2["subscription"]["id"]
        while True:
            m = await c.next(lambda m: m.get("subscription", {}).get("id") == sid
                             and m["msg_type"] == "proposal_open_contract")
            if m["proposal_open_contract"]["is_sold"]:
                break
        poc = m["proposal_open_contract"]
        assert poc["profit"] >= 0.5 or poc["profit"] <= -0.5
        pt = (await c.ok({"profit_table": 1}))["profit_table"]
        assert pt["count"] == 2
        digits = {**params, "contract_type": "DIGITODD", "duration": 1,
                  "duration_unit": "t", "symbol": "R_10"}
        del digits["multiplier"]
        d = (await c.ok({"buy": "1", "price": 10, "parameters": digits}))["buy"]
        await c.error({"sell": d["contract_id"], "price": 0}, "InvalidSellContractProposal")
        await c.error({"sell": 12345, "price": 0}, "ContractNotFound")


@async_test
async def test_insufficient_balance() -> None:
    async with SimServer(port=0, tokens=["poor=real"], speed=100) as server, \
            connect(server.url) as ws:
        c = Client(ws)
        await c.ok({"authorize": "poor"})
        params = {k: v for k, v in CALL.items() if k != "proposal"}
        await c.error({"buy": "1", "price": 5000, "parameters": {**params, "amount": 5000}},
                      "InsufficientBalance")


def test_pricing_rules() -> None:
    assert pricing.digit_probability("DIGITUNDER", 3) == 0.3
    assert pricing.digit_wins("DIGITOVER", 5, 6) and not pricing.digit_wins("DIGITOVER", 5, 5)
    assert pricing.digit_wins("DIGITEVEN", None, 4)
    assert pricing.call_put_probability("CALL", 100, 100, 1.0, 10) == 0.5
    assert pricing.call_put_probability("CALL", 100, 101, 1.0, 60) < 0.5
    assert pricing.multiplier_profit("MULTDOWN", 10, 100, 100.0, 99.0) == 10.0
