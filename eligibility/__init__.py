"""The eligibility engine: pure Python (no Django), so it is fast and unit-testable.

- ``fields``: the registry of facts a rule may test, ``from_request`` to read them;
- ``rules``: rule trees as data, ``validate_rules``;
- ``evaluate``: three-valued evaluation, reasons, verdict and offer;
- ``caps``: amount caps as data;
- ``preview``: the public eligibility preview (request validation, response).
"""

from .caps import CAP_KEYS, CapResult, validate_caps
from .evaluate import Evaluation, NodeTrace, Reason, Verdict, evaluate, evaluate_product, explain, trace_rules
from .fields import FIELDS, Field, FieldType, from_request, get_field, product_facts
from .logic import Outcome
from .preview import preview, validate_preview_request
from .rules import RuleError, desugar, fields_used, rule_errors, validate_rules

__all__ = [
    "CAP_KEYS",
    "CapResult",
    "Evaluation",
    "FIELDS",
    "Field",
    "FieldType",
    "NodeTrace",
    "Outcome",
    "Reason",
    "RuleError",
    "Verdict",
    "desugar",
    "evaluate",
    "evaluate_product",
    "explain",
    "fields_used",
    "from_request",
    "get_field",
    "preview",
    "product_facts",
    "rule_errors",
    "trace_rules",
    "validate_caps",
    "validate_preview_request",
    "validate_rules",
]
