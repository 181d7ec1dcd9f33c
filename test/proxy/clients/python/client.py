"""A Python workload that knows nothing of pgmint: psycopg connects to
DATABASE_URL (the proxy, no password) and prints what the session looks like."""
import json
import os

import psycopg

with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    user, app, orders = conn.execute(
        "SELECT current_user, current_setting('application_name'), (SELECT count(*)::int FROM app.orders)"
    ).fetchone()
    out = {"current_user": user, "application_name": app, "orders": orders}
    try:
        conn.execute("SELECT * FROM secret.payroll")
    except psycopg.Error as err:
        out["denied"] = err.sqlstate
    print(json.dumps(out))
