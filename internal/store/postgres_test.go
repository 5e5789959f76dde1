package store_test

import (
	"testing"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

// TestPostgres runs the suite on the server at $NEMID_TEST_POSTGRES (default
// storetest.DefaultPostgres), each test in a schema of its own. It fails,
// never skips, when the server is missing.
func TestPostgres(t *testing.T) {
	t.Parallel()
	storetest.RequirePostgres(t)
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.OpenPostgres(t) })
}
