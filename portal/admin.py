"""Django admin of the portal's own models (platform administrators only).

The admin never writes around the services: audit events are read-only for everyone (no add,
change or delete); a membership is granted through `portal.services.membership_grant`
(audited) and is read-only afterwards; organisations are audited and never deleted. Market
entities are read-only too (entities/admin.py).
"""

from django import forms
from django.contrib import admin

from portal.models import ROLE_ORGANISATION_KINDS, AuditEvent, Industry, Membership, Organisation, Region, Role
from portal.services import membership_grant, organisation_admin_save


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never written here: what it shows changes only through its services (history
    and audit) or the system."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent"]
    search_fields = ["code", "name"]
    list_filter = ["level"]


@admin.register(Industry)
class IndustryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level"]
    search_fields = ["code", "name"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    """Saved through portal.services.organisation_admin_save: a re-parented organisation's
    descendants follow it (Organisation.save rewrites their paths in the same transaction);
    every add and change is in the audit log."""

    list_display = ["name", "kind", "region", "parent", "is_active"]
    list_filter = ["kind"]
    search_fields = ["name"]
    raw_id_fields = ["parent", "region"]
    readonly_fields = ["path"]

    def save_model(self, request, obj, form, change):
        organisation_admin_save(
            actor=request.user,
            organisation=obj,
            request=request,
            before={name: _plain(form.initial.get(name)) for name in form.changed_data} if change else None,
            changed={name: _plain(form.cleaned_data.get(name)) for name in form.changed_data},
        )

    def has_delete_permission(self, request, obj=None):
        return False  # memberships, branches and records hang on it: deactivate instead (is_active)


def _plain(value):
    return getattr(value, "pk", value) if not isinstance(value, (str, int, bool, type(None))) else value


class MembershipGrantForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "organisation", "role", "is_primary"]

    def clean(self):
        data = super().clean()
        organisation, role = data.get("organisation"), data.get("role")
        # the check membership_grant makes, here so the admin shows it next to the form
        if organisation and role and organisation.kind not in ROLE_ORGANISATION_KINDS[Role(role)]:
            self.add_error("role", f"角色「{Role(role).label}」不能属于「{organisation.get_kind_display()}」类型的机构")
        return data


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Grant a role through the service (audited); a granted membership is not edited here."""

    form = MembershipGrantForm
    list_display = ["user", "organisation", "role", "is_primary"]
    list_filter = ["role"]
    raw_id_fields = ["user", "organisation"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        membership = membership_grant(
            actor=request.user, user=obj.user, organisation=obj.organisation, role=obj.role, primary=obj.is_primary
        )
        obj.pk = membership.pk
        obj._state.adding = False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: an audit event is written by the service that acted, never by hand."""

    list_display = ["created_at", "actor", "action", "object_repr", "ip_address"]
    list_filter = ["action"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
