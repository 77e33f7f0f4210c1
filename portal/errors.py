"""The one error type of the services: a business rule refused the action.

Its own module because the modules under the services raise it too (`portal.tenancy`'s
resolvers, `portal.bounds`) while `portal.services` imports them: importing it from here
keeps those imports at the top of each module. `portal.services` re-exports it, and the
apps import it from there."""

from __future__ import annotations


class ApplicationError(Exception):
    """A business rule refused the action; `message` is shown to the user as it is (Chinese)."""

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}
        self.code = code
