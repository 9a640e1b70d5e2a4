"""Lambda on the emulator: the invoke API, the runtime and its workers, asynchronous invocation, pollers."""

__all__ = ["async_invoke", "bootstrap", "invoke_api", "pollers", "protocol", "runtime"]
