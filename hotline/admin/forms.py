"""Forms of the admin pages. They check the shape of the input; the rules live in
hotline.admin.services.* and hotline.auth.services."""
from __future__ import annotations

import re

from wtforms import (BooleanField, DateField, IntegerField, PasswordField, RadioField, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from hotline.admin.services.time_limits import cell_key, clean_limit_amount
from hotline.enums import DeadlineClock, LimitUnit, RequestType, Role, SupervisionLevel, UnitKind
from hotline.errors import ValidationFailed
from hotline.forms import Form
from hotline.reports.definitions import CALLBACK_PICK, CLOSE_BASIS, OVERDUE_DAYS, RESPONSE_PARTS, SIGN_RETURNS
from hotline.supervision.levels import DEFAULT_NAMES


class AdminForm(Form):
    """Admin forms: WTForms' Chinese messages (see hotline.forms)."""


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def optional_int(value):
    """Coerce for a select whose first choice ("") means none."""
    return int(value) if value not in (None, "", "None") else None


def unit_choices(units, blank: str | None = None) -> list[tuple]:
    """Units as indented select options in tree order; `blank` adds a "none" option."""
    choices = [("", blank)] if blank is not None else []
    for u in units:
        label = "　" * (u.level - 1) + u.name + ("（已停用）" if not u.active else "")
        choices.append((u.id, label))
    return choices


def category_choices(tree, blank: str | None = None) -> list[tuple]:
    choices = [("", blank)] if blank is not None else []
    choices += [(c.id, c.full_name + ("（已停用）" if not c.active else "")) for c, _ in tree]
    return choices


def _required(label: str):
    return DataRequired(f"请填写{label}")


class UserCreateForm(AdminForm):
    username = StringField("用户名", validators=[_required("用户名"), Length(max=64, message="用户名不能超过 64 个字符")])
    display_name = StringField("姓名", validators=[_required("姓名"), Length(max=100, message="姓名不能超过 100 个字")])
    unit_id = SelectField("所属单位", coerce=optional_int, validators=[DataRequired("请选择所属单位")])
    roles = MultiCheckboxField("角色", choices=Role.choices(), validators=[DataRequired("至少选择一个角色")])
    # The rules (length, strength, not the name, not common) are checked by the service.
    password = PasswordField("初始密码", description="用户首次登录时须修改；至少 10 位，不能是常见密码或含用户名",
                             validators=[_required("密码"), Length(max=128, message="密码不能超过 128 位")])


class UserEditForm(AdminForm):
    display_name = StringField("姓名", validators=[_required("姓名"), Length(max=100, message="姓名不能超过 100 个字")])
    unit_id = SelectField("所属单位", coerce=optional_int, validators=[DataRequired("请选择所属单位")])
    roles = MultiCheckboxField("角色", choices=Role.choices(), validators=[DataRequired("至少选择一个角色")])
    active = BooleanField("启用")
    password = PasswordField("重置密码", description="留空则不修改；用户下次登录时须修改；至少 10 位，不能是常见密码或含用户名",
                             validators=[Optional(), Length(max=128, message="密码不能超过 128 位")])


class UnitForm(AdminForm):
    code = StringField("单位编码", validators=[_required("单位编码"), Length(max=32, message="编码不能超过 32 个字符")])
    name = StringField("单位名称", validators=[_required("单位名称"), Length(max=100, message="名称不能超过 100 个字")])
    kind = SelectField("单位类型", choices=UnitKind.choices())
    parent_id = SelectField("上级单位", coerce=optional_int,
                            description="层级由上级单位决定（上级层级 + 1），最多 4 级；只有热线中心可以没有上级")
    supervisor_id = SelectField("督导单位", coerce=optional_int, description="超期升级时的督导单位；不选则为上级单位")
    email = StringField("邮箱", validators=[Length(max=200, message="邮箱不能超过 200 个字符")])
    active = BooleanField("启用", default=True)


class CategoryForm(AdminForm):
    code = StringField("分类编码", validators=[_required("分类编码"), Length(max=32, message="编码不能超过 32 个字符")])
    name = StringField("分类名称", validators=[_required("分类名称"), Length(max=100, message="名称不能超过 100 个字")])
    parent_id = SelectField("上级分类", coerce=optional_int)
    sort = StringField("排序", default="0", description="同级分类按此数字从小到大排列")
    active = BooleanField("启用", default=True, description="停用分类时，其下级分类一并停用")
    public = BooleanField("对外公开（Open311 服务）",
                          description="公开的分类作为 Open311 服务对外提供：公众应用可查询和提交此类诉求（保密工单除外）")


class RoutingRuleForm(AdminForm):
    category_id = SelectField("诉求分类", coerce=optional_int, validators=[DataRequired("请选择分类")],
                              description="规则也适用于该分类的所有下级分类；更具体的规则优先")
    district_id = SelectField("区县", coerce=optional_int, description="不选表示全市（不限区县）")
    lead_unit_id = SelectField("主办单位", coerce=optional_int, validators=[DataRequired("请选择主办单位")])
    co_unit_ids = SelectMultipleField("协办单位", coerce=int, description="可多选（按住 Ctrl 或 Shift）")
    certain = BooleanField("确定规则，可自动派单")
    active = BooleanField("启用", default=True)
    note = StringField("备注", validators=[Length(max=200, message="备注不能超过 200 个字")])


class AutoDispatchForm(AdminForm):
    auto_dispatch = BooleanField("受理时按确定规则自动派单")


class ConfirmForm(AdminForm):
    """Only the CSRF token: for delete and deactivate buttons."""


def _limit_amount(form, field):
    try:
        clean_limit_amount(field.data, field.name)
    except ValidationFailed as err:
        raise ValidationError(err.message) from None


def time_limit_form(grid: list[dict]):
    """One form for the whole policy table: amount_<cell> and unit_<cell> per cell."""

    class TimeLimitForm(AdminForm):
        pass

    data = {}
    for row in grid:
        for urgency, (amount, unit) in row["cells"].items():
            key = cell_key(row["clock"], row["request_type"], urgency)
            setattr(TimeLimitForm, f"amount_{key}", StringField(urgency.label, validators=[_limit_amount]))
            setattr(TimeLimitForm, f"unit_{key}", SelectField("单位", choices=LimitUnit.choices()))
            data[f"amount_{key}"] = "" if amount is None else str(amount)
            data[f"unit_{key}"] = unit.value
    return TimeLimitForm(data=data)


class TimeLimitRowForm(AdminForm):
    clock = SelectField("时限", choices=DeadlineClock.choices())
    request_type = SelectField("诉求类型", choices=RequestType.choices())


class HolidayForm(AdminForm):
    day = DateField("日期", validators=[InputRequired("请填写日期")])
    is_workday = RadioField("类型", choices=[("0", "休息日（放假）"), ("1", "工作日（调休上班）")], default="0")
    name = StringField("名称", description="例如：春节、国庆节调休",
                       validators=[Length(max=100, message="名称不能超过 100 个字")])


class CalendarYearForm(AdminForm):
    note = StringField("说明", validators=[Length(max=200, message="说明不能超过 200 个字")])


class ArticleForm(AdminForm):
    title = StringField("标题", validators=[_required("标题"), Length(max=200, message="标题不能超过 200 个字")])
    category_id = SelectField("分类", coerce=optional_int)
    keywords = StringField("关键词", description="多个关键词用空格或逗号分隔",
                           validators=[Length(max=400, message="关键词不能超过 400 个字")])
    body = TextAreaField("答复内容", validators=[_required("答复内容")], render_kw={"rows": 10})
    active = BooleanField("启用", default=True)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _level_name_field(level: SupervisionLevel):
    default = DEFAULT_NAMES[level]
    return StringField(f"第 {int(level)} 级督办名称", filters=[_strip], render_kw={"placeholder": default},
                       description=f"留空则使用默认名称「{default}」",
                       validators=[Length(max=20, message="督办级别名称不能超过 20 个字")])


class LevelNamesForm(AdminForm):
    """The names of the three supervision levels; a blank one keeps its default."""
    level_1 = _level_name_field(SupervisionLevel.UNIT)
    level_2 = _level_name_field(SupervisionLevel.SUPERVISING_UNIT)
    level_3 = _level_name_field(SupervisionLevel.CENTRE)


def _refusal_lines(form, field):
    """Each line `代码|名称|告知话术`: a code of letters, digits or _, a name, the words read out."""
    seen = set()
    for n, line in enumerate((field.data or "").splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3 or not parts[1]:
            raise ValidationError(f"第 {n} 行格式不对：应为「代码|名称|告知话术」")
        if not re.fullmatch(r"[a-z0-9_]{1,32}", parts[0]):
            raise ValidationError(f"第 {n} 行的代码只能用小写字母、数字和下划线（至多 32 个）")
        if parts[0] in seen:
            raise ValidationError(f"第 {n} 行的代码「{parts[0]}」重复")
        seen.add(parts[0])
    if not seen:
        raise ValidationError("至少要有一条不予受理原因")


class ProcessSettingsForm(AdminForm):
    """Where a city's practice differs: the process settings (today's behaviour by default)."""
    signoff_enabled = BooleanField("督办工单重新办理的结果须经领导签批后再回访")
    signoff_min_level = SelectField("签批适用的最低督办级别", coerce=int)
    signoff_request_types = MultiCheckboxField("签批适用的诉求类型（不选则全部适用）", choices=RequestType.choices())
    co_unit_days_before_lead = IntegerField(
        "协办单位办理时限比主办单位提前（工作日）",
        validators=[InputRequired("请填写天数"), NumberRange(0, 10, "须为 0–10 之间的整数")],
        description="0 表示与主办单位相同；按小时计的紧急工单不提前")
    coordination_after_returns = IntegerField(
        "主办单位退单几次后提请上级协调",
        validators=[InputRequired("请填写次数"), NumberRange(0, 10, "须为 0–10 之间的整数")],
        description="0 表示不启用，退单始终回到派单员")
    fallback_unit_id = SelectField("兜底单位（上级协调无法确定责任单位时承办）", coerce=lambda v: int(v) if v else None)
    refusal_reasons = TextAreaField("不予受理原因（每行一条：代码|名称|告知话术）", render_kw={"rows": 8},
                                    validators=[_refusal_lines])
    audit_retention_days = IntegerField(
        "审计日志保留天数",
        validators=[Optional(), NumberRange(0, 36500, "须为 0–36500 之间的整数")],
        description="每天清除更早的记录（清除本身也会记录）；0 表示永久保留；留空则沿用当前值")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _decimal(form, field):
    """The shape of a weight: a plain decimal such as 0.8 (its range is checked by the rules)."""
    if not re.fullmatch(r"-?\d{1,4}(\.\d{1,4})?", field.data or ""):
        raise ValidationError("须为数字（至多 4 位小数），如 0.8")


def _weight_field(label: str, description: str = ""):
    return StringField(label, filters=[_strip], description=description,
                       validators=[InputRequired("请填写权重"), _decimal])


class ReportDefinitionsForm(AdminForm):
    """统计口径: how the reports count (hotline.reports.definitions checks the rules);
    one weight field `weight_<part>` per part 响应率 may be composed of."""
    sign_returns = RadioField("按时签收率：按时退回的派件", choices=list(SIGN_RETURNS.items()))
    close_basis = RadioField("按时办结率：按哪个办理时限判断按时", choices=list(CLOSE_BASIS.items()))
    callback_pick = RadioField("解决率与满意率：一张工单本期有多次回访时", choices=list(CALLBACK_PICK.items()))
    basic_weight = _weight_field("满意率中“基本满意”的权重（0–1）",
                                 "1 表示基本满意与满意同等计入，0 表示只计满意")
    overdue_days = RadioField("超期天数", choices=list(OVERDUE_DAYS.items()))
    repeat_days = IntegerField("重复来电：同一号码多少天内再次来电（1–365 天）",
                               validators=[InputRequired("请填写天数")])


for _part, _label in RESPONSE_PARTS.items():
    setattr(ReportDefinitionsForm, f"weight_{_part}", _weight_field(f"响应率中{_label}的权重"))
del _part, _label


class ApiTokenForm(AdminForm):
    user_id = SelectField("令牌代表的用户", coerce=int, validators=[DataRequired("请选择用户")])
    name = StringField("用途（如 CTI 交换机、省平台）", validators=[DataRequired("请填写用途"), Length(max=100)])
