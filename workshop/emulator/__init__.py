"""The embedded, docker-free local AWS: moto's server plus what moto lacks.

Only :mod:`workshop.emulator.moto_internals` imports moto; the rest of the kit talks
to the emulator through the standard AWS APIs on its HTTP endpoint.
"""
