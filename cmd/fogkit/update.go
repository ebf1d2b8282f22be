package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update"
)

func init() {
	commands["update"] = command{"build, verify or apply offline update packages (update build|verify|apply)", runUpdate}
}

func runUpdate(ctx context.Context, e *env, args []string) error {
	const u = "fogkit update build|verify|apply [flags] (fogkit update SUB -h)"
	if len(args) == 0 {
		return usageErr("usage: %s", u)
	}
	switch args[0] {
	case "build":
		return updateBuild(ctx, e, args[1:])
	case "verify", "apply":
		return updateVerify(ctx, e, args[0], args[1:])
	case "-h", "-help", "--help":
		fmt.Fprintln(e.stdout, "usage:", u)
		return errHelp()
	}
	return usageErr("unknown update command %q (usage: %s)", args[0], u)
}

// updateProgress draws update events on a terminal; nil otherwise.
func updateProgress(e *env, quiet bool) (func(update.Event), func()) {
	if !e.terminal || quiet {
		return nil, func() {}
	}
	return update.ProgressLine(e.stderr)
}

// buildReport is update build's machine report.
type buildReport struct {
	File     string           `json:"file"`
	Manifest *update.Manifest `json:"manifest"`
	Size     int64            `json:"size"`
	Whole    int              `json:"whole"`
	Patched  int              `json:"patched"`
	Kept     int              `json:"kept"`
	Deleted  int              `json:"deleted"`
}

func updateBuild(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "update build", "fogkit update build -product P -version V -seq N -to DIR [-kind full|diff|bundle] [-from DIR,...] -key update.key [-encrypt-to product.pub] [-json] -o pkg.fup", true)
	kind := f.String("kind", "full", "package kind: full, diff or bundle")
	vendor := f.String("vendor", "fogkit", "vendor name")
	product := f.String("product", "", "product id")
	channel := f.String("channel", "", "channel (default stable)")
	version := f.String("version", "", "version of the new tree")
	seq := f.Uint64("seq", 0, "monotonic sequence number")
	to := f.String("to", "", "directory holding the new tree")
	from := f.String("from", "", "comma-separated base tree directories, oldest first (version = directory name)")
	keyFile := f.String("key", "", "private update key (update.key of a key directory)")
	encTo := f.String("encrypt-to", "", "the product's public OpenPGP key to encrypt the payload to")
	fullIf := f.Bool("full-if-larger", false, "build a full package when a diff or bundle would be larger")
	output := f.String("o", "", "output package file")
	if _, err := f.parse(e, args, 0); err != nil {
		return err
	}
	if err := required(f, "product", *product, "version", *version, "to", *to, "key", *keyFile, "o", *output); err != nil {
		return err
	}
	if *seq == 0 {
		return usageErr("-seq is required and at least 1 (usage: %s)", f.usage)
	}
	signer, err := loadUpdateSigner(*keyFile)
	if err != nil {
		return err
	}
	prog, done := updateProgress(e, f.asJSON())
	defer done()
	o := &update.BuildOptions{Vendor: *vendor, Product: *product, Channel: *channel, Version: *version,
		Sequence: *seq, Kind: update.Kind(*kind), FullIfLarger: *fullIf, Progress: prog,
		TempDir: filepath.Dir(*output)}
	if *encTo != "" {
		pk, err := loadPGPPublic(*encTo)
		if err != nil {
			return err
		}
		o.Encrypt = update.OpenPGPEncrypter(pk)
	}
	bases := update.DirTrees(list(*from)...)
	var rep *update.BuildReport
	err = writeAtomic(*output, 0o644, func(w *os.File) error {
		rep, err = update.Build(ctx, w, []sign.Signer{signer}, update.Tree{Version: *version, Sequence: *seq, FS: os.DirFS(*to)}, bases, o)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", *output, err)
	}
	if f.asJSON() {
		return writeJSON(e.stdout, buildReport{*output, rep.Manifest, rep.Size, rep.Whole, rep.Patched, rep.Kept, rep.Deleted})
	}
	if err := update.WriteBuildSummary(e.stdout, *output, rep); err != nil {
		return err
	}
	if rep.LargerThanFull && !rep.BuiltFull {
		fmt.Fprintln(e.stdout, "hint: -full-if-larger builds the full package instead")
	}
	return nil
}

// verifyUpdateReport is update verify's machine report.
type verifyUpdateReport struct {
	File            string           `json:"file"`
	Manifest        *update.Manifest `json:"manifest"`
	KeyIDs          []string         `json:"keyIds"`
	ContentVerified bool             `json:"contentVerified"`
}

// applyReport is update apply's machine report.
type applyReport struct {
	File             string `json:"file"`
	AlreadyInstalled bool   `json:"alreadyInstalled"`
	From             string `json:"from,omitempty"`
	To               string `json:"to"`
	Slot             string `json:"slot"`
	Written          int64  `json:"written"`
	Patched          int64  `json:"patched"`
	Reused           int64  `json:"reused"`
	Copied           int64  `json:"copied"`
}

func updateVerify(ctx context.Context, e *env, cmd string, args []string) error {
	usage := "fogkit update verify -pub update.pub [-product P] [-vendor V] [-channel C] [-decrypt product.key] [-json] pkg.fup"
	if cmd == "apply" {
		usage = "fogkit update apply -pub update.pub -target DIR [-product P] [-decrypt product.key] [-wait] [-json] pkg.fup"
	}
	f := newFlags(e, "update "+cmd, usage, true)
	pubFile := f.String("pub", "", "public update key (update.pub)")
	vendor := f.String("vendor", "", "require this vendor")
	product := f.String("product", "", "require this product")
	channel := f.String("channel", "", "require this channel")
	decKey := f.String("decrypt", "", "the product's private OpenPGP key to decrypt the payload")
	target := f.String("target", "", "apply: target directory with slots")
	wait := f.Bool("wait", false, "apply: wait for the target's lock instead of failing when it is busy")
	pos, err := f.parse(e, args, 1)
	if err != nil {
		return err
	}
	if err := required(f, "pub", *pubFile); err != nil {
		return err
	}
	if cmd == "apply" {
		if err := required(f, "target", *target); err != nil {
			return err
		}
	}
	ring, err := loadUpdateRing(*pubFile)
	if err != nil {
		return err
	}
	prog, done := updateProgress(e, f.asJSON())
	defer done()
	vo := update.VerifyOptions{Keyring: ring, Vendor: *vendor, Product: *product, Channel: *channel, Progress: prog}
	if *decKey != "" {
		k, err := loadPGPSigner(*decKey)
		if err != nil {
			return err
		}
		vo.Decrypt = update.OpenPGPDecrypter(k, 0)
	}
	in, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if cmd == "verify" {
		rep, err := update.Verify(ctx, in, st.Size(), &vo)
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		if f.asJSON() {
			return writeJSON(e.stdout, verifyUpdateReport{pos[0], rep.Manifest, rep.KeyIDs, rep.ContentVerified})
		}
		if err := update.WriteVerifySummary(e.stdout, rep); err != nil {
			return err
		}
		if !rep.ContentVerified {
			fmt.Fprintln(e.stdout, "hint: -decrypt with the product's private key checks the content too")
		}
		return nil
	}
	if err := os.MkdirAll(*target, 0o755); err != nil {
		return err
	}
	fsys, err := update.NewOSFS(*target)
	if err != nil {
		return fmt.Errorf("-target %s: %w", *target, err)
	}
	defer fsys.Close()
	rep, err := update.Apply(ctx, fsys, in, st.Size(), &update.ApplyOptions{VerifyOptions: vo, WaitLock: *wait})
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	r := applyReport{File: pos[0], AlreadyInstalled: rep.AlreadyInstalled, To: rep.To.Version, Slot: rep.To.Name,
		Written: int64(rep.Written), Patched: int64(rep.Patched), Reused: int64(rep.Reused), Copied: int64(rep.Copied)}
	if rep.From != nil {
		r.From = rep.From.Version
	}
	if f.asJSON() {
		return writeJSON(e.stdout, r)
	}
	return update.WriteApplySummary(e.stdout, rep)
}

func loadUpdateSigner(path string) (sign.Signer, error) {
	b, err := sign.ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	s, err := sign.LoadSigner(b, sign.PurposeUpdate, nil)
	if err != nil {
		return nil, fmt.Errorf("-key %s: %w (want the update.key of a key directory)", path, err)
	}
	return s, nil
}

func loadUpdateRing(path string) (*sign.Keyring, error) {
	ring, err := sign.ReadKeyring(sign.PurposeUpdate, path)
	if err != nil {
		return nil, fmt.Errorf("-pub %w (want the update.pub of a key directory)", err)
	}
	return ring, nil
}

func loadPGPPublic(path string) (*sign.OpenPGPPublicKey, error) {
	b, err := sign.ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	k, err := sign.LoadPublicKey(b, sign.PurposeUpdate)
	if err != nil {
		return nil, fmt.Errorf("-encrypt-to %s: %w", path, err)
	}
	pk, ok := k.(*sign.OpenPGPPublicKey)
	if !ok {
		return nil, fmt.Errorf("-encrypt-to %s: not an OpenPGP key (encryption needs one)", path)
	}
	return pk, nil
}

func loadPGPSigner(path string) (*sign.OpenPGPSigner, error) {
	b, err := sign.ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	k, err := sign.LoadSigner(b, sign.PurposeUpdate, nil)
	if err != nil {
		return nil, fmt.Errorf("-decrypt %s: %w", path, err)
	}
	pk, ok := k.(*sign.OpenPGPSigner)
	if !ok {
		return nil, fmt.Errorf("-decrypt %s: not an OpenPGP key (decryption needs one)", path)
	}
	return pk, nil
}
