"""The base of every form: Flask-WTF (CSRF) with WTForms' own Chinese messages for its
built-in checks (invalid choice, bad date ...), no control characters in text (a NUL
byte cannot be stored on PostgreSQL; the others have no place in a ticket), and fields
that tell assistive technology when they are wrong: a field with errors renders
`aria-invalid="true"` and `aria-describedby` naming its error message (the templates give
that message the id `<field id>-error`, see `error_id`), however the template renders it."""
import re

from flask_wtf import FlaskForm
from wtforms.meta import DefaultMeta

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: Fields whose widget is a list of inputs (the template marks its fieldset instead).
_GROUPS = ("RadioField", "MultiCheckboxField")


def error_id(field) -> str:
    """The id of the element that shows `field`'s error message."""
    return f"{field.id}-error"


class Form(FlaskForm):
    class Meta:
        locales = ("zh",)

        def get_translations(self, form):
            return DefaultMeta.get_translations(self, form)

        def render_field(self, field, render_kw):
            if field.errors and field.type not in _GROUPS and field.type not in ("HiddenField", "CSRFTokenField"):
                render_kw = dict(render_kw)
                render_kw["aria-invalid"] = "true"
                described = render_kw.get("aria-describedby") or (field.render_kw or {}).get("aria-describedby")
                render_kw["aria-describedby"] = " ".join(x for x in (described, error_id(field)) if x)
            return DefaultMeta.render_field(self, field, render_kw)

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        for field in self:
            values = field.data if isinstance(field.data, (list, tuple)) else [field.data]
            if any(isinstance(v, str) and CONTROL.search(v) for v in values):
                field.errors = [*field.errors, "不能包含控制字符（如 NUL），请删除后重新提交"]
                ok = False
        return ok
