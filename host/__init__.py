"""tickgate.host."""
