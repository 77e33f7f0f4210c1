from django.contrib import admin

from reporting.models import BankPeriodReport, ScheduledReport, Target


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ("region", "year", "metric", "value", "note", "updated_at")
    list_filter = ("year", "metric")
    search_fields = ("region__name", "region__code")


@admin.register(BankPeriodReport)
class BankPeriodReportAdmin(admin.ModelAdmin):
    list_display = (
        "period",
        "bank",
        "branch",
        "small_business_balance",
        "all_loans_balance",
        "credit_loan_balance",
        "average_rate",
        "is_current",
        "submitted_at",
    )
    list_filter = ("bank", "is_current")
    readonly_fields = [f.name for f in BankPeriodReport._meta.fields]

    def has_add_permission(self, request):
        return False  # reported through the 报送 page or the API (validated, audited)


@admin.register(ScheduledReport)
class ScheduledReportAdmin(admin.ModelAdmin):
    list_display = ("filename", "organisation", "week", "as_of", "emailed_at")
    readonly_fields = [f.name for f in ScheduledReport._meta.fields]
