"""tickgate.hw."""
