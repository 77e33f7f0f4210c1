"""Widgets of the role home pages (工作台, 首页, 线索收件箱, 管理首页)."""

from django.urls import reverse

from batch_matching import selectors as batch_selectors
from entities.models import MarketEntity
from matching import selectors, services, workflow
from matching.clocks import annotate_countdowns, overdue_by_branch
from matching.models import DeadlineScan
from matching.views.declarations import _steps
from matching.workflow import Action
from portal.models import Role
from portal.tenancy import restrict
from products.eligibility import related_rows
from workdays.selectors import missing_calendar_years


def widgets(*, request, scope, role) -> dict:
    user = request.user
    context: dict = {"notifications": selectors.notification_list(user=user, unread_only=True)[:5]}
    if role == Role.ENTERPRISE_USER:
        # with its honours and bank relationships: the products' live reasons read them
        entity = restrict(MarketEntity.objects.all(), user).prefetch_related(*related_rows()).order_by("id").first()
        context["entity"] = entity
        if entity is not None:
            declaration = selectors.open_declaration_of(user=user, entity_id=entity.pk)
            context["declaration"] = declaration
            recommendations = []
            if declaration is not None:
                recommendations = annotate_countdowns(
                    selectors.declaration_leads(user=user, declaration_id=declaration.pk)
                )
                context["recommendations"] = recommendations
                context["steps"] = _steps(declaration, recommendations)
                context["holder"], context["next_step"] = workflow.holder(declaration)
                # a draft is continued and submitted from here too
                context["can"] = workflow.allowed(user, declaration, (Action.EDIT, Action.SUBMIT))
            # every bank decided (e.g. declined): a new need is a new declaration (seed 004 三(六));
            # the case's declaration and leads in hand often show it open already
            shown_open = declaration is not None and services.case_shown_open(declaration, recommendations)
            context["can_declare"] = not shown_open and services.case_in_progress(entity) is None

            # the stored matches, best offer first, with the live reasons (a few products)
            context["matching_products"] = batch_selectors.entity_matches(
                user=user, entity=entity, include_incomplete=False, limit=5
            )
    elif scope.is_government:
        counts = selectors.review_counts(user=user)
        # one counter per queue of the workflow table: 待初审, 待银行审核, 待组长审核, 待签字推送
        # each counter opens the list it counts (申报清单 filtered by that state, same restriction)
        context["review_counts"] = [
            (label, counts[state], f"{reverse('matching:declaration_list')}?state={state}")
            for state, label in workflow.queue_counts_labels()
        ]
        context["declines_awaiting_coaching"] = selectors.declines_awaiting_coaching(user=user)[:10]

        per_bank: dict[str, int] = {}
        for row in overdue_by_branch(user=user):
            per_bank[row["recommendation__bank__name"]] = (
                per_bank.get(row["recommendation__bank__name"], 0) + row["count"]
            )
        context["overdue_banks"] = [{"bank": b, "count": n} for b, n in sorted(per_bank.items(), key=lambda x: -x[1])]
        if any(role in workflow.roles(action) for action in workflow.QUEUES):
            context["near_misses"], context["near_misses_more"] = batch_selectors.near_misses(user=user, limit=5)
    elif scope.is_bank:
        counts = selectors.inbox_counts(user=user)
        context["inbox_tabs"] = [(label, counts[key], key) for key, (label, _) in selectors.INBOX_TABS.items()]

        lead_scope = batch_selectors.lead_scope(user=user)
        if lead_scope is not None and lead_scope.products:
            per_product = batch_selectors.potential_counts(user=user, scope=lead_scope)["per_product"]
            context["potential_customers"] = [(p, per_product.get(p.pk, 0)) for p in lead_scope.products]
    if role in (Role.PLATFORM_ADMIN, Role.CITY_REGULATOR, Role.PROVINCE_REGULATOR):
        context["last_scan"] = DeadlineScan.objects.filter(skipped=False, finished_at__isnull=False).first()
    if role == Role.PLATFORM_ADMIN:
        context["calendar_missing_years"] = missing_calendar_years()
    return context
