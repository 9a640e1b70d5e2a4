"""The event-driven AWS workshop kit: backends, the local emulator, deployment and labs."""

__version__ = "0.1.0"
