"""Tokens, scopes and the accounts they open.

A token table maps API tokens to accounts. Each token opens its own account: demo accounts
get login ids ``VRTC9000001, VRTC9000002, …`` and 10 000 USD, real ones ``CR9000001, …`` and
1 000 USD. Scopes are Deriv's (``read``, ``trade``, ``trading_information``, ``payments``,
``admin``); a call whose schema lists ``auth_scopes`` needs any one of them.

``--token`` spec: ``TOKEN=demo|real[:scope,scope…]`` (default scopes ``read,trade``). Tokens are
secrets: nothing here logs or prints them; use ``mask`` when one has to be shown.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from tickgate.host.simserver.ledger import Ledger

SCOPES = ("read", "trade", "trading_information", "payments", "admin")
DEFAULT_SCOPES = ("read", "trade")
TOKEN_RE = re.compile(r"^[\w\-]{1,128}$")
DEMO_BALANCE = 10_000.0
REAL_BALANCE = 1_000.0

BalanceListener = Callable[["Account"], None]


@dataclass
class Account:
    """One trading account: balance in ``currency`` (2 decimals), its ledger and listeners."""

    loginid: str
    is_virtual: bool
    currency: str
    balance: float
    ledger: Ledger = field(default_factory=Ledger)
    balance_listeners: list[BalanceListener] = field(default_factory=list)

    @property
    def landing_company(self) -> str:
        """Deriv's landing company short name."""
        return "virtual" if self.is_virtual else "svg"

    def change_balance(self, amount: float) -> float:
        """Add ``amount`` (may be negative), round to cents, notify listeners; new balance."""
        self.balance = round(self.balance + amount, 2)
        for listener in list(self.balance_listeners):
            listener(self)
        return self.balance


@dataclass(frozen=True)
class TokenGrant:
    """What a token gives: its account and scopes."""

    account: Account
    scopes: tuple[str, ...]


def parse_token_spec(spec: str) -> tuple[str, bool, tuple[str, ...]]:
    """Parse ``TOKEN=demo|real[:scope,…]`` into (token, is_virtual, scopes)."""
    token, sep, rest = spec.partition("=")
    if not sep or not TOKEN_RE.match(token):
        raise ValueError("token spec must be TOKEN=demo|real[:scope,...], TOKEN of [A-Za-z0-9_-]")
    kind, _, scope_text = rest.partition(":")
    if kind not in ("demo", "real"):
        raise ValueError(f"account kind must be demo or real, not {kind!r}")
    scopes = tuple(s for s in scope_text.split(",") if s) if scope_text else DEFAULT_SCOPES
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s) {unknown}; known: {', '.join(SCOPES)}")
    return token, kind == "demo", scopes


def mask(token: str) -> str:
    """A token shown safely: its first 3 characters and a count of the rest."""
    return token[:3] + "…" if len(token) > 3 else "…"


class TokenTable:
    """Token → (account, scopes); accounts are shared by every connection that uses them."""

    def __init__(self) -> None:
        self._grants: dict[str, TokenGrant] = {}
        self._next = {True: 9000001, False: 9000001}

    def add(self, token: str, is_virtual: bool, scopes: tuple[str, ...] = DEFAULT_SCOPES,
            balance: float | None = None, currency: str = "USD") -> Account:
        """Open a new account for ``token``; return it."""
        if not TOKEN_RE.match(token):
            raise ValueError("token must match ^[\\w\\-]{1,128}$")
        number = self._next[is_virtual]
        self._next[is_virtual] += 1
        loginid = f"{'VRTC' if is_virtual else 'CR'}{number}"
        if balance is None:
            balance = DEMO_BALANCE if is_virtual else REAL_BALANCE
        account = Account(loginid, is_virtual, currency, float(balance))
        self._grants[token] = TokenGrant(account, tuple(scopes))
        return account

    def add_spec(self, spec: str) -> Account:
        """Add a token from a ``TOKEN=demo|real[:scopes]`` spec."""
        token, is_virtual, scopes = parse_token_spec(spec)
        return self.add(token, is_virtual, scopes)

    def add_generated_demo(self) -> str:
        """Create a random demo token with read and trade scopes; return the token."""
        token = "sim-" + secrets.token_hex(12)
        self.add(token, True, DEFAULT_SCOPES)
        return token

    def lookup(self, token: str) -> TokenGrant | None:
        """The grant of ``token``, or None if unknown."""
        return self._grants.get(token)

    def __len__(self) -> int:
        return len(self._grants)
