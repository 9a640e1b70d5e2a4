"""Pure functions and documents: no emulator, fast."""
