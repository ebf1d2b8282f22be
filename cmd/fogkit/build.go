package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/specfile"
)

func init() {
	commands["build"] = command{"build an appliance from a spec file (appliance.yaml)", runBuild}
}

func runBuild(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "build", "fogkit build -f appliance.yaml [-out DIR] [-keys DIR] [-formats ova,qcow2,...] [-flavour NAME,...] [-combined] [-timings] [-json]", true)
	file := f.String("f", "", "the spec file (YAML; see specfile/appliance.schema.json)")
	out := f.String("out", "out", "output directory")
	keys := f.String("keys", "keys", "key directory, created with fresh keys when missing; keep it out of -out")
	formats := f.String("formats", "", "output formats, comma-separated, instead of the file's: "+formatNames())
	flavour := f.String("flavour", "", "write only these flavours' OVAs (comma-separated names from the file's flavours; default all)")
	timings := f.Bool("timings", false, "print how long each build stage took, on stderr")
	combined := f.Bool("combined", false, "also write <name>-flavours.ova, one OVA offering every flavour as a deployment option (as the file's combinedOVA: true)")
	if _, err := f.parse(e, args, 0); err != nil {
		return err
	}
	if err := required(f, "f", *file); err != nil {
		return err
	}
	sf, err := specfile.Load(*file)
	if err != nil {
		return err
	}
	if *formats != "" {
		if sf.Spec.Formats, err = appliance.ParseFormats(*formats); err != nil {
			return usageErr("-formats: %w", err)
		}
	}
	if *flavour != "" {
		if sf.Spec.FlavourOVAs, err = pickFlavours(sf, *flavour); err != nil {
			return usageErr("-flavour: %w", err)
		}
	}
	if *combined {
		if len(sf.Spec.Flavours) == 0 {
			return usageErr("-combined: %s has no flavours: add a flavours: block", sf.Name)
		}
		sf.Spec.CombinedOVA = true
	}
	if err := sf.Resolve(ctx); err != nil {
		return err
	}
	sf.Spec.ISOLinux = isoLinux(sf)
	ks, created, err := appliance.OpenKeys(*keys, sf.Spec.Name)
	if err != nil {
		return fmt.Errorf("-keys %s: %w (a key directory holds license.key, update.key, ova.key...: make one with fogkit keys create)", *keys, err)
	}
	if created {
		fmt.Fprintf(e.stderr, "created fresh keys in %s\n", *keys)
	}
	start := time.Now()
	progress := io.Discard
	if e.terminal && !f.asJSON() {
		progress = e.stderr
	}
	report := appliance.TextProgress(progress)
	var st stageTimer
	if *timings {
		report = st.wrap(report)
	}
	rec, err := appliance.Build(ctx, sf.Spec, &appliance.Options{Dir: *out, Keys: ks,
		FetchAssets: sf.FetchAssets, Progress: report})
	if *timings {
		st.print(e.stderr)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	if f.asJSON() {
		return writeJSON(e.stdout, rec)
	}
	fmt.Fprintf(e.stdout, "fogkit build: %s %s in %s (%s)\n", sf.Spec.Name, sf.Spec.Version, *out, time.Since(start).Round(time.Millisecond))
	return rec.WriteSummary(e.stdout, *out)
}

// isoLinux hands the spec file's isolinux parts (which Resolve found on
// the host or the file names) to the build, when the file asks for a
// BIOS-bootable ISO.
func isoLinux(sf *specfile.File) *appliance.ISOLinux {
	if !sf.ISOLinux.Enabled {
		return nil
	}
	return &appliance.ISOLinux{Loader: sf.ISOLinux.Loader, Ldlinux: sf.ISOLinux.LDLinux, HybridMBR: sf.ISOLinux.HybridMBR}
}

// pickFlavours reads -flavour's comma-separated names, each one of the
// file's flavours.
func pickFlavours(sf *specfile.File, list string) ([]string, error) {
	var have []string
	for _, f := range sf.Spec.Flavours {
		have = append(have, f.Name)
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("%s has no flavours: add a flavours: block or leave -flavour out", sf.Name)
	}
	var names []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n == "":
		case !slices.Contains(have, n):
			return nil, fmt.Errorf("%s has no flavour %q (it has %s)", sf.Name, n, strings.Join(have, ", "))
		case !slices.Contains(names, n):
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("name one or more of %s", strings.Join(have, ", "))
	}
	return names, nil
}

// formatNames lists appliance.Formats for the usage text.
func formatNames() string {
	names := make([]string, 0, len(appliance.Formats))
	for _, f := range appliance.Formats {
		names = append(names, string(f))
	}
	return fmt.Sprint(names)
}

// stageTimer measures each build stage: a stage starts with an event that
// carries only its name and ends where the next one starts.
type stageTimer struct {
	names []string
	start []time.Time
}

func (st *stageTimer) wrap(next func(appliance.Event)) func(appliance.Event) {
	return func(ev appliance.Event) {
		if ev.File == "" && ev.Message == "" && ev.Total == 0 && ev.Stage != "note" {
			st.names = append(st.names, ev.Stage)
			st.start = append(st.start, time.Now())
		}
		next(ev)
	}
}

func (st *stageTimer) print(w io.Writer) {
	end := time.Now()
	var total time.Duration
	for i, n := range st.names {
		next := end
		if i+1 < len(st.start) {
			next = st.start[i+1]
		}
		d := next.Sub(st.start[i])
		total += d
		fmt.Fprintf(w, "stage %-12s %8.2f s\n", n, d.Seconds())
	}
	fmt.Fprintf(w, "stage %-12s %8.2f s\n", "total", total.Seconds())
}
