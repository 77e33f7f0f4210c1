"""templates/django/forms/widgets/select.html: Django's select, its options inline."""

from pathlib import Path

from django import forms
from django.conf import settings
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.test import SimpleTestCase

CHOICES = [
    ("", "全部"),
    ("140105", "小店区"),
    ("组", [("140106", "迎泽区"), (7, '"引号" & <尖括号>')]),
    ("140107", "杏花岭区"),
]


class SelectRendersAsDjangosOwn(SimpleTestCase):
    def test_the_project_template_is_the_one_rendered(self):
        template = get_default_renderer().get_template("django/forms/widgets/select.html")
        self.assertEqual(
            Path(template.origin.name), Path(settings.BASE_DIR) / "templates/django/forms/widgets/select.html"
        )

    def assert_same(self, widget, name, value, attrs=None):
        ours = widget.render(name, value, attrs=attrs)  # the project's renderer (FORM_RENDERER)
        django_own = widget.render(name, value, attrs=attrs, renderer=DjangoTemplates())
        self.assertIn("<option", ours)
        self.assertHTMLEqual(ours, django_own)

    def test_a_select_with_groups_a_selected_option_and_attributes(self):
        self.assert_same(forms.Select(choices=CHOICES, attrs={"class": "form-select"}), "county", "140106", {"id": "c"})

    def test_nothing_selected_and_a_value_to_escape(self):
        self.assert_same(forms.Select(choices=CHOICES), "county", None)
        self.assert_same(forms.Select(choices=CHOICES), "county", 7)

    def test_a_multiple_select_and_a_disabled_one(self):
        self.assert_same(forms.SelectMultiple(choices=CHOICES), "counties", ["140105", "140107"])
        self.assert_same(forms.Select(choices=CHOICES, attrs={"disabled": True, "required": False}), "county", "")

    def test_a_form_field_renders_through_the_same_template(self):
        class Filters(forms.Form):
            county = forms.ChoiceField(choices=CHOICES, required=False)

        html = str(Filters(data={"county": "140107"})["county"])
        self.assertInHTML('<option value="140107" selected>杏花岭区</option>', html)
