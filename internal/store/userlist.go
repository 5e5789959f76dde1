package store

// The operator's listing of users (nemid user list). The auth store finds
// users by their user-ids; this walks them all, in pages.

import (
	"context"
	"fmt"
)

// UserLister lists the registered users.
type UserLister interface {
	// Users returns the users the filter selects, in the order they were
	// registered (by ID), with every field as UserByNemID returns it.
	Users(ctx context.Context, f UserFilter) ([]User, error)
}

// UserFilter selects users for Users. Zero values select everything.
type UserFilter struct {
	// AfterID pages: only users with an ID greater than this one.
	AfterID int64
	// State selects the users in one state.
	State UserState
	// Limit caps the number of users; 0 means no limit.
	Limit int
}

func (s *sqlStore) Users(ctx context.Context, f UserFilter) ([]User, error) {
	switch {
	case f.Limit < 0:
		return nil, fmt.Errorf("store: users: limit %d: must not be negative", f.Limit)
	case f.AfterID < 0:
		return nil, fmt.Errorf("store: users: after ID %d: must not be negative", f.AfterID)
	case f.State != "" && !f.State.Valid():
		return nil, fmt.Errorf("store: users: state %q is not a user state", f.State)
	}
	q := `SELECT ` + userColumns + ` FROM users WHERE id > ?`
	args := []any{f.AfterID}
	if f.State != "" {
		q += ` AND state = ?`
		args = append(args, string(f.State))
	}
	q += ` ORDER BY id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.r.QueryContext(ctx, s.d.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	return out, nil
}
