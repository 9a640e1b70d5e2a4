"""Lambda on the emulator: the invoke API, the runtime and its workers, asynchronous invocation, pollers."""
