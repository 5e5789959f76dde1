package store_test

import (
	"testing"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.OpenSQLite(t) })
}
