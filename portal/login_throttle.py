"""Login throttling (django-axes), counted two ways at once.

Failed logins are counted per username, from any address, and per client address, over any
usernames (`AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]`):

- a username is locked after `AXES_FAILURE_LIMIT` failures (5) within the cool-off
  (`AXES_COOLOFF_HOURS`, 15 minutes), wherever they came from — guessing one account's
  password from many addresses does not help;
- an address is locked after `AXES_IP_FAILURE_LIMIT` failures (20) over all usernames —
  spraying one password over many usernames does not help either; the address limit is
  higher than the username limit because an office's staff share one address.

A successful login clears that username's failures only: an attacker who also holds an
account cannot wipe his address's count by signing in between guesses.

The client address is `portal.services.client_ip` (REMOTE_ADDR, or X-Forwarded-For through
`NUM_PROXIES` trusted proxies), the same one the API throttles and the audit log use.

While a username is locked, its API tokens are refused as well (`username_locked_out`,
checked by `portal.tokens.authentication`).
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_lockout_parameters
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone


def _failures(queryset) -> int:
    return queryset.aggregate(n=Sum("failures_since_start"))["n"] or 0


class LoginThrottleHandler(AxesDatabaseHandler):
    """Axes' database handler with separate limits for a username and for an address."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        parameters = get_lockout_parameters(request, credentials)
        counts = dict(
            zip(
                (p if isinstance(p, str) else "+".join(p) for p in parameters),
                (_failures(qs) for qs in self.get_user_attempts(request, credentials)),
            )
        )
        by_username = counts.get("username", 0)
        by_address = counts.get("ip_address", 0)
        # axes compares one number with AXES_FAILURE_LIMIT: the address count is scaled to it
        limit, address_limit = settings.AXES_FAILURE_LIMIT, settings.AXES_IP_FAILURE_LIMIT
        return max(by_username, by_address * limit // address_limit)

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        """After a successful login: that username's failures only (not the address's)."""
        username = get_client_username(request, credentials)
        if username is None:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count


def username_locked_out(username: str) -> bool:
    """Whether a username is locked now (its failures within the cool-off reach the limit)."""
    if not settings.AXES_ENABLED or not settings.AXES_LOCK_OUT_AT_FAILURE:
        return False
    attempts = AccessAttempt.objects.filter(username=username)
    cool_off = get_cool_off()
    if cool_off is not None:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    return _failures(attempts) >= settings.AXES_FAILURE_LIMIT
