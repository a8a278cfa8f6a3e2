"""The new API's OTP connector, and tokens kept out of logs and errors."""

from __future__ import annotations

import traceback

import pytest
from deriv_helpers import DEMO, REAL, TOKENS, SendLog, async_test, wait_for

from tickgate.host.simserver import SimServer
from tickgate.host.venues.deriv import AuthError, DerivClient, OtpConnector, Secret
from tickgate.host.venues.deriv.redact import redact


def test_secret_and_redact() -> None:
    s = Secret("my-very-secret-token")
    assert str(s) == "***" and "my-very" not in repr(s) and s.reveal() == "my-very-secret-token"
    assert redact("auth my-very-secret-token ok") == "auth *** ok"
    assert redact("wss://x/ws/demo?otp=abc123&x=1") == "wss://x/ws/demo?otp=***&x=1"
    with pytest.raises(TypeError):
        import pickle
        pickle.dumps(s)


def test_otp_connector(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(1)                        # everything, picows' handshake dumps included
    otp_urls: list[str] = []

    @async_test
    async def run() -> None:
        async with SimServer(port=0, tokens=TOKENS, rest_port=0) as server:
            rest = f"http://127.0.0.1:{server.rest_port}"
            loginid = server.tokens.lookup(DEMO).account.loginid
            connector = OtpConnector(1089, DEMO, loginid, rest=rest)
            fetch = connector._fetch

            def spy() -> str:
                url = fetch()
                otp_urls.append(url)
                return url
            connector._fetch = spy  # type: ignore[method-assign]
            log = SendLog()
            client = DerivClient(connector, keepalive_s=None, on_send=[log])
            async with client:
                bal = await client.request({"balance": 1})
                assert bal["balance"]["loginid"] == loginid
                server.drop_connections()            # a reconnect needs a fresh OTP
                await wait_for(lambda: client.stats["reconnects"] == 1, 5)
                assert (await client.request({"balance": 1}))["balance"]["loginid"] == loginid
            assert not log.calls("authorize") and len(otp_urls) == 2
            assert "/trading/v1/options/ws/demo?otp=" in otp_urls[0]
            for token, account in (("not-a-valid-token-999", loginid), (REAL, loginid)):
                bad = DerivClient(OtpConnector(1089, token, account, rest=rest))
                with pytest.raises(AuthError) as info:
                    await bad.connect()
                text = "".join(traceback.format_exception(info.value))
                assert token not in text and info.value.code in ("InvalidToken",
                                                                 "PermissionDenied")

    run()
    ours = "\n".join(r.getMessage() for r in caplog.records     # the simulator's own
                     if not r.name.startswith(("picows.server", "tickgate.host.simserver")))
    for secret in [DEMO, "not-a-valid-token-999", REAL] + [u.split("otp=")[1] for u in otp_urls]:
        assert secret not in ours
    assert caplog.records                      # the capture did see the client's logs
