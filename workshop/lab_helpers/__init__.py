"""What the notebooks call besides boto3: teaching switches, webhooks, HTTP calls, data, the capstone."""

__all__ = ["bars", "capstone", "chaos", "http_api", "orders", "scores", "webhook"]
