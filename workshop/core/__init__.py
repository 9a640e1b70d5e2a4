"""What every other layer stands on: errors, names, paths, waiting, and how a client reaches AWS."""

__all__ = ["backend", "errors", "launcher", "naming", "paths", "waiting"]
