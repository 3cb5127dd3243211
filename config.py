"""Configuration classes. Everything secret or site-specific comes from the environment."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("HOTLINE_INSTANCE_DIR", BASE_DIR / "instance"))


def _database_url(default_name: str) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Heroku-style URLs and plain postgresql:// both go through psycopg 3.
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    return f"sqlite:///{INSTANCE_DIR / default_name}"


class Config:
    # Without SECRET_KEY a random key is made once and kept in instance/secret_key.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    # Behind nginx: how many proxies set X-Forwarded-For (0 = not behind a proxy).
    PROXY_FIX_X_FOR = int(os.environ.get("HOTLINE_PROXY_X_FOR", "0"))
    SQLALCHEMY_DATABASE_URI = _database_url("hotline.sqlite")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    WTF_CSRF_ENABLED = True
    # Working hours used to align a working-day deadline (local time, Asia/Shanghai).
    WORKDAY_START = os.environ.get("HOTLINE_WORKDAY_START", "09:00")
    WORKDAY_END = os.environ.get("HOTLINE_WORKDAY_END", "18:00")
    TIMEZONE = "Asia/Shanghai"
    # Scheduler: warn at this fraction of the allowed time; escalate again after this many
    # working days still overdue; job intervals in seconds.
    WARN_FRACTION = float(os.environ.get("HOTLINE_WARN_FRACTION", "0.8"))
    ESCALATE_AGAIN_AFTER_WORKING_DAYS = int(os.environ.get("HOTLINE_ESCALATE_AGAIN_DAYS", "3"))
    SUPERVISION_DUE_WORKING_DAYS = int(os.environ.get("HOTLINE_SUPERVISION_DAYS", "10"))
    JOB_INTERVALS = {
        "deadline_watch": int(os.environ.get("HOTLINE_DEADLINE_WATCH_SECONDS", "300")),
        "escalation": int(os.environ.get("HOTLINE_ESCALATION_SECONDS", "900")),
        "supervision": int(os.environ.get("HOTLINE_SUPERVISION_SECONDS", "3600")),
        "callback_due": int(os.environ.get("HOTLINE_CALLBACK_DUE_SECONDS", "900")),
        "follow_up": int(os.environ.get("HOTLINE_FOLLOW_UP_SECONDS", "3600")),
        "send_email": int(os.environ.get("HOTLINE_SEND_EMAIL_SECONDS", "60")),
        "webhooks": int(os.environ.get("HOTLINE_WEBHOOKS_SECONDS", "30")),
    }
    # Webhooks: seconds to wait after the 1st, 2nd … failed attempt (the last repeats), the
    # attempts before a delivery is failed, and the HTTP timeout.
    WEBHOOK_RETRY_DELAYS = tuple(int(s) for s in os.environ.get(
        "HOTLINE_WEBHOOK_RETRY_DELAYS", "60,300,1800,7200,43200,86400,86400").split(","))
    WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("HOTLINE_WEBHOOK_MAX_ATTEMPTS", "8"))
    WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("HOTLINE_WEBHOOK_TIMEOUT_SECONDS", "5"))
    SCHEDULER_STANDBY_RETRY_SECONDS = float(os.environ.get("HOTLINE_STANDBY_RETRY_SECONDS", "10"))
    # Optional e-mail to units; off unless MAIL_SERVER is set.
    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "") == "1"
    MAIL_FROM = os.environ.get("MAIL_FROM", "hotline@localhost")
    # Redis for counters shared by every worker (rate limits); without it the database keeps them.
    REDIS_URL = os.environ.get("REDIS_URL") or None
    # API rate limits: requests per window per bearer token and per client address (0 = off).
    API_RATE_LIMIT_PER_TOKEN = int(os.environ.get("HOTLINE_API_RATE_LIMIT_PER_TOKEN", "600"))
    API_RATE_LIMIT_PER_ADDRESS = int(os.environ.get("HOTLINE_API_RATE_LIMIT_PER_ADDRESS", "1200"))
    API_RATE_LIMIT_WINDOW_SECONDS = int(os.environ.get("HOTLINE_API_RATE_LIMIT_WINDOW_SECONDS", "60"))
    TICKETS_PER_PAGE = 50
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    PASSWORD_HASH_METHOD = "scrypt:131072:8:1"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"


class DevelopmentConfig(Config):
    DEBUG = True


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing"
    # Cheap hashes keep the suite fast; production keeps the OWASP-level scrypt above.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    # Counters in each test's own (emptied) database; the Redis tests make their own client.
    REDIS_URL = None


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True

    @classmethod
    def check(cls):
        if not os.environ.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY must be set in the environment for production")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
