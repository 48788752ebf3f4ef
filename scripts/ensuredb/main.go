// Command ensuredb is a development helper for `make run`: it exits 0 when the server of
// DATABASE_URL answers (creating the URL's database when it is missing), and 3 when the
// server cannot be reached at all, so the caller can start one.
package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	raw := os.Getenv("DATABASE_URL")
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		fmt.Fprintln(os.Stderr, "ensuredb: DATABASE_URL is not a URL")
		os.Exit(2)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin := *u
	admin.Path = "/postgres"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		fmt.Fprintf(os.Stderr, "ensuredb: PostgreSQL at %s is not reachable: %v\n", admin.Redacted(), err)
		os.Exit(3)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		fmt.Fprintln(os.Stderr, "ensuredb:", err)
		os.Exit(1)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			fmt.Fprintln(os.Stderr, "ensuredb:", err)
			os.Exit(1)
		}
		fmt.Printf("created database %s\n", name)
	}
}
