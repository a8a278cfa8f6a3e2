"""``tickgate sim-server``: run the simulator until interrupted.

Prints the URL to connect to and, when no ``--token`` is given, the generated demo token (the
only place a token is ever shown: the user needs it to log in). Periodic faults
(``--drop-every``, ``--malformed-every``, ``--maintenance-every``) repeat every so many real
seconds; the switches (``--delay``, ``--rate-limit``, ``--no-ping-limit``, ``--idle-timeout``)
stay on for the whole run.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # imported lazily: ``tickgate --help`` builds this parser
    from tickgate.host.simserver.faults import Faults


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``sim-server`` options."""
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 = any)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--token", action="append", default=[], metavar="TOKEN=demo|real[:SCOPES]",
                        help="an API token and its account (repeatable); scopes comma-separated "
                             "from read,trade,trading_information,payments,admin (default "
                             "read,trade). None: one demo token is generated and printed")
    parser.add_argument("--seed", type=int, default=0, help="price paths' seed (default 0)")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="clock acceleration: ticks and expiries run SPEED times faster")
    parser.add_argument("--start-epoch", type=float, help="simulated start time (default: now)")
    parser.add_argument("--app-id", type=int, action="append",
                        help="accept only these app ids (others: HTTP 403); default any valid")
    parser.add_argument("--rest-port", type=int,
                        help="also serve the new Deriv API's OTP endpoint on this port (0 = any)")
    faults = parser.add_argument_group("faults")
    faults.add_argument("--delay", type=float, default=0.0, metavar="S",
                        help="delay every reply by S real seconds (>= 15: Timeout error)")
    faults.add_argument("--rate-limit", nargs="?", const="*", metavar="CALLS",
                        help="answer these calls (comma-separated; none = all but ping/time) "
                             "with RateLimit")
    faults.add_argument("--no-ping-limit", action="store_true",
                        help="do not close connections sending >10 ping/time a second")
    faults.add_argument("--idle-timeout", type=float, default=120.0, metavar="S",
                        help="close connections silent for S seconds (0 = never; default 120)")
    faults.add_argument("--drop-every", type=float, metavar="S",
                        help="drop every connection each S seconds")
    faults.add_argument("--malformed-every", type=float, metavar="S",
                        help="send every connection a malformed frame each S seconds")
    faults.add_argument("--maintenance-every", type=float, metavar="S",
                        help="announce maintenance (site_status updating) each S seconds, "
                             "then drop everyone 5 s later")


def faults_from(args: argparse.Namespace) -> Faults:
    """The fault switches the options ask for."""
    from tickgate.host.simserver.faults import Faults

    rate: bool | frozenset[str] = False
    if args.rate_limit == "*":
        rate = True
    elif args.rate_limit:
        rate = frozenset(c.strip() for c in args.rate_limit.split(",") if c.strip())
    return Faults(delay_s=args.delay, rate_limit=rate,
                  ping_flood_limit=None if args.no_ping_limit else 10,
                  idle_timeout_s=args.idle_timeout or None)


async def _every(seconds: float, action: object) -> None:
    import asyncio

    while True:
        await asyncio.sleep(seconds)
        result = action()  # type: ignore[operator]
        if asyncio.iscoroutine(result):
            await result


async def serve(args: argparse.Namespace) -> None:
    """Run the server with ``args`` until cancelled."""
    import asyncio

    from tickgate.host.simserver.server import SimServer

    server = SimServer(args.host, args.port, tokens=args.token, seed=args.seed,
                       speed=args.speed, start_epoch=args.start_epoch, faults=faults_from(args),
                       app_ids=set(args.app_id) if args.app_id else None,
                       rest_port=args.rest_port)
    async with server:
        print(f"sim-server listening: {server.url}", flush=True)
        if server.generated_token:
            print(f"demo token (read, trade): {server.generated_token}", flush=True)
        if server.rest is not None:
            print(f"OTP endpoint: http://{args.host}:{server.rest_port}/trading/v1/options/"
                  f"accounts/{{accountId}}/otp", flush=True)
        tasks = []
        if args.drop_every:
            tasks.append(_every(args.drop_every, server.drop_connections))
        if args.malformed_every:
            tasks.append(_every(args.malformed_every, server.send_malformed))
        if args.maintenance_every:
            tasks.append(_every(args.maintenance_every,
                                lambda: server.announce_maintenance(5.0)))
        await asyncio.gather(asyncio.Event().wait(), *tasks)


def main(args: argparse.Namespace) -> int:
    """Entry point of ``tickgate sim-server``."""
    import asyncio
    import contextlib

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0
