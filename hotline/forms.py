"""The base of every form: Flask-WTF (CSRF) with WTForms' own Chinese messages for its
built-in checks (invalid choice, bad date ...), and no control characters in text (a NUL
byte cannot be stored on PostgreSQL; the others have no place in a ticket)."""
import re

from flask_wtf import FlaskForm
from wtforms.meta import DefaultMeta

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Form(FlaskForm):
    class Meta:
        locales = ("zh",)

        def get_translations(self, form):
            return DefaultMeta.get_translations(self, form)

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        for field in self:
            values = field.data if isinstance(field.data, (list, tuple)) else [field.data]
            if any(isinstance(v, str) and CONTROL.search(v) for v in values):
                field.errors = [*field.errors, "不能包含控制字符（如 NUL），请删除后重新提交"]
                ok = False
        return ok
