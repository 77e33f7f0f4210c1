"""The checks that read the project's source read all of it, and the suite runs every
package's tests (portal.source.project_packages)."""

import configparser
from pathlib import Path

from django.apps import apps

from portal.source import ROOT, project_packages


def test_every_app_of_the_project_is_a_package_the_checks_read():
    # given the project's installed apps that live in this repository
    own = {Path(c.path).resolve().name for c in apps.get_app_configs() if Path(c.path).resolve().parent == ROOT}
    # then the source checks (tenancy, audit names, writes in services, number bounds) read each
    # of them, and the pure engine too
    assert own <= set(project_packages())
    assert {"campaigns", "coordination", "eligibility"} <= set(project_packages())


def test_the_suite_collects_the_tests_of_every_package():
    # given pytest.ini's testpaths (what `make test` runs)
    config = configparser.ConfigParser()
    config.read(ROOT / "pytest.ini", encoding="utf-8")
    testpaths = set(config["pytest"]["testpaths"].split())
    # then every package of the project that has tests is among them (campaigns' were left out
    # until 2026-12-06: its 39 tests ran only when named)
    with_tests = {p for p in project_packages() if (ROOT / p / "tests").is_dir()}
    assert with_tests - testpaths == set()
