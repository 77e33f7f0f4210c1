"""The one way a form field is drawn (templates/portal/_field.html) and the one way a service's
refusal becomes a form's errors (portal.forms.apply_application_error): after an error the
page is drawn again from the bound form, so what was typed stays, each error sits beside its
field, and the widget points at it (aria-invalid, aria-describedby)."""

from django import forms, template

register = template.Library()


def widget_class(field, size: str = "") -> str:
    """Bootstrap's class for a bound field's widget: form-select, form-check-input or
    form-control (with its size), is-invalid when the field has errors; a class the form
    gave the widget is kept."""
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect)):
        css = ""
    elif isinstance(widget, forms.Select):
        css = "form-select" + (f" form-select-{size}" if size else "")
    else:
        css = "form-control" + (f" form-control-{size}" if size else "")
    given = widget.attrs.get("class", "")
    classes = given if "form-" in given else " ".join(c for c in (given, css) if c)
    return classes + (" is-invalid" if field.errors and "is-invalid" not in classes else "")


@register.simple_tag
def field_widget(field, size: str = ""):
    """The widget of a bound field with its value as typed, Bootstrap's class, and (Django's
    BoundField) aria-invalid and aria-describedby naming `<id>_error` and `<id>_helptext`."""
    return field.as_widget(attrs={"class": widget_class(field, size)})


@register.filter
def error_labels(form) -> list[str]:
    """The Chinese labels of the fields of `form` that have errors, in the form's order."""
    return [form[name].label for name in form.fields if name in form.errors]
