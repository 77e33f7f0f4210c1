"""Django admin of the entities app. Entities and credit repairs are read-only here (they
change only through the services or the register import, with history and audit); personal
numbers are masked. Tier policies are edited here (saving recomputes the province)."""

from django import forms
from django.contrib import admin
from django.db import transaction

from entities import classification as cls
from entities.models import CreditRepair, EntityImport, MarketEntity, TierPolicy
from entities.personal_data import PERSONAL_FIELDS, masked
from entities.tasks import recompute_tiers
from portal.admin import ReadOnlyAdmin as PortalReadOnlyAdmin


class TierPolicyForm(forms.ModelForm):
    class Meta:
        model = TierPolicy
        fields = ["province", "effective_from", "policy", "note"]
        help_texts = {
            "policy": "JSON, 金额为元: growth_revenue_min, development_revenue_min, growth_insured_min, "
            "development_insured_min, "
            "growth_requires_tax_record, development_tax_statuses, source",
        }

    def clean(self):
        data = super().clean()
        province, effective_from, policy = data.get("province"), data.get("effective_from"), data.get("policy")
        if province and effective_from and isinstance(policy, dict):
            try:
                cls.policy_from_dict(
                    {**policy, "province_code": province.pk, "effective_from": effective_from.isoformat()}
                )
            except (TypeError, ValueError) as exc:
                raise forms.ValidationError(f"分型标准无效: {exc}")
        return data


@admin.register(TierPolicy)
class TierPolicyAdmin(admin.ModelAdmin):
    """三型 thresholds per province and date; saving recomputes the province's entities."""

    form = TierPolicyForm
    list_display = ["province", "effective_from", "note", "updated_at"]
    raw_id_fields = ["province"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        province = obj.province_id
        transaction.on_commit(lambda: recompute_tiers.delay(province))
        self.message_user(request, "已保存; 该省经营主体的测算分型将在后台重新计算")


class ReadOnlyAdmin(PortalReadOnlyAdmin):
    """Shown, never written here: entities change only through entities.services (history and
    audit) or the register import."""


@admin.register(MarketEntity)
class MarketEntityAdmin(ReadOnlyAdmin):
    """Read-only, personal numbers masked (the audited reveal on the entity page is the only way
    to read one in clear)."""

    list_display = ["uscc", "name", "entity_type", "register_status", "region", "tier", "size_class"]
    search_fields = ["=uscc", "name"]
    exclude = list(PERSONAL_FIELDS)
    readonly_fields = ["operator_id_number_masked", "operator_phone_masked"]
    show_full_result_count = False  # no COUNT(*) over a million rows

    @admin.display(description=PERSONAL_FIELDS["operator_id_number"])
    def operator_id_number_masked(self, entity):
        return masked("operator_id_number", entity.operator_id_number) or "-"

    @admin.display(description=PERSONAL_FIELDS["operator_phone"])
    def operator_phone_masked(self, entity):
        return masked("operator_phone", entity.operator_phone) or "-"


@admin.register(CreditRepair)
class CreditRepairAdmin(ReadOnlyAdmin):
    list_display = ["entity", "item", "repaired_on", "repaired_by"]


@admin.register(EntityImport)
class EntityImportAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "file_name",
        "uploaded_by",
        "status",
        "rows",
        "created",
        "updated",
        "unchanged",
        "rejected",
    ]
    exclude = ["content"]
    readonly_fields = [f.name for f in EntityImport._meta.fields if f.name != "content"]

    def has_add_permission(self, request):
        return False
