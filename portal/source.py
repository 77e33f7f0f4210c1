"""The project's own source, for the checks that read it (tests and portal.unrestricted_lookups):
which top-level packages are its code. Read from the tree, so a package added to the project
is checked by every such check without a list to keep in step (campaigns and coordination
were missing from four hand-kept lists until 2026-12-06)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_CODE = {"tests"}  # packages that are not request or job code


def project_packages() -> tuple[str, ...]:
    """The top-level packages of the project (its apps and the pure engine), sorted."""
    return tuple(
        sorted(
            path.parent.name
            for path in ROOT.glob("*/__init__.py")
            if path.parent.name not in NOT_CODE and not path.parent.name.startswith(".")
        )
    )
