"""Shared pytest configuration.

Hypothesis explores new random examples on every local run, which is how it finds bugs; in CI
(``CI`` set in the environment) it runs derandomized, so a CI result is reproducible and
a red CI run always points at a real, repeatable failure.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
