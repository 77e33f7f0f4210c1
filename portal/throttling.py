"""API rate limits. Every API view is throttled by default (REST_FRAMEWORK
DEFAULT_THROTTLE_CLASSES): per user when signed in (`API_THROTTLE_USER`, 600/min), per client
address when anonymous (`API_THROTTLE_ANON`, 60/min); the eligibility preview has its own,
lower rates. Rates are read at each request from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
(so tests and settings overrides take effect), and the client address is
`portal.services.client_ip`: X-Forwarded-For counts only through NUM_PROXIES trusted
proxies, so a caller cannot reset his limit by sending another address. The counters live in
the default cache (Redis in production, shared by every web process)."""

from django.core.exceptions import ImproperlyConfigured
from rest_framework import throttling
from rest_framework.settings import api_settings

from portal.services import client_ip


class _PortalRate:
    def get_rate(self):
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(f"No default throttle rate set for '{self.scope}' scope") from None

    def get_ident(self, request):
        return client_ip(request) or "unknown"


class AnonRateThrottle(_PortalRate, throttling.AnonRateThrottle):
    """Anonymous API callers, per client address."""


class UserRateThrottle(_PortalRate, throttling.UserRateThrottle):
    """Signed-in API callers per user (anonymous ones per address)."""


class EligibilityAnonThrottle(AnonRateThrottle):
    """Anonymous eligibility previews (API and the 资格自测 page), per client address."""

    scope = "eligibility"


class EligibilityUserThrottle(UserRateThrottle):
    scope = "eligibility_user"


class SmsPhoneThrottle(_PortalRate, throttling.SimpleRateThrottle):
    """Verification codes sent to one phone number (`SMS_THROTTLE_PHONE`), whoever asks."""

    scope = "sms_phone"

    def __init__(self, phone: str):
        super().__init__()
        self.phone = phone

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.phone}


class SmsIpThrottle(_PortalRate, throttling.SimpleRateThrottle):
    """Verification codes asked for from one client address (`SMS_THROTTLE_IP`)."""

    scope = "sms_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
