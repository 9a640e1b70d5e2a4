"""AWS's own rules, written once for the emulator that enforces them and the checks that grade by them."""

__all__ = [
    "batch_response",
    "bucket_policies",
    "errors",
    "events",
    "filter_patterns",
    "python_runtime",
    "refusals",
    "s3_addressing",
    "sigv4",
    "xray",
]
