"""What the notebooks call besides boto3: teaching switches, webhooks, HTTP calls, data, the capstone,
and pictures of what happened (an event's journey, the service map)."""

__all__ = [
    "bars",
    "capstone",
    "chaos",
    "diagrams",
    "http_api",
    "journey",
    "kit_emulator",
    "orders",
    "scores",
    "sequence_diagram",
    "service_map",
    "webhook",
]
