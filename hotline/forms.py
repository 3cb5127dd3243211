"""The base of every form: Flask-WTF (CSRF) with WTForms' own Chinese messages for its
built-in checks (invalid choice, bad date ...), and fields that tell assistive technology
when they are wrong: a field with errors renders `aria-invalid="true"` and
`aria-describedby` naming its error message (the templates give that message the id
`<field id>-error`, see `error_id`), however the template renders it."""
from flask_wtf import FlaskForm
from wtforms.meta import DefaultMeta

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
