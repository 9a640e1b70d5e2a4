"""Lambda on the emulator: the invoke API, the runtime and its workers (sandboxed when shared),
asynchronous invocation, pollers."""

__all__ = [
    "async_invoke",
    "bootstrap",
    "execution_environment",
    "fork_server",
    "invoke_api",
    "models",
    "poller_base",
    "pollers",
    "protocol",
    "runtime",
    "sandbox",
    "source_bells",
    "sqs_poller",
    "stream_poller",
]
