"""``python -m workshop``: the kit's command line, :mod:`workshop.cli`."""

from workshop.cli import entry_point

__all__ = ["entry_point"]

if __name__ == "__main__":
    entry_point()
