"""Bounds in one place: every number that comes from outside the portal — a query string, a
form, an API body, a cell of an imported file — is parsed here, is finite, and lies within
the range of the column it ends up in (or a narrower range the caller names), or it is
refused with a Chinese field error. Nothing that parses input calls int(), float() or
Decimal() on it directly.

- `column_range(field)`: what a model field can store (integer columns by type, decimal
  columns by max_digits/decimal_places), the same on SQLite and PostgreSQL;
- `to_int()` / `to_decimal()`: one value, raising `OutOfBounds` (a ValueError with the
  Chinese message) — for services and file rows;
- `QueryParams`: the one query-string parser of every list filter, page or API; it
  collects Chinese errors per parameter (pages ignore a bad value and say so, the API
  answers 400 through `raise_for_errors()`);
- `IntegerField`, `DecimalField`, `IdField`, `IdListField` (DRF) and `FormIntegerField`,
  `FormDecimalField` (Django forms): fields whose limits default to their column's range.

`tests/test_number_bounds.py` walks every serializer and form of the portal and fails when
a numeric input field is unbounded, and sends hostile numbers to every API operation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Field, Model
from django_filters.rest_framework import DjangoFilterBackend, FilterSet
from drf_spectacular.drainage import set_override
from rest_framework import serializers

from portal.errors import ApplicationError

INTEGER_RANGES = BaseDatabaseOperations.integer_field_ranges
BIGINT_MIN, BIGINT_MAX = INTEGER_RANGES["BigIntegerField"]
ID_MAX = INTEGER_RANGES["BigAutoField"][1]
ID_SCHEMA = {"type": "integer", "format": "int64", "minimum": 1, "maximum": ID_MAX}  # an id parameter, for the schema
MAX_TEXT_LENGTH = 40  # digits, sign, point and exponent of any number a column can hold

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
MSG_INTEGER = "应为整数"
MSG_NUMBER = "应为数字"


class OutOfBounds(ValueError):
    """A number from outside the portal that is not a finite number in range; `message` is
    the Chinese field error."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def column(model: type[Model], name: str) -> Field:
    return model._meta.get_field(name)


def column_range(field: Field) -> tuple[Any, Any]:
    """(smallest, largest) value the model field can store."""
    if field.is_relation:
        field = field.target_field
    internal = field.get_internal_type()
    if internal in INTEGER_RANGES:
        return INTEGER_RANGES[internal]
    if internal == "DecimalField":
        largest = Decimal(10) ** (field.max_digits - field.decimal_places) - Decimal(10) ** -field.decimal_places
        return -largest, largest
    raise TypeError(f"{field} is not a numeric column")


def _limits(field: Field | None, min_value, max_value, unit=1) -> tuple[Any, Any]:
    """The caller's limits, each narrowed to what the column holds (in the column's unit
    divided by `unit`, e.g. a 元 column read in 万元)."""
    if field is None:
        return min_value, max_value
    low, high = column_range(field)
    if unit != 1:
        low, high = Decimal(low) / unit, Decimal(high) / unit
    return (low if min_value is None else max(min_value, low)), (high if max_value is None else min(max_value, high))


def _format(value) -> str:
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def _check_range(number, min_value, max_value):
    if min_value is not None and number < min_value:
        raise OutOfBounds("不能为负数" if min_value == 0 else f"不能小于 {_format(min_value)}")
    if max_value is not None and number > max_value:
        raise OutOfBounds(f"不能大于 {_format(max_value)}")
    return number


def _as_decimal(value, message: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise OutOfBounds(message)
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
    elif isinstance(value, float):
        number = (
            Decimal(repr(value)) if value == value and value not in (float("inf"), float("-inf")) else Decimal("NaN")
        )
    elif isinstance(value, str):
        text = value.strip().replace(",", "")
        # plain ASCII decimals only: str.isdigit(), int() and Decimal() also take "²", "١٢", "1_000" or "NaN"
        if len(text) > MAX_TEXT_LENGTH or not _NUMBER.fullmatch(text):
            raise OutOfBounds(message)
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise OutOfBounds(message) from None
    else:
        raise OutOfBounds(message)
    if not number.is_finite():
        raise OutOfBounds(message)
    return number


def to_int(value, *, field: Field | None = None, min_value: int | None = None, max_value: int | None = None) -> int:
    """A whole number within the column's (and the caller's) limits. Accepts ints, integral
    decimals and floats, and text such as "12", " 12 ", "12.0", "1,200"."""
    number = _as_decimal(value, MSG_INTEGER)
    if number != number.to_integral_value():
        raise OutOfBounds(MSG_INTEGER)
    low, high = _limits(field, min_value, max_value)
    if low is None and high is None:
        low, high = BIGINT_MIN, BIGINT_MAX
    return int(_check_range(number, low, high))


def to_decimal(
    value, *, field: Field | None = None, min_value=None, max_value=None, unit=1, decimal_places: int | None = None
) -> Decimal:
    """A finite decimal within the column's limits (a column in 元 read in 万元: unit=10000),
    with at most `decimal_places` places (the column's own when unit is 1)."""
    number = _as_decimal(value, MSG_NUMBER)
    low, high = _limits(field, min_value, max_value, unit)
    if low is None and high is None:
        low, high = BIGINT_MIN, BIGINT_MAX
    _check_range(number, low, high)
    places = decimal_places
    if places is None and field is not None and unit == 1 and field.get_internal_type() == "DecimalField":
        places = field.decimal_places
    if places is not None and number.as_tuple().exponent < -places:
        raise OutOfBounds(f"最多 {places} 位小数" if places else MSG_INTEGER)
    return number


def to_id(value) -> int:
    """A primary key (1 … the largest id): anything else names nothing."""
    return to_int(value, min_value=1, max_value=ID_MAX)


# --- query strings ---------------------------------------------------------------------------------


class QueryParams:
    """The one parser of query-string numbers (`request.GET` or DRF's `query_params`; any
    mapping with .get/.getlist works). A missing or empty value is None; a bad one is None
    too and its Chinese message is kept in `errors` (parameter → message): pages show or
    ignore them, the API answers 400 with `raise_for_errors()`."""

    def __init__(self, params: Mapping | None):
        self.params = params if params is not None else {}
        self.errors: dict[str, str] = {}

    def text(self, name: str) -> str:
        value = self.params.get(name)
        return value.strip() if isinstance(value, str) else ""

    def _parse(self, name: str, parse, default):
        text = self.text(name)
        if not text:
            return default
        try:
            return parse(text)
        except OutOfBounds as exc:
            self.errors[name] = exc.message
            return default

    def integer(
        self, name: str, *, field: Field | None = None, min_value=None, max_value=None, default=None
    ) -> int | None:
        return self._parse(name, lambda t: to_int(t, field=field, min_value=min_value, max_value=max_value), default)

    def decimal(
        self,
        name: str,
        *,
        field: Field | None = None,
        min_value=None,
        max_value=None,
        unit=1,
        decimal_places=None,
        default=None,
    ) -> Decimal | None:
        return self._parse(
            name,
            lambda t: to_decimal(
                t, field=field, min_value=min_value, max_value=max_value, unit=unit, decimal_places=decimal_places
            ),
            default,
        )

    def id(self, name: str, default=None) -> int | None:
        return self._parse(name, to_id, default)

    def ids(self, name: str, *, limit: int = 500) -> list[int]:
        """Ids given repeated (?ids=1&ids=2) or comma-separated (?ids=1,2); all or none."""
        getlist = getattr(self.params, "getlist", None)
        raw = getlist(name) if getlist else [self.params.get(name) or ""]
        parts = [part.strip() for value in raw if isinstance(value, str) for part in value.split(",") if part.strip()]
        if len(parts) > limit:
            self.errors[name] = f"最多 {limit} 个"
            return []
        try:
            return list(dict.fromkeys(to_id(part) for part in parts))
        except OutOfBounds:
            self.errors[name] = "应为记录编号"
            return []

    def raise_for_errors(self):
        """For the API: bad parameters are a 400 in the portal's error format."""
        if self.errors:
            first = next(iter(self.errors.values()))
            raise ApplicationError(f"查询参数有误: {first}", field_errors={k: [v] for k, v in self.errors.items()})


def query_id(value) -> int | None:
    """One id from a query string or a form (None when it is not a valid id)."""
    try:
        return to_id(value) if value not in (None, "") else None
    except OutOfBounds:
        return None


def form_ids(values) -> list[int]:
    """The valid ids of a submitted list (checkboxes: `request.POST.getlist("ids")`); a value
    that is no id is dropped, as it names nothing."""
    return list(dict.fromkeys(i for i in (query_id(v) for v in values) if i is not None))


# --- DRF fields --------------------------------------------------------------------------------------

_DRF_INTEGER_MESSAGES = {
    "invalid": "请输入整数。",
    "max_value": "不能大于 {max_value}。",
    "min_value": "不能小于 {min_value}。",
    "max_string_length": "数值过长。",
    "required": "该字段是必填项。",
    "null": "该字段不能为空。",
}
_DRF_DECIMAL_MESSAGES = {
    "invalid": "请输入数字。",
    "max_value": "不能大于 {max_value}。",
    "min_value": "不能小于 {min_value}。",
    "max_digits": "总位数不能超过 {max_digits} 位。",
    "max_decimal_places": "小数不能超过 {max_decimal_places} 位。",
    "max_whole_digits": "整数部分不能超过 {max_whole_digits} 位。",
    "max_string_length": "数值过长。",
    "required": "该字段是必填项。",
    "null": "该字段不能为空。",
}


class IntegerField(serializers.IntegerField):
    """An integer input bounded by its column (`field=column(Model, "name")`) and the
    caller's min_value/max_value; without a column, by the 64-bit range."""

    default_error_messages = _DRF_INTEGER_MESSAGES

    def __init__(self, *, field: Field | None = None, **kwargs):
        low, high = _limits(field, kwargs.pop("min_value", None), kwargs.pop("max_value", None))
        kwargs["min_value"] = BIGINT_MIN if low is None else int(low)
        kwargs["max_value"] = BIGINT_MAX if high is None else int(high)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, float) and not data.is_integer():
            self.fail("invalid")
        return super().to_internal_value(data)


class IdField(IntegerField):
    """The id of a record named by input (1 … the largest id)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", ID_MAX)
        super().__init__(**kwargs)


class IdListField(serializers.ListField):
    def __init__(self, **kwargs):
        kwargs.setdefault("child", IdField())
        kwargs.setdefault("max_length", 500)
        kwargs.setdefault(
            "error_messages",
            {
                "not_a_list": "应为编号列表。",
                "max_length": "最多 {max_length} 个。",
                "min_length": "至少 {min_length} 个。",
                "empty": "不能为空。",
            },
        )
        super().__init__(**kwargs)


class DecimalField(serializers.DecimalField):
    """A finite decimal input bounded by its column (max_digits and decimal_places come from
    it unless given) and the caller's limits."""

    default_error_messages = _DRF_DECIMAL_MESSAGES

    def __init__(self, *, field: Field | None = None, max_digits=None, decimal_places=None, **kwargs):
        if field is not None:
            max_digits = field.max_digits if max_digits is None else max_digits
            decimal_places = field.decimal_places if decimal_places is None else decimal_places
        low, high = _limits(field, kwargs.pop("min_value", None), kwargs.pop("max_value", None))
        if high is None and max_digits is not None:
            high = Decimal(10) ** (max_digits - decimal_places) - Decimal(10) ** -decimal_places
            low = -high if low is None else low
        if high is None:
            raise TypeError("a DecimalField input needs a column, max_digits or max_value")
        kwargs["min_value"], kwargs["max_value"] = Decimal(low), Decimal(high)
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, str) and len(data.strip()) > MAX_TEXT_LENGTH:
            self.fail("max_string_length")
        return super().to_internal_value(data)


# --- form fields -------------------------------------------------------------------------------------


class FormIntegerField(forms.IntegerField):
    """An integer form field bounded by its column and the caller's limits (Django's Chinese
    messages, as every other form field of the pages)."""

    def __init__(self, *, field: Field | None = None, min_value=None, max_value=None, **kwargs):
        low, high = _limits(field, min_value, max_value)
        super().__init__(
            min_value=BIGINT_MIN if low is None else int(low),
            max_value=BIGINT_MAX if high is None else int(high),
            **kwargs,
        )

    def to_python(self, value):
        if isinstance(value, str) and len(value.strip()) > MAX_TEXT_LENGTH:
            raise DjangoValidationError(MSG_INTEGER, code="invalid")
        return super().to_python(value)


class FormDecimalField(forms.DecimalField):
    """A finite decimal form field bounded by its column; `unit` reads a 元 column in 万元
    (unit=10000): the largest value is the column's largest divided by the unit."""

    def __init__(self, *, field: Field | None = None, unit=1, min_value=None, max_value=None, **kwargs):
        low, high = _limits(field, min_value, max_value, unit)
        if high is None and kwargs.get("max_digits") is None:
            raise TypeError("a decimal form field needs a column, max_digits or max_value")
        super().__init__(min_value=low, max_value=high, **kwargs)

    def to_python(self, value):
        if isinstance(value, str) and len(value.strip()) > MAX_TEXT_LENGTH:
            raise DjangoValidationError(MSG_NUMBER, code="invalid")
        return super().to_python(value)


# --- API list filters (django-filter) -------------------------------------------------------------------


class _FormIdField(FormIntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", ID_MAX)
        kwargs.setdefault(
            "error_messages", {"invalid": "应为记录编号", "min_value": "应为记录编号", "max_value": "应为记录编号"}
        )
        super().__init__(**kwargs)


class IdFilter(django_filters.NumberFilter):
    """A filter on a record's id (1 … the largest id); anything else is a 400."""

    field_class = _FormIdField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        set_override(self, "field", dict(ID_SCHEMA))


class IntegerFilter(django_filters.NumberFilter):
    """A whole-number filter bounded by its column (`column=column(Model, "name")`)."""

    field_class = FormIntegerField

    def __init__(self, *args, column: Field | None = None, **kwargs):
        low, high = _limits(column, kwargs.get("min_value"), kwargs.get("max_value"))
        kwargs["min_value"] = BIGINT_MIN if low is None else int(low)
        kwargs["max_value"] = BIGINT_MAX if high is None else int(high)
        super().__init__(*args, **kwargs)
        set_override(
            self,
            "field",
            {"type": "integer", "format": "int64", "minimum": kwargs["min_value"], "maximum": kwargs["max_value"]},
        )


class BoundedFilterSet(FilterSet):
    """The filter set behind every API `filterset_fields`: integer and foreign-key columns
    are filtered through the bounded filters above."""

    @classmethod
    def filter_for_lookup(cls, field, lookup_type):
        filter_class, params = super().filter_for_lookup(field, lookup_type)
        if lookup_type not in ("exact", "gt", "gte", "lt", "lte"):
            return filter_class, params
        target = field.target_field if field.is_relation and field.many_to_one else field
        internal = target.get_internal_type()
        if internal in ("AutoField", "BigAutoField", "SmallAutoField"):
            return IdFilter, {}  # an id (of the row or the row it points to): an unknown one matches nothing
        if internal in INTEGER_RANGES and not field.is_relation:
            return IntegerFilter, {**params, "column": field}
        return filter_class, params


class FilterBackend(DjangoFilterBackend):
    filterset_base = BoundedFilterSet
