package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/fogkit/fogkit/appliance"
)

func init() {
	commands["verify"] = command{"check every output of a build directory against its build.json", runVerify}
}

// verifyReport is verify's machine report.
type verifyReport struct {
	Dir     string               `json:"dir"`
	OK      bool                 `json:"ok"`
	Error   string               `json:"error,omitempty"`
	Outputs []appliance.Artifact `json:"outputs"`
}

func runVerify(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "verify", "fogkit verify [-json] DIR", true)
	pos, err := f.parse(e, args, 1)
	if err != nil {
		return err
	}
	dir := pos[0]
	rec, err := appliance.Load(filepath.Join(dir, appliance.RecordFile))
	if err != nil {
		return fmt.Errorf("%w (is %s a build's output directory?)", err, dir)
	}
	verr := rec.Verify(ctx, dir)
	if f.asJSON() {
		r := verifyReport{Dir: dir, OK: verr == nil, Outputs: rec.Outputs}
		if verr != nil {
			r.Error = verr.Error()
		}
		if err := writeJSON(e.stdout, r); err != nil {
			return err
		}
	} else if verr == nil {
		for _, o := range rec.Outputs {
			fmt.Fprintf(e.stdout, "  ok %-28s %12d  %s\n", o.Path, o.Size, o.SHA256)
		}
		fmt.Fprintf(e.stdout, "%s: %d outputs verified (sizes, digests, signatures)\n", dir, len(rec.Outputs))
	}
	if verr != nil {
		return fmt.Errorf("%s: %w (rebuild, or fetch the file again)", dir, verr)
	}
	return nil
}
