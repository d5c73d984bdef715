package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var errNotFound = errors.New("not found")

// schemaLock serialises the schema creation of replicas starting together
// (CREATE TABLE IF NOT EXISTS alone can fail on a concurrent create).
const schemaLock = 0x63_68_61_72_74 // "chart"

const schema = `
CREATE TABLE IF NOT EXISTS items (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name       text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
)`

type item struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// itemStore is the items table behind a connection pool; pgxpool connects
// lazily, so the process starts (and answers its probes) while the database
// is still coming up.
type itemStore struct {
	pool *pgxpool.Pool
}

func openStore(databaseURL string) (*itemStore, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgx's message quotes the URL: never log it (it holds the password).
		return nil, errors.New("not a valid PostgreSQL connection URL")
	}
	cfg.MaxConns = 10
	cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	cfg.HealthCheckPeriod = 10 * time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("connection pool: %w", err)
	}
	return &itemStore{pool: pool}, nil
}

func (s *itemStore) Close() { s.pool.Close() }

func (s *itemStore) migrate(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", schemaLock); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schema)
		return err
	})
}

// ping checks the database with a real round trip (a pooled connection that
// the server dropped fails here, not on the next request).
func (s *itemStore) ping(ctx context.Context) error {
	var one int
	return s.pool.QueryRow(ctx, "SELECT 1").Scan(&one)
}

func (s *itemStore) insert(ctx context.Context, name string) (item, error) {
	created := item{Name: name}
	err := s.pool.QueryRow(ctx,
		"INSERT INTO items (name) VALUES ($1) RETURNING id, created_at", name,
	).Scan(&created.ID, &created.CreatedAt)
	return created, err
}

func (s *itemStore) get(ctx context.Context, id int64) (item, error) {
	found := item{ID: id}
	err := s.pool.QueryRow(ctx,
		"SELECT name, created_at FROM items WHERE id = $1", id,
	).Scan(&found.Name, &found.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return found, errNotFound
	}
	return found, err
}
