"""Domain errors: a stable code for the API and a Chinese message for the UI."""


class DomainError(Exception):
    status = 409

    def __init__(self, code: str, message: str, **details):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details


class PermissionDenied(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404

    def __init__(self, message: str = "工单不存在或您无权查看", code: str = "NOT_FOUND"):
        super().__init__(code, message)


class StaleVersion(DomainError):
    status = 409

    def __init__(self, current_version=None):
        super().__init__(
            "STALE_VERSION",
            "该工单已被他人修改，请查看最新状态后再操作",
            current_version=current_version,
        )


class ValidationFailed(DomainError):
    status = 400

    def __init__(self, message: str, field: str | None = None, code: str = "VALIDATION"):
        super().__init__(code, message, field=field)
        self.field = field


def clean_text(value, field: str, label: str, *, required: bool = True, max_len: int = 4000) -> str:
    """Trimmed text, or a ValidationFailed in Chinese naming the field."""
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(f"请填写{label}", field=field)
    if len(value) > max_len:
        raise ValidationFailed(f"{label}不能超过{max_len}字", field=field)
    return value


class Waiting(DomainError):
    """Refused for now: the action becomes possible once something else happens (a co-unit
    replies, a leader's instruction is read). Pages show these refusals as notices."""

    status = 409
