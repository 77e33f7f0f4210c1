"""POST /api/v1/eligibility/preview (shared/domain/eligibility-api.md).

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
            )
        ],
    )
    def post(self, request):
        response, errors = run_preview(request.data)
        if errors:
            raise ValidationError(errors)
        return Response(response, status=status.HTTP_200_OK)


# included by portal/urls.py at api/v1/eligibility/preview
urlpatterns = [path("", EligibilityPreviewView.as_view(), name="api-eligibility-preview")]
