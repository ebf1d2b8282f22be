package backup

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// backupOf writes a backup of the test tree made by o's product and
// sequence, and an existing target with its snapshot.
func backupOf(t *testing.T, edit func(*Options)) (data []byte, dst string, before map[string]string) {
	t.Helper()
	base := t.TempDir()
	src := filepath.Join(base, "src")
	makeTree(t, src)
	o := testOptions(src)
	if edit != nil {
		edit(o)
	}
	var buf bytes.Buffer
	_, err := Write(t.Context(), &buf, o)
	require.NoError(t, err)
	dst = filepath.Join(base, "app")
	require.NoError(t, os.MkdirAll(filepath.Join(dst, "live"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dst, "live/state"), []byte("current data"), 0o600))
	return buf.Bytes(), dst, snapshot(t, dst)
}

func TestProductAndDowngrade(t *testing.T) {
	hookErr := errors.New("schema 7 cannot be migrated")
	for _, tc := range []struct {
		name    string
		product string
		seq     uint64
		accept  func(*Manifest) error
		want    error
	}{
		{"same", "acme-vault", 24, nil, nil},
		{"older backup", "acme-vault", 30, nil, nil},
		{"other product", "acme-mail", 24, nil, ErrProduct},
		{"newer backup", "acme-vault", 23, nil, ErrDowngrade},
		{"other product accepted", "acme-mail", 24, func(m *Manifest) error {
			if m.Product == "acme-vault" && m.Schema == 7 && len(m.Files) == 0 {
				return nil
			}
			return hookErr
		}, nil},
		{"newer backup accepted", "acme-vault", 1, func(*Manifest) error { return nil }, nil},
		{"newer backup refused by hook", "acme-vault", 1, func(*Manifest) error { return hookErr }, ErrDowngrade},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, dst, before := backupOf(t, nil)
			ro := &RestoreOptions{ReadOptions: ReadOptions{Passphrase: testPass}, Product: tc.product, Sequence: tc.seq, Accept: tc.accept}
			m, err := Restore(t.Context(), bytes.NewReader(data), dst, ro)
			assert.Empty(t, leftovers(t, dst))
			if tc.want == nil {
				require.NoError(t, err)
				assert.Equal(t, "acme-vault", m.Product)
				assert.NotEqual(t, before, snapshot(t, dst))
				return
			}
			require.ErrorIs(t, err, tc.want)
			var mm *MismatchError
			require.ErrorAs(t, err, &mm)
			if tc.accept != nil {
				assert.ErrorIs(t, err, hookErr)
			}
			assert.Equal(t, before, snapshot(t, dst))
		})
	}
}

// Wrong passphrase or key, or none.
func TestWrongKey(t *testing.T) {
	data, dst, before := backupOf(t, nil)
	ctx := t.Context()
	other := customerKey(t)
	for _, ro := range []ReadOptions{{Passphrase: []byte("wrong")}, {Key: other}} {
		_, err := Verify(ctx, bytes.NewReader(data), &ro)
		assert.ErrorIs(t, err, ErrDecrypt)
		_, err = Restore(ctx, bytes.NewReader(data), dst, &RestoreOptions{ReadOptions: ro, Product: "acme-vault", Sequence: 24})
		assert.ErrorIs(t, err, ErrDecrypt)
	}
	_, err := Verify(ctx, bytes.NewReader(data), &ReadOptions{})
	assert.ErrorIs(t, err, ErrNoKey)
	_, err = Verify(ctx, bytes.NewReader(data), &ReadOptions{Passphrase: testPass, Key: other})
	assert.ErrorIs(t, err, ErrNoKey)
	_, err = Write(ctx, &bytes.Buffer{}, &Options{Dir: t.TempDir()})
	assert.ErrorIs(t, err, ErrNoKey)
	assert.Equal(t, before, snapshot(t, dst))
	assert.Empty(t, leftovers(t, dst))
}

// A changed byte anywhere in the ciphertext is detected by Verify, and a
// Restore of it leaves the existing tree as it was.
func TestFlippedByte(t *testing.T) {
	data, dst, before := backupOf(t, func(o *Options) {
		o.Passphrase, o.Recipients = nil, nil
		o.Recipients = append(o.Recipients, customerKey(t).Public())
	})
	ro := ReadOptions{Key: customerKey(t)}
	positions := []int{0, 1, 5, 40, 100, 200, 300, 500}
	for i := 1; i < 24; i++ {
		positions = append(positions, len(data)*i/24)
	}
	positions = append(positions, len(data)-30, len(data)-22, len(data)-5, len(data)-1)
	for _, p := range positions {
		bad := bytes.Clone(data)
		bad[p] ^= 0x10
		_, err := Verify(t.Context(), bytes.NewReader(bad), &ro)
		require.Error(t, err, "byte %d of %d", p, len(data))
		assert.True(t, typed(err), "byte %d: %v", p, err)
	}
	for _, p := range []int{300, len(data) / 2, len(data) - 1} {
		bad := bytes.Clone(data)
		bad[p] ^= 0x01
		_, err := Restore(t.Context(), bytes.NewReader(bad), dst, &RestoreOptions{ReadOptions: ro, Product: "acme-vault", Sequence: 24})
		require.Error(t, err)
		assert.True(t, typed(err), "byte %d: %v", p, err)
		assert.Equal(t, before, snapshot(t, dst))
		assert.Empty(t, leftovers(t, dst))
	}
	// Cut short.
	_, err := Verify(t.Context(), bytes.NewReader(data[:len(data)-100]), &ro)
	assert.True(t, typed(err), "%v", err)
}

func typed(err error) bool {
	for _, s := range []error{ErrMalformed, ErrUnsafePath, ErrDigest, ErrTruncated, ErrTooLarge, ErrDecrypt} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
