"""gunicorn settings for hotline: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Sync workers (the app is request/response with short transactions); the counts of
/metrics are summed across workers through PROMETHEUS_MULTIPROC_DIR, which must be an
empty directory at start (the systemd unit makes a fresh one)."""
import multiprocessing
import os

bind = os.environ.get("HOTLINE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("HOTLINE_WORKERS", str(min(8, multiprocessing.cpu_count() * 2 + 1))))
worker_class = "sync"
timeout = int(os.environ.get("HOTLINE_WORKER_TIMEOUT", "60"))  # exports stream; reports take seconds
graceful_timeout = 30
keepalive = 5
max_requests = 2000  # recycle workers now and then (memory growth of long-lived processes)
max_requests_jitter = 200
forwarded_allow_ips = os.environ.get("HOTLINE_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None  # the app writes one JSON line per request with its request id
errorlog = "-"
loglevel = "info"
limit_request_line = 8190
limit_request_fields = 100


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the shared metrics directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
