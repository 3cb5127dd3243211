"""Configuration classes. Everything secret or site-specific comes from the environment."""
import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("HOTLINE_INSTANCE_DIR", BASE_DIR / "instance"))


def _driver_url(url: str | None) -> str | None:
    """Heroku-style URLs and plain postgresql:// both go through psycopg 3."""
    if not url:
        return None
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _database_url(default_name: str) -> str:
    return _driver_url(os.environ.get("DATABASE_URL")) or f"sqlite:///{INSTANCE_DIR / default_name}"


class Config:
    # Without SECRET_KEY a random key is made once and kept in instance/secret_key.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    # Behind nginx: how many proxies set X-Forwarded-For (0 = not behind a proxy).
    PROXY_FIX_X_FOR = int(os.environ.get("HOTLINE_PROXY_X_FOR", "0"))
    SQLALCHEMY_DATABASE_URI = _database_url("hotline.sqlite")
    # Reports, the dashboard and the CSV exports count from this database when set (a
    # streaming replica of the primary); unset, they read DATABASE_URL like everything
    # else. Whatever writes (stored report snapshots, jobs) always uses the primary. Before
    # counting, a request waits at most this many seconds for a PostgreSQL standby to have
    # replayed what the primary had committed, and reads the primary if it has not.
    REPORTS_DATABASE_URL = _driver_url(os.environ.get("REPORTS_DATABASE_URL"))
    REPORTS_REPLICA_MAX_WAIT_SECONDS = float(os.environ.get("HOTLINE_REPORTS_REPLICA_MAX_WAIT_SECONDS", "2"))
    # A report's family queries run on this many database connections at once (PostgreSQL;
    # all of them read one shared snapshot). 1 runs them one after another.
    REPORTS_QUERY_WORKERS = int(os.environ.get("HOTLINE_REPORTS_QUERY_WORKERS", "2"))
    # A pooled connection idle for this many seconds is pinged before it is handed out (a
    # database restart is then noticed before a request uses a dead connection); one in
    # steady use is not pinged on every checkout (hotline.database.ping_idle_connections).
    DATABASE_PING_IDLE_SECONDS = float(os.environ.get("HOTLINE_DB_PING_IDLE_SECONDS", "1"))
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
        "audit_purge": int(os.environ.get("HOTLINE_AUDIT_PURGE_SECONDS", "86400")),
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
    # A keyword search counts its matches up to this, then shows "超过 N 条" newest first
    # (other lists count up to 10 000; hotline.tickets.queries.keyword_search says why).
    KEYWORD_SEARCH_TOTAL_CAP = int(os.environ.get("HOTLINE_KEYWORD_SEARCH_TOTAL_CAP", "1000"))
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    PASSWORD_HASH_METHOD = "scrypt:131072:8:1"
    # Password rules (every path that sets one): minimum length, zxcvbn score 0–4.
    PASSWORD_MIN_LENGTH = int(os.environ.get("HOTLINE_PASSWORD_MIN_LENGTH", "10"))
    PASSWORD_MIN_SCORE = int(os.environ.get("HOTLINE_PASSWORD_MIN_SCORE", "3"))
    # Sign-in throttling: after this many failures in a window of LOGIN_LOCKOUT_SECONDS
    # the account (whoever tries) or the address (whatever account) is refused until the
    # window ends (0 turns one off). Shared by every worker (Redis or the database).
    LOGIN_FAILURES_PER_ACCOUNT = int(os.environ.get("HOTLINE_LOGIN_FAILURES_PER_ACCOUNT", "5"))
    LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("HOTLINE_LOGIN_FAILURES_PER_ADDRESS", "30"))
    LOGIN_LOCKOUT_SECONDS = int(os.environ.get("HOTLINE_LOGIN_LOCKOUT_SECONDS", "900"))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "hotline_session"
    # A session without 记住我 lasts until the browser closes; with it, this many days.
    REMEMBER_COOKIE_DURATION = timedelta(days=int(os.environ.get("HOTLINE_REMEMBER_DAYS", "7")))
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Security headers (hotline/security.py); HSTS only where HTTPS is certain (production).
    HSTS_SECONDS = 0
    # The audit trail: entries older than this many days are purged by
    # `flask --app wsgi audit purge` (0 keeps everything).
    AUDIT_RETENTION_DAYS = int(os.environ.get("HOTLINE_AUDIT_RETENTION_DAYS", "1095"))
    # /status (public look-up): failed look-ups per address per window refuse that address;
    # failures on one ticket number from many addresses slow that number down (back-off),
    # they never lock out the citizen who has the right digits.
    STATUS_FAILURES_PER_ADDRESS = int(os.environ.get("HOTLINE_STATUS_FAILURES_PER_ADDRESS", "10"))
    STATUS_FAILURES_PER_NUMBER_AND_ADDRESS = int(os.environ.get("HOTLINE_STATUS_FAILURES_PER_NUMBER_AND_ADDRESS", "5"))
    STATUS_NUMBER_ADDRESSES_BEFORE_BACKOFF = int(os.environ.get("HOTLINE_STATUS_NUMBER_ADDRESSES", "3"))
    STATUS_WINDOW_SECONDS = int(os.environ.get("HOTLINE_STATUS_WINDOW_SECONDS", "600"))


    # Operations: JSON log lines with a request id; /metrics for these networks or a bearer
    # token; /readyz wants a scheduler run within this many seconds.
    JSON_LOGS = os.environ.get("HOTLINE_JSON_LOGS", "") == "1"
    METRICS_ALLOW = tuple(n.strip() for n in os.environ.get(
        "HOTLINE_METRICS_ALLOW", "127.0.0.1/32,::1/128").split(",") if n.strip())
    METRICS_TOKEN = os.environ.get("HOTLINE_METRICS_TOKEN") or None
    SCHEDULER_STALE_SECONDS = int(os.environ.get("HOTLINE_SCHEDULER_STALE_SECONDS", "300"))


class DevelopmentConfig(Config):
    DEBUG = True


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing"
    # Cheap hashes keep the suite fast; production keeps the OWASP-level scrypt above.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    # Counters in each test's own (emptied) database; the Redis tests make their own client.
    REDIS_URL = None
    # The replica tests set their own; an exported variable never reroutes the suite.
    REPORTS_DATABASE_URL = None


# Values seen in examples and tutorials: never a production secret.
KNOWN_SECRETS = {"dev", "development", "testing", "test", "secret", "changeme", "change-me", "change_me",
                 "please-change-me", "secret_key", "secret-key", "your-secret-key", "supersecret",
                 "default", "hotline", "12345", "password", "flask", "insecure"}
MIN_SECRET_BYTES = 32


def secret_problems(secret) -> list[str]:
    """Why `secret` is not fit for production (empty list when it is)."""
    if not secret:
        return ["SECRET_KEY is not set (export a random value: python3 -c 'import secrets; print(secrets.token_hex(32))')"]
    raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    problems = []
    if len(raw) < MIN_SECRET_BYTES:
        problems.append(f"SECRET_KEY is {len(raw)} bytes; production needs at least {MIN_SECRET_BYTES}")
    lowered = raw.decode("utf-8", "replace").strip().lower()
    if lowered in KNOWN_SECRETS or any(lowered.startswith(k + "-") or lowered.startswith(k + "_") for k in
                                       ("dev", "changeme", "change-me", "testing")) or len(set(lowered)) < 8:
        problems.append("SECRET_KEY is a known or trivial value")
    return problems


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS_SECONDS = int(os.environ.get("HOTLINE_HSTS_SECONDS", str(365 * 86400)))
    JSON_LOGS = os.environ.get("HOTLINE_JSON_LOGS", "1") == "1"

    @classmethod
    def check(cls, config=None):
        problems = secret_problems((config or {}).get("SECRET_KEY") or os.environ.get("SECRET_KEY"))
        if problems:
            raise RuntimeError("refusing to start in production: " + "; ".join(problems))


def config_name(environ=os.environ) -> str:
    """HOTLINE_CONFIG, or production: development settings only when asked for."""
    return environ.get("HOTLINE_CONFIG") or "production"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
