"""The command line, ``python -m ebp``: list the named experiments and run one headless.

``python -m ebp --help`` lists the experiments, each with a one-line summary and the chapter it
mirrors; ``python -m ebp run NAME [--seeds N] [--out DIR] [--quick]`` computes one, with a
progress bar on standard error, and writes its figures as PNG files and its numbers, with their
provenance, as ``NAME.json`` to ``DIR`` (default ``ebp-results/NAME``).

The modules: :mod:`ebp.cli.main` (arguments and exit status), :mod:`ebp.cli.registry` (the
experiments by name), :mod:`ebp.cli.runner` (one run: compute with a progress bar, then
write), :mod:`ebp.cli.output` (the files), and one adapter per experiment in
``ebp.cli._adapters``, which calls the chapter's functions of ``ebp.experiments`` and
``ebp.plots``.
"""

from ebp.cli.main import main as main  # python -m ebp calls it

__all__: list[str] = []  # internal: the interface is the command line (see its --help)
