"""``python -m ebp``: see :mod:`ebp.cli`."""

from ebp.cli import main

if __name__ == "__main__":  # not when imported (e.g. by a test that walks the package)
    raise SystemExit(main())
