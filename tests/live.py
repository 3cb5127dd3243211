"""The app served by werkzeug on a free port of 127.0.0.1 for tests that drive it from
outside (Chromium, an Open311 client): one helper for every such test."""
from __future__ import annotations

import threading
import traceback
from contextlib import contextmanager


@contextmanager
def serving(app, name: str, *, dispose: bool = True):
    """Serve `app` in a thread; yield (base URL, tracebacks of the exceptions the server
    raised). On exit the server stops, its errors are printed (shown with a failure
    report) and, unless `dispose` is false, the app's engine is disposed."""
    from flask import got_request_exception
    from werkzeug.serving import make_server

    errors: list[str] = []

    def record_error(sender, exception, **extra):
        errors.append("".join(traceback.format_exception(exception)))

    got_request_exception.connect(record_error, app, weak=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", errors
    finally:
        got_request_exception.disconnect(record_error, app)
        for tb in errors:
            print(f"server error during {name}:\n" + tb)
        server.shutdown()
        thread.join(timeout=10)
        if dispose:
            from hotline.extensions import db

            with app.app_context():
                db.engine.dispose()
