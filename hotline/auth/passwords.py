"""The password rules, applied on every path that sets a password (admin create and reset,
the CLI, the user's own change): long enough, not the user's name, not a common password,
and judged strong by zxcvbn (which knows keyboard patterns, dates, l33t and dictionaries)."""
from __future__ import annotations

from functools import lru_cache

from flask import current_app
from zxcvbn import zxcvbn

from hotline.errors import ValidationFailed

MAX_LENGTH = 128
# Common in China and absent from zxcvbn's (English) lists: pinyin phrases and number runs.
CHINESE_COMMON = (
    "woaini", "woaini1314", "woaini520", "5201314", "1314520", "aini1314", "qq123456", "zxcvbnm",
    "a123456", "abc123456", "qwe123", "1qaz2wsx", "admin123", "admin888", "root123", "pass1234",
    "changeme", "password1", "p@ssw0rd", "12345678", "123456789", "1234567890", "88888888",
    "66666666", "11111111", "00000000", "147258369", "iloveyou", "zhang123", "wang123",
    "unit12345", "hotline12345", "12345hotline",
)


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"][:10000]) | frozenset(CHINESE_COMMON)


def check_password_rules(password: str, username: str = "", display_name: str = "",
                         field: str = "password") -> None:
    """Raise ValidationFailed (Chinese, naming `field`) unless `password` is acceptable."""
    password = password or ""
    min_length = current_app.config.get("PASSWORD_MIN_LENGTH", 10)
    if len(password) < min_length:
        raise ValidationFailed(f"密码至少 {min_length} 位", field=field)
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(f"密码不能超过 {MAX_LENGTH} 位", field=field)
    lowered = password.lower()
    for name in (username, display_name):
        name = (name or "").strip().lower()
        if len(name) >= 3 and (name in lowered or lowered in name):
            raise ValidationFailed("密码不能包含用户名或姓名", field=field)
    if lowered in _common() or lowered.rstrip("!.1") in _common():
        raise ValidationFailed("该密码过于常见，容易被猜中，请换一个", field=field)
    result = zxcvbn(password[:100], user_inputs=[n for n in (username, display_name, "hotline", "12345") if n])
    if result["score"] < current_app.config.get("PASSWORD_MIN_SCORE", 3):
        raise ValidationFailed("密码强度不足：请使用更长的、不易猜测的组合（如几个不相关的词加数字和符号）",
                               field=field)
