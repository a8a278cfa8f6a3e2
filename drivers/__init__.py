"""tickgate.drivers."""
