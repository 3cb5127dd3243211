"""Forms of callbacks.classification: the callback form with its 分类处置 (it replaces the
plain callback form of hotline.callbacks.forms, which it extends)."""
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from hotline.callbacks.forms import CallbackForm
from hotline.enums import CallbackOutcome
from hotline.lifecycle.registry import attach_form


class ClassifiedCallbackForm(CallbackForm):
    outcome = SelectField("分类处置", choices=[("", "—（按满意度与诉求合理性）")] + CallbackOutcome.choices(),
                          validators=[Optional()])
    follow_up_on = DateField("计划跟踪日期（纳入计划时；不填则用阶段性答复的日期）", validators=[Optional()])


attach_form("callback", ClassifiedCallbackForm)
