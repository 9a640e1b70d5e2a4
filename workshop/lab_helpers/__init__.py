"""What the notebooks call besides boto3: teaching switches, webhooks, HTTP calls, data, the capstone."""

__all__ = ["bars", "capstone", "chaos", "http_api", "kit_emulator", "orders", "scores", "webhook"]
