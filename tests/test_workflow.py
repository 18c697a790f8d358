"""The GitHub Actions workflow: what it must do for the book to be tested and published.

The file's syntax is checked against GitHub's workflow schema by ``make lint``; these tests
check its meaning: the tests run as in CI, only a tested main branch is deployed, and the
deployment publishes the built site with the execution cache kept between runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "book.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job["steps"]


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if s.get("uses", "").split("@")[0] == action]


def test_pushes_and_pull_requests_run_the_ci_command(workflow: dict[str, Any]) -> None:
    assert {"push", "pull_request"} <= set(workflow["on"])
    runs = [s.get("run", "") for s in steps(workflow["jobs"]["test"])]
    assert "bash .ci/run" in runs
    python = uses(workflow["jobs"]["test"], "actions/setup-python")[0]["with"]["python-version"]
    assert tuple(int(x) for x in str(python).split(".")) >= (3, 11)


def test_only_the_tested_main_branch_is_deployed(workflow: dict[str, Any]) -> None:
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "test"
    assert "refs/heads/main" in deploy["if"] and "push" in deploy["if"]
    assert workflow["permissions"] == {"contents": "read"}, "other jobs get read access only"
    assert deploy["permissions"]["pages"] == "write"
    assert deploy["permissions"]["id-token"] == "write"
    assert deploy["environment"]["name"] == "github-pages"


def test_the_deployment_publishes_the_built_site_with_a_kept_cache(
    workflow: dict[str, Any],
) -> None:
    deploy = workflow["jobs"]["deploy"]
    names = [s.get("uses", s.get("run", "")).split("@")[0] for s in steps(deploy)]
    assert names.index("make book") < names.index("actions/upload-pages-artifact")
    assert names.index("actions/upload-pages-artifact") < names.index("actions/deploy-pages")
    assert uses(deploy, "actions/upload-pages-artifact")[0]["with"]["path"] == "_build/html"
    cache = uses(deploy, "actions/cache")[0]["with"]
    assert cache["path"] == "_build/.jupyter_cache"
    assert names.index("actions/cache") < names.index("make book"), "restored before the build"
    assert cache["restore-keys"], "a new commit starts from the last run's cache"
