package migrations_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/migrations"
)

// TestTenantTablesAreReadyToDistributeByOrg reads the catalog of a fully migrated database
// and fails unless the schema can be distributed by org_id without a redesign
// (docs/scaling.md): every tenant table (a table with an org_id column) has a primary key,
// its primary key and every unique index include org_id, and every foreign key from one
// tenant table to another includes org_id on both sides, at the same position. Foreign keys
// to orgs (the tenants themselves) and to tables without org_id (reference tables) are free.
func TestTenantTablesAreReadyToDistributeByOrg(t *testing.T) {
	ctx := context.Background()
	url := dbtest.NewEmptyURL(t)
	m, err := migrations.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	query := func(sql string) []string {
		t.Helper()
		rows, err := conn.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	const tenant = `
		WITH tenant AS (
			SELECT c.oid, c.relname, a.attnum AS org_att
			FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
			JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
			WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
		)`
	if n := query(tenant + ` SELECT count(*)::text FROM tenant`); n[0] == "0" {
		t.Fatal("no tenant tables found")
	}
	for _, bad := range query(tenant + `
		SELECT t.relname || ' has no primary key' FROM tenant t
		WHERE NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = t.oid AND i.indisprimary)`) {
		t.Error(bad)
	}
	for _, bad := range query(tenant + `
		SELECT format('%s: %s %s does not include org_id', t.relname,
		              CASE WHEN i.indisprimary THEN 'primary key' ELSE 'unique index' END,
		              i.indexrelid::regclass)
		FROM tenant t JOIN pg_index i ON i.indrelid = t.oid AND i.indisunique
		WHERE NOT t.org_att = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])
		ORDER BY 1`) {
		t.Error(bad)
	}
	for _, bad := range query(tenant + `
		SELECT format('%s: foreign key %s to %s does not pair org_id with org_id', t.relname, k.conname, r.relname)
		FROM tenant t
		JOIN pg_constraint k ON k.conrelid = t.oid AND k.contype = 'f'
		JOIN tenant r ON r.oid = k.confrelid
		WHERE NOT EXISTS (SELECT 1 FROM unnest(k.conkey, k.confkey) AS p(src, dst)
		                  WHERE p.src = t.org_att AND p.dst = r.org_att)
		ORDER BY 1`) {
		t.Error(bad)
	}
}
