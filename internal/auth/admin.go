package auth

import (
	"context"
	"errors"
	"strings"
)

// CreateUser adds an account. role defaults to "user".
func (s *Service) CreateUser(ctx context.Context, email, password, role string) (*User, error) {
	email = NormalizeEmail(email)
	if err := ValidateEmail(email); err != nil {
		return nil, err
	}
	role = strings.TrimSpace(role)
	if role == "" {
		role = "user"
	}
	if len(role) > 64 {
		return nil, Invalidf("role is too long (at most 64 characters)")
	}
	if err := s.ValidatePassword(password, email); err != nil {
		return nil, err
	}
	h, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, s.hashError(err)
	}
	u := &User{Email: email, Role: role, PasswordHash: h, CreatedAt: s.now()}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// UserSummary is a user as the admin API lists it.
type UserSummary struct {
	User    *User
	Methods []string
}

// ListUsers returns the users with this email (all users if email is empty).
func (s *Service) ListUsers(ctx context.Context, email string) ([]UserSummary, error) {
	users, err := s.store.ListUsers(ctx, NormalizeEmail(email))
	if err != nil {
		return nil, err
	}
	out := make([]UserSummary, 0, len(users))
	for _, u := range users {
		m, err := s.methods(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, UserSummary{User: u, Methods: m.List()})
	}
	return out, nil
}

// UserByEmail returns the user with this email.
func (s *Service) UserByEmail(ctx context.Context, email string) (*User, error) {
	u, err := s.store.UserByEmail(ctx, NormalizeEmail(email))
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(KindNotFound, "No user has this email.")
	}
	return u, err
}

// ResetMFA removes every second factor and the recovery code of a user,
// clears the lockout and signs the user out everywhere (audited).
func (s *Service) ResetMFA(ctx context.Context, userID int64, c Client, by string) error {
	if _, err := s.store.UserByID(ctx, userID); errors.Is(err, ErrNotFound) {
		return Errorf(KindNotFound, "No such user.")
	} else if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.ForgetFactors(ctx, userID); err != nil {
			return err
		}
		if err := tx.DeleteOtherSessions(ctx, userID, 0); err != nil {
			return err
		}
		return tx.AddEvents(ctx, userID, s.event(userID, EventMFAResetByAdmin, c, s.now(), "by "+by))
	})
}

// SetPassword sets a user's password without the current one (operators
// and development only) and signs the user out everywhere.
func (s *Service) SetPassword(ctx context.Context, userID int64, password string) error {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.ValidatePassword(password, u.Email); err != nil {
		return err
	}
	h, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return s.hashError(err)
	}
	return s.setPassword(ctx, userID, h, 0)
}

// RotateKeys re-seals every TOTP secret not sealed under the primary key.
// A row changed meanwhile (re-enrolled, or re-sealed by another instance) is
// left alone: ResealTOTP only replaces a value still under the old key.
func (s *Service) RotateKeys(ctx context.Context) (int, error) {
	factors, err := s.store.AllTOTPFactors(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range factors {
		if f.KeyID == s.sealer.PrimaryID() {
			continue
		}
		secret, err := s.openTOTP(f)
		if err != nil {
			return n, err
		}
		sealed, keyID, err := s.sealer.Seal(secret, totpAAD(f.UserID, f.ID))
		if err != nil {
			return n, Internal(err)
		}
		err = s.store.ResealTOTP(ctx, f.ID, f.KeyID, sealed, keyID)
		if errors.Is(err, ErrNotFound) {
			continue // changed meanwhile: re-enrolled, removed or already re-sealed
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// CreateAPIToken makes a bearer token for the admin API and returns it once.
func (s *Service) CreateAPIToken(ctx context.Context, name string, admin bool) (string, error) {
	if name == "" || len(name) > 100 {
		return "", Invalidf("name is required (at most 100 characters)")
	}
	tok, hash, err := s.newToken("lk_")
	if err != nil {
		return "", Internal(err)
	}
	t := &APIToken{Name: name, TokenHash: hash, Admin: admin, CreatedAt: s.now()}
	if err := s.store.CreateAPIToken(ctx, t); err != nil {
		return "", err
	}
	return tok, nil
}

// AuthenticateAPIToken returns the API token for a bearer value.
func (s *Service) AuthenticateAPIToken(ctx context.Context, token string) (*APIToken, error) {
	if len(token) < 4 || len(token) > 128 || token[:3] != "lk_" {
		return nil, errUnauthenticated()
	}
	t, err := s.store.APITokenByHash(ctx, HashToken(token))
	if errors.Is(err, ErrNotFound) {
		return nil, errUnauthenticated()
	}
	return t, err
}

// IsAPIToken reports whether a bearer value has the API token shape (as
// opposed to a session token).
func IsAPIToken(token string) bool { return len(token) > 3 && token[:3] == "lk_" }
