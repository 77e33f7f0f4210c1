"""No service, API, view, form, import or command looks a tenant-scoped model up by an input
value except through the restriction (portal/unrestricted_lookups.py says how it is read).
Removing restrict()/resolve() from any such lookup turns this red."""

import re
from pathlib import Path

import pytest

from portal import unrestricted_lookups as lint


@pytest.fixture(scope="module")
def scoped():
    return lint.tenant_scoped_models()


def test_no_lookup_by_input_bypasses_the_tenant_restriction(scoped):
    # given the portal's code
    findings = lint.scan(scoped)
    # then every lookup of a tenant-scoped model by an input value goes through the restriction,
    # or is an exception explained in ALLOWED, and no explained exception is stale
    assert not lint.unexplained(findings), "\n".join(str(f) for f in lint.unexplained(findings))
    assert not lint.stale(findings), f"ALLOWED names lookups that no longer exist: {lint.stale(findings)}"


@pytest.mark.parametrize(
    "module, service",
    [
        ("matching/services/declarations.py", "declaration_recommend_by_bank"),
        ("entities/services.py", "_entity_for_change"),
        ("entities/services.py", "honor_revoke"),
    ],
)
def test_removing_the_restriction_from_a_service_lookup_is_caught(scoped, tmp_path, module, service):
    # given a real service whose object is resolved through the restriction
    source = (lint.ROOT / module).read_text(encoding="utf-8")
    start = source.index(f"def {service}(")
    end = source.find("\ndef ", start + 1)
    body = source[start:end]
    call = re.search(r"resolve\(\s*(\w+)(?:\.objects\.\w+\([^)]*\))?,\s*actor,\s*[A-Z]+(?:,\s*lock=True)?,\s*", body)
    assert call, f"{service} no longer resolves through resolve(): adapt this test"
    model = call.group(1)
    # when someone replaces it with a direct lookup
    mutated = source[:start] + body.replace(call.group(0), f"{model}.objects.get(", 1) + source[end:]
    copy = tmp_path / Path(module).name
    copy.write_text(mutated, encoding="utf-8")
    # then the checker reports exactly that lookup
    findings = [f for f in lint.scan(scoped, [copy]) if f.function == service]
    assert any(f.model == model for f in findings), (call.group(0), findings)
    # and the untouched module has no such finding
    original = tmp_path / "original.py"
    original.write_text(source, encoding="utf-8")
    assert not [f for f in lint.scan(scoped, [original]) if f.function == service and f.model == model]


HELPER_SOURCE = """
from entities.models import MarketEntity
from portal.tenancy import VIEW, restrict


def with_rows(queryset):
    return queryset.select_related("region")


def hidden(entity_id):
    return with_rows(MarketEntity.objects.all()).filter(pk=entity_id).first()


def restricted(user, entity_id):
    return with_rows(restrict(MarketEntity.objects.all(), user, VIEW)).filter(pk=entity_id).first()
"""


def test_a_lookup_on_what_a_helper_made_of_a_manager_is_still_seen(scoped, tmp_path):
    # given a module that hands a manager's queryset to a helper and looks an input id up on its result
    module = tmp_path / "helpers.py"
    module.write_text(HELPER_SOURCE, encoding="utf-8")
    # when the checker reads it
    findings = lint.scan(scoped, [module])
    # then the lookup on the unrestricted queryset is reported, the one on the restricted is not
    assert [(f.function, f.model) for f in findings] == [("hidden", "MarketEntity")]
