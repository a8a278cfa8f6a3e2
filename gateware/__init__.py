"""tickgate.gateware."""
