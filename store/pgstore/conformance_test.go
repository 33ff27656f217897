package pgstore_test

import (
	"context"
	"testing"
	"time"

	"hookd/internal/pgtest"
	"hookd/store"
	"hookd/store/pgstore"
	"hookd/store/storetest"
)

// open opens a store on url for t, which closes it at the end.
func open(t testing.TB, url string, o pgstore.Options) *pgstore.Store {
	t.Helper()
	o.URL = url
	if o.Node == "" {
		o.Node = "test"
	}
	s, err := pgstore.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The PostgreSQL store keeps the store contract.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() store.Backend {
		url := pgtest.URL(t)
		return func() store.Backend { return open(t, url, pgstore.Options{}) }
	})
}

// Two processes on one database share it as the contract says. The lease
// is short for the takeover tests, but long enough that a renewal late by
// a loaded machine (a process stops claiming two thirds of a lease after
// its last one) does not fail the others.
func TestShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) func() store.Backend {
		url := pgtest.URL(t)
		return func() store.Backend { return open(t, url, pgstore.Options{Lease: 3 * time.Second}) }
	})
}
