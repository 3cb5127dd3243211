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
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = _database_url("hotline.sqlite")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    WTF_CSRF_ENABLED = True
    # Working hours used to align a working-day deadline (local time, Asia/Shanghai).
    WORKDAY_START = os.environ.get("HOTLINE_WORKDAY_START", "09:00")
    WORKDAY_END = os.environ.get("HOTLINE_WORKDAY_END", "18:00")
    TIMEZONE = "Asia/Shanghai"
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


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True

    @classmethod
    def check(cls):
        if cls.SECRET_KEY == Config.SECRET_KEY or not os.environ.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY must be set in the environment for production")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
