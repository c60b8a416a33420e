"""gunicorn settings for the preload probe: the app is built once in the master, then forked.

Forked workers share the master's memory pages until they write to them, which is what the
probe measures. The engine's pooled connections were opened in the master (migrations run in
create_app), so each worker drops them after the fork instead of sharing a SQLite handle.
"""

import gc

preload_app = True


def pre_fork(server, worker):  # type: ignore[no-untyped-def]
    # Objects that exist now are never collected, so the collector does not touch
    # (and so copy) their pages in every worker.
    gc.freeze()


def post_fork(server, worker):  # type: ignore[no-untyped-def]
    app = server.app.wsgi()
    app.state.database.engine.dispose(close=False)
