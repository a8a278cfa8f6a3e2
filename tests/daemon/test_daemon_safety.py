"""Money safety: demo by default, real only when allowed twice, no payments/admin tokens, and
the token never in any output (scanned: stdout, stderr with the logs, error texts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_helpers import FAST, run_cli, write_config

from tickgate.host.daemon.simthread import SimThread

DEMO = "safety-demo-token-0001"
REAL = "safety-real-token-0002"
PAYMENTS = "safety-payments-token-0003"
ADMIN = "safety-admin-token-0004"
UNKNOWN = "safety-unknown-token-0005"
SECRETS = (DEMO, REAL, PAYMENTS, ADMIN, UNKNOWN)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with SimThread(seed=2, speed=50, tokens=[
            f"{DEMO}=demo:read,trade", f"{REAL}=real:read,trade",
            f"{PAYMENTS}=demo:read,trade,payments", f"{ADMIN}=real:read,trade,admin"]) as s:
        yield s


def _run(sim: SimThread, tmp: Path, token: str, *extra: str, config: Path | None = None,
         via_env: bool = False) -> tuple[int, str]:
    args = ["run", "--venue", "deriv", "--url", sim.url, "--state-dir", str(tmp / "state"),
            *extra]
    env = {}
    if via_env:
        env["TICKGATE_DERIV_TOKEN"] = token
    else:
        (tmp / "token").write_text(token + "\n")
        args += ["--token-file", str(tmp / "token")]
    if config is not None:
        args += ["--config", str(config)]
    done = run_cli(args, timeout=60, **env)
    output = done.stdout + done.stderr
    for secret in SECRETS:
        assert secret not in output, "a token reached the output"
    return done.returncode, output


def test_demo_run_with_a_token_file_trades_and_never_shows_it(sim: SimThread,
                                                              tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", FAST)
    code, out = _run(sim, tmp_path, DEMO, "--duration", "2", config=config)
    assert code == 0, out[-2000:]
    assert "tickgate run:" in out and "orders" in out


def test_token_from_the_environment(sim: SimThread, tmp_path: Path) -> None:
    code, out = _run(sim, tmp_path, DEMO, "--reconcile-only", via_env=True)
    assert code == 0, out[-2000:]
    assert "reconciled with the venue" in out


def test_real_account_refused_without_explicit_config(sim: SimThread, tmp_path: Path) -> None:
    code, out = _run(sim, tmp_path, REAL, "--account", "real")
    assert code == 2
    assert "allow_real = true" in out and "refusing to start" in out
    assert "Traceback" not in out


def test_real_account_allowed_when_the_config_says_so(sim: SimThread, tmp_path: Path) -> None:
    config = write_config(tmp_path / "real.toml", {"venue": {"allow_real": True}})
    code, out = _run(sim, tmp_path, REAL, "--account", "real", "--reconcile-only",
                     config=config)
    assert code == 0, out[-2000:]


def test_a_real_token_is_refused_on_a_demo_run(sim: SimThread, tmp_path: Path) -> None:
    code, out = _run(sim, tmp_path, REAL)
    assert code == 2 and "opens a real-money account" in out


@pytest.mark.parametrize("token,scope", [(PAYMENTS, "payments"), (ADMIN, "admin")])
def test_payments_or_admin_scope_refused(sim: SimThread, tmp_path: Path, token: str,
                                         scope: str) -> None:
    config = write_config(tmp_path / "real.toml", {"venue": {"allow_real": True}})
    extra = ("--account", "real") if token == ADMIN else ()
    code, out = _run(sim, tmp_path, token, *extra, config=config)
    assert code == 2
    assert f"carries the {scope} scope" in out and "Traceback" not in out


def test_unknown_token_refused_without_echo(sim: SimThread, tmp_path: Path) -> None:
    code, out = _run(sim, tmp_path, UNKNOWN)
    assert code == 2 and "cannot connect to the venue" in out


def test_no_token_at_all(tmp_path: Path) -> None:
    done = run_cli(["run", "--venue", "deriv", "--url", "ws://127.0.0.1:9/websockets/v3",
                    "--state-dir", str(tmp_path)])
    assert done.returncode == 2
    assert done.stderr.strip().endswith("set the environment variable TICKGATE_DERIV_TOKEN.")
