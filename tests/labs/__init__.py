"""Labs, checks and grading, the account helpers and the command line, against the emulator."""
