package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fogkit/fogkit/backup"
)

// Back up a data directory with a passphrase, verify the backup and
// restore it onto a newer appliance of the same product.
func Example() {
	ctx := context.Background()
	base, _ := os.MkdirTemp("", "backup-example")
	defer os.RemoveAll(base)
	data := filepath.Join(base, "app")
	os.MkdirAll(filepath.Join(data, "db"), 0o750)
	os.Chmod(data, 0o755)
	os.Chmod(filepath.Join(data, "db"), 0o750)
	os.WriteFile(filepath.Join(data, "db/records.json"), []byte(`{"customers":42}`), 0o600)
	os.WriteFile(filepath.Join(data, "settings.yaml"), []byte("tls: on\n"), 0o640)
	os.Symlink("db/records.json", filepath.Join(data, "current"))

	pass := []byte("customer's own passphrase")
	var buf bytes.Buffer
	m, err := backup.Write(ctx, &buf, &backup.Options{
		Product: "acme-vault", Version: "2.4.0", Sequence: 24,
		Dir: data, Passphrase: pass,
		Streams: []backup.Stream{backup.CommandStream("db.sql", "echo", "CREATE TABLE customers;")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range m.Files {
		fmt.Printf("%-7s %04o %s\n", e.Type, e.Mode, e.Path)
	}

	vm, err := backup.Verify(ctx, bytes.NewReader(buf.Bytes()), &backup.ReadOptions{Passphrase: pass})
	if err != nil {
		fmt.Println(err)
		return
	}
	files, size := vm.FileTotals()
	fmt.Println("verified:", files, "files,", size, "bytes")
	restored := filepath.Join(base, "restored")
	_, err = backup.Restore(ctx, bytes.NewReader(buf.Bytes()), restored, &backup.RestoreOptions{
		ReadOptions: backup.ReadOptions{Passphrase: pass},
		Product:     "acme-vault", Version: "2.5.0", Sequence: 25,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	dump, _ := os.ReadFile(filepath.Join(restored, ".fogkit-streams/db.sql"))
	fmt.Printf("stream: %s", dump)

	// A wrong passphrase is refused before anything is restored.
	_, err = backup.Verify(ctx, bytes.NewReader(buf.Bytes()), &backup.ReadOptions{Passphrase: []byte("guess")})
	fmt.Println(err != nil, errorsIs(err, backup.ErrDecrypt))
	// Output:
	// dir     0755 .
	// symlink 0777 current
	// dir     0750 db
	// file    0600 db/records.json
	// file    0640 settings.yaml
	// verified: 2 files, 24 bytes
	// stream: CREATE TABLE customers;
	// true true
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// The one-line summary a command prints once Verify or Restore has checked
// every digest.
func ExampleWriteSummary() {
	m := &backup.Manifest{Product: "acme-vault", Version: "2.4.0", Sequence: 24, Schema: 3,
		Created: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Files: []backup.Entry{
			{Path: ".", Type: backup.TypeDir},
			{Path: "db.json", Type: backup.TypeFile, Size: 16},
			{Path: "current", Type: backup.TypeSymlink},
		},
		Streams: []backup.Entry{{Path: "db.sql", Type: backup.TypeFile, Size: 24}},
	}
	_ = backup.WriteSummary(os.Stdout, m)
	// Output:
	// acme-vault 2.4.0 (sequence 24, schema 3), made 2026-03-01 12:00:00Z: 1 files, 16 bytes, 1 streams: every digest matches
}
