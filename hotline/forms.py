"""The base of every form: Flask-WTF (CSRF) with WTForms' own Chinese messages for its
built-in checks (invalid choice, bad date ...)."""
from flask_wtf import FlaskForm
from wtforms.meta import DefaultMeta


class Form(FlaskForm):
    class Meta:
        locales = ("zh",)

        def get_translations(self, form):
            return DefaultMeta.get_translations(self, form)
