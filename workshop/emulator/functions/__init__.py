"""Lambda on the emulator: the invoke API, the runtime and its workers, asynchronous invocation, pollers."""

__all__ = [
    "async_invoke",
    "bootstrap",
    "execution_environment",
    "invoke_api",
    "models",
    "poller_base",
    "pollers",
    "protocol",
    "runtime",
    "sqs_poller",
    "stream_poller",
]
