package support_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/support"
)

// A plain bundle (what the admin can look at before sending), opened
// again: the secret is gone, the index counts it.
func Example() {
	ctx := context.Background()
	var buf bytes.Buffer
	_, err := support.Write(ctx, &buf, &support.Options{
		Product: "acme-appliance",
		Version: "2.4.1",
		Sources: []support.Source{
			support.Bytes("agent/status.json", []byte(`{"state":"running","adminToken":"s3cr3t-t0ken"}`)),
			support.Bytes("app/app.log", []byte("started\nlogin ok for bob\ndb url postgres://app:hunter2@db/app\n")),
		},
		Plain: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	b, err := support.Open(ctx, &buf, nil, &support.OpenOptions{Plain: true})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range b.Index.Files {
		fmt.Printf("%s: %d lines, %d redacted\n", f.Path, f.Lines, f.Redactions)
	}
	status, _ := b.ReadFile("agent/status.json")
	fmt.Println(string(status))
	// Output:
	// agent/status.json: 1 lines, 1 redacted
	// app/app.log: 3 lines, 1 redacted
	// {"state":"running","adminToken":"[REDACTED]"}
}

// The appliance encrypts to the vendor's support key; the vendor opens the
// bundle with the private half.
func ExampleOpen() {
	ctx := context.Background()
	vendor, err := sign.GenerateOpenPGP("ACME Support", "support@example.com", sign.PurposeSupport, nil)
	if err != nil {
		log.Fatal(err)
	}
	var bundle bytes.Buffer
	idx, err := support.Write(ctx, &bundle, &support.Options{
		Sources:    []support.Source{support.Bytes("notes.txt", []byte("disk full at 03:12\n"))},
		Recipients: []*sign.OpenPGPPublicKey{vendor.Public()},
		Now:        func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(idx.Sources[0].Name, idx.Sources[0].Status)

	b, err := support.Open(ctx, &bundle, vendor, nil)
	if err != nil {
		log.Fatal(err)
	}
	notes, _ := b.ReadFile("notes.txt")
	fmt.Print(b.Files(), " ", string(notes))
	// Output:
	// notes.txt ok
	// [notes.txt] disk full at 03:12
}

// The index of an opened bundle (Bundle.Index), as the vendor's engineer
// reads it.
func ExampleWriteIndex() {
	ix := &support.Index{
		Product: "acme-appliance", Version: "2.4.1", Sequence: 7,
		Created: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Files:   []support.FileEntry{{Path: "app/app.log", Size: 48, Lines: 2, Redactions: 1}},
		Sources: []support.SourceEntry{
			{Name: "app/app.log", Status: support.StatusOK},
			{Name: "journal", Status: support.StatusFailed, Error: "journalctl: not found"},
		},
		TotalBytes: 48, Redactions: 1, Failed: 1,
	}
	if err := support.WriteIndex(os.Stdout, ix); err != nil {
		log.Fatal(err)
	}
	// Output:
	// acme-appliance 2.4.1 (sequence 7), collected 2026-03-01 12:00:00Z
	// 1 files, 48 bytes, 1 redactions, 0 truncated, 0 sources skipped, 1 failed
	//
	//   app/app.log                                      48 bytes       2 lines    1 redacted
	//   source journal: failed journalctl: not found
}
