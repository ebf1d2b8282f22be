package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update"
)

// stageUpdate writes a full update package of the boot tree and, with
// -previous, a diff package from that build's boot tree.
func (p *pipeline) stageUpdate(ctx context.Context) error {
	to := update.Tree{Version: p.cfg.Version, Sequence: p.cfg.Sequence, FS: os.DirFS(p.path("boot-tree"))}
	base := update.BuildOptions{Vendor: p.cfg.Vendor, Product: p.cfg.Product, Version: p.cfg.Version,
		Sequence: p.cfg.Sequence, Time: p.epoch}
	full := base
	full.Kind = update.KindFull
	p.rec.Options["updateFull"] = &full
	if err := p.writeUpdate(ctx, fmt.Sprintf("%s-%s-full.fup", p.cfg.Name, p.cfg.Version), to, nil, &full); err != nil {
		return err
	}
	if p.cfg.Previous == "" {
		return nil
	}
	prev, err := readRecord(filepath.Join(p.cfg.Previous, "build.json"))
	if err != nil {
		return fmt.Errorf("-previous: %w", err)
	}
	if prev.Config.Sequence >= p.cfg.Sequence {
		return fmt.Errorf("-previous has sequence %d: this build needs a higher -seq (now %d)", prev.Config.Sequence, p.cfg.Sequence)
	}
	from := update.Tree{Version: prev.Config.Version, Sequence: prev.Config.Sequence,
		FS: os.DirFS(filepath.Join(p.cfg.Previous, "boot-tree"))}
	diff := base
	diff.Kind = update.KindDiff
	diff.FullIfLarger = true
	p.rec.Options["updateDiff"] = &diff
	return p.writeUpdate(ctx, fmt.Sprintf("%s-%s-to-%s.fup", p.cfg.Name, prev.Config.Version, p.cfg.Version),
		to, []update.Tree{from}, &diff)
}

func (p *pipeline) writeUpdate(ctx context.Context, name string, to update.Tree, from []update.Tree, o *update.BuildOptions) error {
	tmp := p.path(name + ".partial")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	rep, err := update.Build(ctx, f, []sign.Signer{p.keys.update}, to, from, o)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p.path(name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	fmt.Fprintf(p.prog, "    %s: %s, %d whole, %d patched, %d kept, %d deleted\n",
		name, rep.Manifest.Kind, rep.Whole, rep.Patched, rep.Kept, rep.Deleted)
	return p.output(name)
}

func readRecord(path string) (*record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil || r.Config == nil {
		return nil, fmt.Errorf("%s is not a fogkit build record", path)
	}
	return &r, nil
}
