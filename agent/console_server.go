package agent

import (
	"context"
	"errors"
	"fmt"
)

// FirstRunToken returns the first-run token this start printed on the
// console, or "" once the appliance is claimed. It is for the VM console
// (ConsoleMenu): never serve it on the network.
func (s *Server) FirstRunToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin != nil {
		return ""
	}
	return s.firstTok
}

// ResetPassword sets a new admin password and revokes every session, for
// an admin at the VM console who lost the old one. It is deliberately not
// reachable from the network: whoever holds the console holds the machine
// anyway. Before first run it is refused (ErrNotClaimed): the appliance is
// claimed with its first-run token.
func (s *Server) ResetPassword(ctx context.Context, password string) error {
	if !checkPassword(password) {
		return fmt.Errorf("%w: at least %d characters", ErrWeakPassword, MinPasswordLength)
	}
	ph, err := hashPassword(ctx, s.rand, password)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin == nil {
		return ErrNotClaimed
	}
	a := &adminState{Password: ph, Claimed: s.admin.Claimed}
	if err := saveAdmin(s.o.StateDir, a); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	s.admin = a
	return nil
}

// Errors of the console operations.
var (
	// ErrWeakPassword: a new password is shorter than MinPasswordLength
	// characters (or longer than 1024 bytes, or not UTF-8).
	ErrWeakPassword = errors.New("agent: the password is too weak")
	// ErrNotClaimed: the operation needs a claimed appliance.
	ErrNotClaimed = errors.New("agent: the appliance is not claimed yet")
)
