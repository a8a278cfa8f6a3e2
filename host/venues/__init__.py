"""Venue adapters: how the host reaches a broker. ``deriv``: Deriv's WebSocket API."""
