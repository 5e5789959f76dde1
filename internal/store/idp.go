package store

// The JS client's flows (internal/idp): one row per run of the client,
// from the service provider's parameters to the response.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// IdPStep is where a JS-client flow is.
type IdPStep string

// The steps of a JS-client flow.
const (
	IdPSignText    IdPStep = "signtext"    // a signing: waiting for the sign text to be shown
	IdPCredentials IdPStep = "credentials" // waiting for user-id and password
	IdPOTP         IdPStep = "otp"         // waiting for the key-card code
	IdPActivate    IdPStep = "activate"    // waiting for the first personal password
	IdPUpdate      IdPStep = "update"      // waiting for a new password (CREDENTIAL_UPDATE)
	IdPEnded       IdPStep = "ended"       // answered: a response or an error code
)

// IdPFlow is one run of the JS client.
type IdPFlow struct {
	// IDHash is the lower-case hex SHA-256 of the flow's secret id.
	IDHash string
	// SP is the service provider whose signed parameters started the flow.
	SP int64
	// Origin is the SP page's origin the response goes to.
	Origin string
	// Mode is the launcher mode: "lmt" or "std".
	Mode string
	// Parameters is the parameter set's JSON as the SP page sent it.
	Parameters string
	Step       IdPStep
	// Sealed is what the later steps need, sealed by internal/idp under a
	// key only the flow's secret gives; nil until the password step.
	Sealed []byte
	// Failures counts the wrong answers given in this flow.
	Failures int
	// BusyUntil: a call is working on the flow until then (zero: none), so
	// that a second call at once is turned away.
	BusyUntil time.Time
	// Version counts the flow's updates: UpdateIdPFlow writes only over
	// the version it was given, so that of two racing steps one wins.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time
}

// IdPStore keeps the JS client's flows.
type IdPStore interface {
	// InsertIdPFlow stores a new flow (Version 1); an id hash in use is ErrDuplicate.
	InsertIdPFlow(ctx context.Context, f IdPFlow) error
	// IdPFlow returns the flow with that id hash, or ErrNotFound.
	IdPFlow(ctx context.Context, idHash string) (IdPFlow, error)
	// UpdateIdPFlow writes f's Step, Sealed, Failures, BusyUntil, UpdatedAt and ExpiresAt and
	// sets Version to f.Version+1 — if the stored flow still has
	// f.Version. Otherwise it changes nothing and returns ErrConflict
	// (ErrNotFound if the flow is gone).
	UpdateIdPFlow(ctx context.Context, f IdPFlow) error
	// DeleteIdPFlows removes the flows that expired before the given time
	// and says how many.
	DeleteIdPFlows(ctx context.Context, expiredBefore time.Time) (int64, error)
}

func validIdPFlow(f IdPFlow) error {
	switch {
	case len(f.IDHash) != 64:
		return errors.New("id hash: want 64 hexadecimal digits")
	case f.SP <= 0:
		return errors.New("no service provider")
	case f.Origin == "":
		return errors.New("no origin")
	case f.Mode != "lmt" && f.Mode != "std":
		return fmt.Errorf("mode %q: want lmt or std", f.Mode)
	case f.Failures < 0:
		return errors.New("negative failures")
	}
	switch f.Step {
	case IdPSignText, IdPCredentials, IdPOTP, IdPActivate, IdPUpdate, IdPEnded:
	default:
		return fmt.Errorf("step %q is not a JS-client step", f.Step)
	}
	if f.CreatedAt.IsZero() || f.ExpiresAt.IsZero() {
		return errors.New("no time")
	}
	return nil
}

const idpFlowColumns = `id_hash, sp_id, origin, mode, parameters, step, sealed, failures, busy_until, version, created_at, updated_at, expires_at`

func (s *sqlStore) InsertIdPFlow(ctx context.Context, f IdPFlow) error {
	if err := validIdPFlow(f); err != nil {
		return fmt.Errorf("store: insert JS-client flow: %w", err)
	}
	if f.UpdatedAt.IsZero() {
		f.UpdatedAt = f.CreatedAt
	}
	err := retry(ctx, s.d, func() error {
		_, err := s.w.ExecContext(ctx, s.d.rebind(`INSERT INTO idp_flows (`+idpFlowColumns+`)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`),
			f.IDHash, f.SP, f.Origin, f.Mode, f.Parameters, string(f.Step), f.Sealed, f.Failures, zeroMicros(f.BusyUntil),
			micros(f.CreatedAt), micros(f.UpdatedAt), micros(f.ExpiresAt))
		return err
	})
	switch {
	case s.d.isUnique(err):
		return fmt.Errorf("store: insert JS-client flow: %w", ErrDuplicate)
	case s.d.isForeignKey(err):
		return fmt.Errorf("store: insert JS-client flow: service provider %d: %w", f.SP, ErrNotFound)
	case err != nil:
		return fmt.Errorf("store: insert JS-client flow: %w", err)
	}
	return nil
}

func (s *sqlStore) IdPFlow(ctx context.Context, idHash string) (IdPFlow, error) {
	var (
		f                         IdPFlow
		step                      string
		created, updated, expires int64
		busy                      int64
	)
	err := s.r.QueryRowContext(ctx, s.d.rebind(`SELECT `+idpFlowColumns+` FROM idp_flows WHERE id_hash = ?`), idHash).
		Scan(&f.IDHash, &f.SP, &f.Origin, &f.Mode, &f.Parameters, &step, &f.Sealed, &f.Failures, &busy, &f.Version, &created, &updated, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return IdPFlow{}, fmt.Errorf("store: JS-client flow: %w", ErrNotFound)
	}
	if err != nil {
		return IdPFlow{}, fmt.Errorf("store: JS-client flow: %w", err)
	}
	f.Step = IdPStep(step)
	f.CreatedAt, f.UpdatedAt, f.ExpiresAt = fromMicros(created), fromMicros(updated), fromMicros(expires)
	if busy != 0 {
		f.BusyUntil = fromMicros(busy)
	}
	return f, nil
}

func (s *sqlStore) UpdateIdPFlow(ctx context.Context, f IdPFlow) error {
	if err := validIdPFlow(f); err != nil {
		return fmt.Errorf("store: update JS-client flow: %w", err)
	}
	var n int64
	err := retry(ctx, s.d, func() error {
		res, err := s.w.ExecContext(ctx, s.d.rebind(`UPDATE idp_flows SET step = ?, sealed = ?, failures = ?, busy_until = ?, updated_at = ?, expires_at = ?, version = version + 1
WHERE id_hash = ? AND version = ?`),
			string(f.Step), f.Sealed, f.Failures, zeroMicros(f.BusyUntil), micros(f.UpdatedAt), micros(f.ExpiresAt), f.IDHash, f.Version)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("store: update JS-client flow: %w", err)
	}
	if n == 1 {
		return nil
	}
	if _, err := s.IdPFlow(ctx, f.IDHash); err != nil {
		return fmt.Errorf("store: update JS-client flow: %w", err)
	}
	return fmt.Errorf("store: update JS-client flow: changed meanwhile: %w", ErrConflict)
}

func (s *sqlStore) DeleteIdPFlows(ctx context.Context, expiredBefore time.Time) (int64, error) {
	var n int64
	err := retry(ctx, s.d, func() error {
		res, err := s.w.ExecContext(ctx, s.d.rebind(`DELETE FROM idp_flows WHERE expires_at < ?`), micros(expiredBefore))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete JS-client flows: %w", err)
	}
	return n, nil
}

// zeroMicros is micros, with the zero time as 0.
func zeroMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}
