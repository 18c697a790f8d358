"""Execute the chapters that need it in parallel, before Sphinx reads them one by one.

MyST-NB executes a notebook while Sphinx reads its page, so a clean build executes the
chapters one after the other, on one core. ``pre_execute`` runs on ``env-before-read-docs``,
once Sphinx knows which pages it will read:

1. It turns each page into the notebook MyST-NB will make of it (the same reader, the same
   source text as ``source-read`` leaves it) and asks the execution cache (jupyter-cache)
   whether that notebook is cached already.
2. The notebooks that are not are executed in a pool of worker processes, each running one
   kernel at a time (the longest first, when an earlier build recorded how long each took:
   a long chapter started last would run alone while the other workers idle), and the
   executed notebooks are added to the cache from this process
   (one writer: the cache is an SQLite file).
3. Sphinx then reads the pages as before and MyST-NB finds every notebook in the cache, so
   its outputs, the execution report and the strict build are unchanged.

A notebook that fails here is not cached: MyST-NB then executes it again while reading and
fails the build with the traceback at the page, as it would without this step.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat
from sphinx.util import logging

logger = logging.getLogger(__name__)


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def cores() -> int:
    """The number of CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def workers(setting: int) -> int:
    """The pool size: ``setting`` if positive, else the number of usable CPU cores."""
    return setting if setting > 0 else cores()


def _share_cores(threads: int) -> None:
    """Run in each worker as it starts: its kernels use ``threads`` BLAS/OpenMP threads.

    Two kernels with a thread per core each would oversubscribe the cores (and OpenMP threads
    spin while they wait). The share depends on the configured pool size only, never on how
    many chapters happen to need executing, so a chapter computes with the same thread count
    in every build. A thread count set by the user is kept.
    """
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, str(threads))


def _execute(path: str, notebook: str, timeout: int | None, allow_errors: bool) -> tuple:
    """Run in a worker: execute one notebook (as JSON) in its folder; return it as JSON."""
    from jupyter_cache.executors.utils import single_nb_execution

    nb = nbformat.reads(notebook, as_version=4)
    result = single_nb_execution(
        nb,
        cwd=str(Path(path).parent),
        timeout=timeout,
        allow_errors=allow_errors,
        meta_override=True,
    )
    if result.err is not None:
        return path, None, result.time, result.exc_string
    return path, nbformat.writes(nb), result.time, None


def _notebook(app: Any, env: Any, docname: str, source_of: Callable[[str, str], str]) -> Any:
    """The notebook MyST-NB will execute for ``docname``, or None if it executes none."""
    from myst_nb.core.read import create_nb_reader

    nb_config = env.mystnb_config
    path = Path(env.doc2path(docname))
    if not path.is_file():
        return None
    posix_path = PurePosixPath(path.as_posix())
    if any(posix_path.match(p) for p in nb_config.execution_excludepatterns):
        return None
    text = source_of(docname, path.read_text(encoding="utf-8"))
    reader = create_nb_reader(str(path), env.myst_config, nb_config, text)
    if reader is None:
        return None
    nb = reader.read(text)
    if not any(cell.cell_type == "code" for cell in nb.cells):
        return None
    mode = nb.metadata.get(nb_config.metadata_key, {}).get("execution_mode", "cache")
    if mode != "cache":
        return None
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    for pattern, alias in (nb_config.kernel_rgx_aliases or {}).items():
        if kernel is not None and re.fullmatch(pattern, kernel):
            nb.metadata["kernelspec"]["name"] = alias
            break
    return nb


def longest_first(paths: list[str], seconds: dict[str, float]) -> list[str]:
    """``paths`` in the order to execute them: those never timed first, then the longest first.

    ``seconds`` holds each path's execution time in an earlier build. A path without one might
    be long, so it starts first. Ties keep the order of ``paths``.
    """
    return sorted(paths, key=lambda path: -seconds.get(path, float("inf")))


def _recorded_seconds(cache: Any) -> dict[str, float]:
    """The latest execution time recorded for each notebook path in the cache."""
    seconds: dict[str, float] = {}
    for record in sorted(cache.list_cache_records(), key=lambda r: r.created):
        value = (record.data or {}).get("execution_seconds")
        if isinstance(value, (int, float)):
            seconds[record.uri] = float(value)
    return seconds


def pre_execute(
    app: Any, env: Any, docnames: list[str], source_of: Callable[[str, str], str], n: int
) -> dict[str, Any]:
    """Execute the uncached notebooks of ``docnames`` on ``n`` workers; return a summary."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    nb_config = env.mystnb_config
    summary: dict[str, Any] = {"workers": n, "executed": 0, "wall_s": 0.0}
    if nb_config.execution_mode != "cache":
        return summary
    cache = get_cache(nb_config.execution_cache_path or ".jupyter_cache")
    pending: dict[str, Any] = {}
    for docname in sorted(docnames):
        nb = _notebook(app, env, docname, source_of)
        if nb is None:
            continue
        try:
            cache.match_cache_notebook(nb)
        except KeyError:
            pending[str(env.doc2path(docname))] = nb
    if not pending:
        return summary
    order = longest_first(list(pending), _recorded_seconds(cache))
    pending = {path: pending[path] for path in order}
    logger.info(f"Executing {len(pending)} notebook(s) on {min(n, len(pending))} worker(s)")
    start = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    threads = max(1, cores() // n)
    summary["threads_per_kernel"] = threads
    with ProcessPoolExecutor(
        max_workers=min(n, len(pending)),
        mp_context=context,
        initializer=_share_cores,
        initargs=(threads,),
    ) as pool:
        futures = [
            pool.submit(
                _execute,
                path,
                nbformat.writes(nb),
                nb_config.execution_timeout,
                nb_config.execution_allow_errors,
            )
            for path, nb in pending.items()
        ]
        for future in futures:
            path, executed, seconds, error = future.result()
            if error is not None:
                logger.info(f"{path}: failed in the pool, left to MyST-NB to report")
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(
                    nbformat.reads(executed, as_version=4),
                    path,
                    data={"execution_seconds": seconds},
                ),
                check_validity=False,
                overwrite=True,
            )
            summary["executed"] += 1
    summary["wall_s"] = round(time.perf_counter() - start, 2)
    return summary
