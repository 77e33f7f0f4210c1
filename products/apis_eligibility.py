"""POST /api/v1/eligibility/preview (shared/domain/eligibility-api.md).

Request fields beyond the contract's first version (optional, compatible): ``entity.tier_estimate``
— the portal's 三型 estimate, informative only (``entity.tier`` is the regulator's mark of the
provincial 名录库; a rule that needs the mark is ``unknown`` without it, whatever the estimate,
and its reason names the estimate: "尚无市场监管部门的三型标记（平台预估：成长型），请联系市场监管部门标记").

Open to anonymous visitors (the 资格自测 of people not yet registered), rate-limited per
client address (portal.throttling: scope "eligibility", 30/min; signed-in users per user,
"eligibility_user", 300/min), and nothing is stored for anyone: the preview only reads the
catalogue. Bad input is a 400 with
field errors in the portal's error format; no input can produce a 500.
"""

from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.throttling import EligibilityAnonThrottle, EligibilityUserThrottle
from products.eligibility import run_preview

__all__ = ["EligibilityAnonThrottle", "EligibilityUserThrottle", "EligibilityPreviewView", "urlpatterns"]


class ReasonSerializer(serializers.Serializer):
    rule = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["pass", "fail", "unknown"])
    message = serializers.CharField()


class ResultSerializer(serializers.Serializer):
    product = serializers.CharField()
    bank = serializers.CharField()
    name = serializers.CharField()
    verdict = serializers.ChoiceField(choices=["eligible", "incomplete", "ineligible"])
    max_amount = serializers.IntegerField(allow_null=True)
    binding_cap = serializers.CharField(allow_null=True)
    reasons = ReasonSerializer(many=True)
    bank_checks = serializers.ListField(child=serializers.CharField())
    bank_name = serializers.CharField(allow_null=True)
    term_months = serializers.IntegerField()
    payment_mode = serializers.DictField(allow_null=True)
    version = serializers.IntegerField(help_text="所用产品版本的 id")


class PreviewResponseSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    results = ResultSerializer(many=True)


class EligibilityPreviewView(APIView):
    """资格预评估: which products an entity qualifies for, for how much, and why (not)."""

    permission_classes = [AllowAny]
    throttle_classes = [EligibilityAnonThrottle, EligibilityUserThrottle]
    parser_classes = [JSONParser]

    @extend_schema(
        description=(
            "请求字段见 eligibility-api.md。entity.tier 为市场监管部门在名录库中的三型标记; "
            "可选的 entity.tier_estimate 为平台按经营数据测算的三型预估, 仅供参考, 不满足任何要求三型标记的条件"
            "(只有预估时相关条件为 unknown, 结论为 incomplete, 原因中写明预估值)。"
        ),
        request={"application/json": {"type": "object"}},
        responses={200: PreviewResponseSerializer},
        examples=[
            OpenApiExample(
                "个体工商户",
                value={
                    "as_of": "2026-11-22",
                    "entity": {
                        "entity_type": "individual_business",
                        "established_on": "2025-05-10",
                        "region_code": "140502",
                        "tier": "survival",
                        "annual_revenue": 150000,
                    },
                    "products": ["huishangdai"],
                },
                request_only=True,
            ),
            OpenApiExample(
                "尚未标记三型, 只有平台预估",
                value={
                    "as_of": "2026-11-22",
                    "entity": {
                        "entity_type": "individual_business",
                        "established_on": "2024-05-10",
                        "region_code": "140502",
                        "tier": None,
                        "tier_estimate": "growth",
                        "annual_revenue": 800000,
                    },
                    "products": ["huishangdai"],
                },
                request_only=True,
            ),
        ],
    )
    def post(self, request):
        response, errors = run_preview(request.data)
        if errors:
            raise ValidationError(errors)
        return Response(response, status=status.HTTP_200_OK)


# included by portal/urls.py at api/v1/eligibility/preview
urlpatterns = [path("", EligibilityPreviewView.as_view(), name="api-eligibility-preview")]
