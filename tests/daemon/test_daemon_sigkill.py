"""SIGKILL the daemon at random points of the buy path, in a loop, against one simulator.

The simulator runs on a thread of this test process, so its books outlive every daemon. Each
round starts ``tickgate run`` (a subprocess; its own start reconciles the journal left by the
previous round's kill) and kills it with SIGKILL: either at a crash point of the buy path
(``TICKGATE_CRASH_AT``: before the ``buy`` leaves, after it left and was executed but before
its reply is journaled, after the reply is journaled) at its 1st–3rd passage, or from outside
at a random moment. After each kill the restart's reconciliation is run on the journal and
the journal must agree exactly with the simulator's books: every venue contract in the
journal once, no contract the venue does not have, no intent unresolved, open/closed and
sell prices equal. At least 20 kills are required; the count is printed (``-s`` shows it).
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from daemon_helpers import FAST, check_agreement, run_cli, sim_books, start_cli, write_config

from tickgate.host.daemon.journal import Journal
from tickgate.host.daemon.reconcile import reconcile
from tickgate.host.daemon.simthread import SimThread
from tickgate.host.venues.deriv import DerivClient, UrlConnector

TOKEN = "sigkill-test-token-0001"
MIN_KILLS = 20
MODES = ("before_send", "after_send", "after_reply", "timer")


def _reconcile(url: str, path: Path) -> None:
    """What a restart does first: reconcile the journal with the venue."""
    async def go() -> None:
        pool = ThreadPoolExecutor(1)
        journal = Journal(path, stake_per_lot=FAST["execution"]["stake_per_lot"])
        loop = asyncio.get_running_loop()
        try:
            async with DerivClient(UrlConnector(url, TOKEN), keepalive_s=None) as client:
                report = await reconcile(
                    client, journal, run_sync=lambda fn, *a: loop.run_in_executor(pool, fn, *a),
                    stake_per_lot=FAST["execution"]["stake_per_lot"])
            assert not report.disagreements, report.disagreements
        finally:
            await loop.run_in_executor(pool, journal.close)
            pool.shutdown()
    asyncio.run(go())


def test_sigkill_loop_keeps_journal_and_books_equal(tmp_path: Path) -> None:
    rng = random.Random(20261125)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    state = tmp_path / "state"
    with SimThread(seed=3, speed=50, tokens=[f"{TOKEN}=demo:read,trade"]) as sim:
        config = write_config(tmp_path / "fast.toml", FAST)
        args = ["run", "--config", str(config), "--venue", "deriv", "--url", sim.url,
                "--token-file", str(token_file), "--state-dir", str(state), "--duration", "20"]
        journal = state / f"journal-{sim_books(sim, TOKEN)['loginid']}.sqlite"
        kills: Counter[str] = Counter()
        rounds = 0
        deadline = time.monotonic() + 75
        while sum(kills.values()) < MIN_KILLS + 2 and time.monotonic() < deadline:
            rounds += 1
            mode = MODES[rounds % len(MODES)]
            if mode == "timer":
                proc = start_cli(args)
                time.sleep(rng.uniform(0.8, 2.5))
                proc.send_signal(signal.SIGKILL)
            else:
                proc = start_cli(args, TICKGATE_CRASH_AT=f"{mode}:{rng.randint(1, 3)}")
            out, err = proc.communicate(timeout=40)
            if proc.returncode == -signal.SIGKILL:
                kills[mode] += 1
            else:
                assert proc.returncode == 0, err[-2000:]
            time.sleep(0.2)        # a frame already in the simulator's socket is handled
            _reconcile(sim.url, journal)
            counts = check_agreement(journal, sim_books(sim, TOKEN))
            assert counts["adopted"] == 0, "a contract of ours was taken for someone else's"
        # after all that, a clean run still trades, and stops in agreement too
        done = run_cli(args[:-1] + ["3"], timeout=60)
        assert done.returncode == 0, done.stderr[-2000:]
        _reconcile(sim.url, journal)
        counts = check_agreement(journal, sim_books(sim, TOKEN))
    total = sum(kills.values())
    print(f"\nSIGKILL loop: {rounds} rounds, {total} kills ({dict(kills)}), "
          f"0 disagreements; journal == books: {counts}")
    assert total >= MIN_KILLS, f"only {total} kills in the time allowed ({dict(kills)})"
    assert all(kills[p] for p in ("before_send", "after_send", "after_reply")), kills
    assert counts["contracts"] > 0
