"""The emulator's AWS behaviour, each service called over HTTP as a client would."""
