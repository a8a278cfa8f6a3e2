"""tickgate.sim."""
