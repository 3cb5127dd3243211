from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from hotline.forms import Form


class LoginForm(Form):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=1024)])
    remember = BooleanField("记住我")


class PasswordChangeForm(Form):
    current_password = PasswordField("当前密码", validators=[DataRequired("请输入当前密码"), Length(max=1024)])
    new_password = PasswordField("新密码", validators=[DataRequired("请输入新密码")])
    confirm = PasswordField("再次输入新密码", validators=[
        DataRequired("请再次输入新密码"), EqualTo("new_password", "两次输入的新密码不一致")])
