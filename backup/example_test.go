package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

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

	if _, err := backup.Verify(ctx, bytes.NewReader(buf.Bytes()), &backup.ReadOptions{Passphrase: pass}); err != nil {
		fmt.Println(err)
		return
	}
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
	// stream: CREATE TABLE customers;
	// true true
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
