// A Go workload that knows nothing of pgmint: pgx connects to DATABASE_URL
// (the proxy, no password) and prints what the session looks like as JSON.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5"
)

func main() {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
	defer conn.Close(ctx)
	out := map[string]any{}
	var user, app string
	var orders int
	if err := conn.QueryRow(ctx, "SELECT current_user, current_setting('application_name'), (SELECT count(*)::int FROM app.orders)").Scan(&user, &app, &orders); err != nil {
		fmt.Fprintln(os.Stderr, "query:", err)
		os.Exit(1)
	}
	out["current_user"], out["application_name"], out["orders"] = user, app, orders
	_, err = conn.Exec(ctx, "SELECT * FROM secret.payroll")
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		out["denied"] = pgErr.Code
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}
