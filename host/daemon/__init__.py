"""The host daemon (``tickgate run``): venue feed → board → risk gate → Deriv, and back.

One module per job:

- ``config``: the TOML configuration, its documented defaults and its validation;
- ``safety``: the token's source, demo/real and scope checks;
- ``journal``: the append-only SQLite (WAL) order journal and its fold;
- ``reconcile``: the journal against the venue's portfolio, profit table and statement;
- ``boardloop``: the board in its own thread, tick packing and batching;
- ``execution``: accepted intents → proposal/buy/sell, journal first;
- ``control``: ``tickgate kill`` (UNIX socket and ``KILL`` file);
- ``status``: counters, the status line and the summary;
- ``simthread``: the market simulator on a thread of its own;
- ``crash``: the SIGKILL test hook;
- ``daemon``: the composition; ``cli``: the commands.
"""
