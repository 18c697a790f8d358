"""One adapter per experiment of ``python -m ebp``.

An adapter module defines ``compute(*, n_seeds, quick, progress)`` (the chapter's computation,
with a smaller budget when ``quick``; ``progress(done, total)`` is called as it goes),
``numbers(result) -> dict`` (the numbers the chapter reports) and ``figures(result) -> dict``
(figure file stem → matplotlib Figure, drawn by the chapter's plotting functions).  The
registry (:mod:`ebp.cli.registry`) imports an adapter only when its experiment runs.
"""
