package support

import (
	"context"
	"errors"
	"io"

	"github.com/fogkit/fogkit/sign"
)

// Bundle is an opened, verified bundle.
type Bundle struct {
	Index *Index
}

// Open reads a bundle.
func Open(ctx context.Context, r io.Reader, key *sign.OpenPGPSigner, o *OpenOptions) (*Bundle, error) {
	return nil, errors.New("support: TODO")
}

// Files lists the members.
func (b *Bundle) Files() []string { return nil }

// ReadFile returns a member's bytes.
func (b *Bundle) ReadFile(name string) ([]byte, error) { return nil, errors.New("support: TODO") }

// Extract writes the members under dir.
func (b *Bundle) Extract(dir string) error { return errors.New("support: TODO") }
