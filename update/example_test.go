package update_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io/fs"
	"os"
	"testing/fstest"

	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update"
	"github.com/fogkit/fogkit/update/updatetest"
)

func Example() {
	ctx := context.Background()
	// The vendor's update key (an OpenPGP key in production; any
	// sign.Signer of purpose "update" works).
	key, _ := sign.NewEd25519Signer(ed25519.NewKeyFromSeed(make([]byte, 32)), sign.PurposeUpdate)
	ring, _ := sign.NewKeyring(key.Public())

	v1 := fstest.MapFS{
		"boot":         {Mode: fs.ModeDir | 0o755},
		"boot/vmlinuz": {Mode: 0o644, Data: bytes.Repeat([]byte("kernel 1 "), 1000)},
		"etc":          {Mode: fs.ModeDir | 0o755},
		"etc/version":  {Mode: 0o644, Data: []byte("1\n")},
	}
	v2 := fstest.MapFS{
		"boot":         {Mode: fs.ModeDir | 0o755},
		"boot/vmlinuz": {Mode: 0o644, Data: bytes.Repeat([]byte("kernel 2 "), 1000)},
		"etc":          {Mode: fs.ModeDir | 0o755},
		"etc/version":  {Mode: 0o644, Data: []byte("2\n")},
	}
	build := func(kind update.Kind, seq uint64, to update.Tree, from []update.Tree) []byte {
		var pkg bytes.Buffer
		_, err := update.Build(ctx, &pkg, []sign.Signer{key}, to, from, &update.BuildOptions{
			Vendor: "acme", Product: "appliance", Version: to.Version, Sequence: seq, Kind: kind})
		if err != nil {
			panic(err)
		}
		return pkg.Bytes()
	}
	full := build(update.KindFull, 1, update.Tree{Version: "1.0", Sequence: 1, FS: v1}, nil)
	diff := build(update.KindDiff, 2, update.Tree{Version: "2.0", Sequence: 2, FS: v2},
		[]update.Tree{{Version: "1.0", Sequence: 1, FS: v1}})

	// The appliance: a target directory (here in memory) with slots.
	target := updatetest.NewMemFS()
	opts := &update.ApplyOptions{VerifyOptions: update.VerifyOptions{Keyring: ring, Product: "appliance"}}
	first := *opts
	first.Confirmed = true
	if _, err := update.Apply(ctx, target, bytes.NewReader(full), int64(len(full)), &first); err != nil {
		panic(err)
	}
	rep, err := update.Apply(ctx, target, bytes.NewReader(diff), int64(len(diff)), opts)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s -> %s: %d patched, %d written\n", rep.From.Version, rep.To.Version, rep.Patched, rep.Written)
	st, _ := update.ReadState(target)
	fmt.Println("pending:", st.Pending)
	// After a good boot the host confirms; otherwise BootAttempt rolls back.
	st, _ = update.Confirm(ctx, target)
	fmt.Println("pending:", st.Pending, "current:", st.Current.Version)
	// Output:
	// 1.0 -> 2.0: 1 patched, 1 written
	// pending: true
	// pending: false current: 2.0
}

// The one-line summaries a command line prints for Build, Verify and
// Apply.
func ExampleWriteVerifySummary() {
	ctx := context.Background()
	key, _ := sign.NewEd25519Signer(ed25519.NewKeyFromSeed(make([]byte, 32)), sign.PurposeUpdate)
	ring, _ := sign.NewKeyring(key.Public())
	v1 := fstest.MapFS{"etc/version": {Mode: 0o644, Data: []byte("1\n")}}
	var pkg bytes.Buffer
	brep, err := update.Build(ctx, &pkg, []sign.Signer{key}, update.Tree{Version: "1.0", Sequence: 1, FS: v1}, nil,
		&update.BuildOptions{Vendor: "acme", Product: "appliance", Version: "1.0", Sequence: 1})
	if err != nil {
		panic(err)
	}
	_ = update.WriteBuildSummary(os.Stdout, "appliance-1.0.fup", brep)

	vo := update.VerifyOptions{Keyring: ring, Product: "appliance"}
	vrep, err := update.Verify(ctx, bytes.NewReader(pkg.Bytes()), int64(pkg.Len()), &vo)
	if err != nil {
		panic(err)
	}
	_ = update.WriteVerifySummary(os.Stdout, vrep)

	arep, err := update.Apply(ctx, updatetest.NewMemFS(), bytes.NewReader(pkg.Bytes()), int64(pkg.Len()), &update.ApplyOptions{VerifyOptions: vo})
	if err != nil {
		panic(err)
	}
	_ = update.WriteApplySummary(os.Stdout, arep)
	// Output:
	// appliance-1.0.fup: full appliance 1.0 seq 1, 7168 bytes (1 whole, 0 patched, 0 kept, 0 deleted)
	// OK acme appliance/stable 1.0 seq 1 kind full tree sha256:dfba17f66a768a40d621599741600ff2b49a319b85dd87195ae9dc0436e85a3f signed by 339e2ff917630507b6a423b5ce084e28, content verified
	// applied nothing -> 1.0 (slot 1-dfba17f66a76, pending until confirmed): 1 written, 0 patched, 0 reused, 0 copied
}

// Base trees for a diff or bundle from directories named for their
// versions, as a build machine keeps its releases.
func ExampleDirTrees() {
	for _, t := range update.DirTrees("releases/1.0", "releases/1.1/") {
		fmt.Println(t.Version)
	}
	// Output:
	// 1.0
	// 1.1
}
