package store_test

import (
	"testing"

	"hookd/store"
	"hookd/store/storetest"
)

// The bbolt store keeps the store contract.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() store.Backend {
		dir := t.TempDir()
		return func() store.Backend {
			s, err := store.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}
