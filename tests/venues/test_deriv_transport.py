"""The transport's frame callback: whole messages out, fragments joined, a close handled,
whether or not a frame is long enough to skip reading its type (the data-frame shortcut)."""

from __future__ import annotations

import asyncio

import pytest
from picows import WSCloseCode, WSMsgType
from picows.picows import _make_test_ws_frame

from tickgate.host.venues.deriv.transport import MAX_CONTROL_PAYLOAD, _Listener

SHORT = b'{"msg_type":"ping"}'
LONG = b'{"msg_type":"tick","pad":"' + b"x" * (2 * MAX_CONTROL_PAYLOAD) + b'"}'


class FakeTransport:
    """What the listener calls on a close: records the close code and the disconnect."""

    def __init__(self) -> None:
        self.sent_close: list[int] = []
        self.disconnected = False

    def send_close(self, code: int) -> None:
        self.sent_close.append(int(code))

    def disconnect(self) -> None:
        self.disconnected = True


def frames_through(frames: list[tuple[WSMsgType, bytes, bool]]) -> tuple[
        list[bytes], FakeTransport, _Listener]:
    """Run ``(type, payload, fin)`` frames through a listener; the messages it handed on."""
    got: list[bytes] = []

    async def run() -> tuple[FakeTransport, _Listener]:
        listener = _Listener(got.append, asyncio.get_running_loop().create_future())
        transport = FakeTransport()
        for msg_type, payload, fin in frames:
            listener.on_ws_frame(transport,  # type: ignore[arg-type]
                                 _make_test_ws_frame(msg_type, payload, fin, False))
        return transport, listener

    transport, listener = asyncio.run(run())
    return got, transport, listener


@pytest.mark.parametrize("msg_type", [WSMsgType.TEXT, WSMsgType.BINARY])
def test_short_and_long_whole_messages_are_handed_on_as_bytes(msg_type: WSMsgType) -> None:
    got, _, _ = frames_through([(msg_type, SHORT, True), (msg_type, LONG, True)])
    assert got == [SHORT, LONG] and all(type(m) is bytes for m in got)


def test_long_fragments_are_joined_into_one_message() -> None:
    head, tail = LONG[:MAX_CONTROL_PAYLOAD + 10], LONG[MAX_CONTROL_PAYLOAD + 10:]
    assert len(tail) > MAX_CONTROL_PAYLOAD
    got, _, _ = frames_through([(WSMsgType.TEXT, head, False),
                                (WSMsgType.CONTINUATION, tail, True),
                                (WSMsgType.TEXT, LONG, True)])
    assert got == [LONG, LONG]


def test_a_close_frame_is_answered_and_gives_the_reason() -> None:
    close = int(WSCloseCode.GOING_AWAY).to_bytes(2, "big") + b"maintenance"
    got, transport, listener = frames_through([(WSMsgType.TEXT, LONG, True),
                                               (WSMsgType.CLOSE, close, True)])
    assert got == [LONG]
    assert transport.sent_close == [1001] and transport.disconnected
    assert listener._reason == "closed by server (1001 maintenance)"


def test_a_pong_is_not_a_message() -> None:
    got, _, _ = frames_through([(WSMsgType.PONG, b"x" * MAX_CONTROL_PAYLOAD, True)])
    assert got == []
