"""AWS's own rules, written once for the emulator that enforces them and the checks that grade by them."""
