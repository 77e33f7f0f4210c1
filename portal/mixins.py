"""Page-view base classes. Every list page derives from RestrictedListView, whose queryset
comes from a selector that applies `portal.tenancy.restrict`."""

from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.views.generic import ListView

from portal.tenancy import scope_for


class TenantRestricted:
    """Marker checked by the restriction-coverage test: this view filters through restrict()."""

    restrict_action = "view"


class RestrictedListView(LoginRequiredMixin, TenantRestricted, ListView):
    paginate_by = 50

    def select(self, *, user, params):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_queryset(self):
        return self.select(user=self.request.user, params=self.request.GET)


class RoleRequiredMixin(LoginRequiredMixin, UserPassesTestMixin):
    allowed_roles: set[str] = set()

    def test_func(self):
        scope = scope_for(self.request.user)
        return bool(scope and (scope.is_platform_admin or scope.role in self.allowed_roles))
