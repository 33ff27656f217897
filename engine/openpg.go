package engine

import (
	"context"
	"errors"

	"hookd/store"
)

// openShared opens the PostgreSQL store.
func (e *Engine) openShared(ctx context.Context) (store.Backend, error) {
	return nil, errors.New("driver postgres: not in this build")
}
