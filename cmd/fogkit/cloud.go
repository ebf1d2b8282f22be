package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/fogkit/fogkit/cloud"
)

func init() {
	commands["cloud"] = command{"check a disk image against a cloud's import rules (cloud check)", runCloud}
}

func runCloud(ctx context.Context, e *env, args []string) error {
	const u = "fogkit cloud check -target aws|azure|gcp [-firmware uefi|bios] [-json] IMAGE"
	if len(args) == 0 || args[0] != "check" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help") {
			fmt.Fprintln(e.stdout, "usage:", u)
			return errHelp()
		}
		return usageErr("usage: %s", u)
	}
	f := newFlags(e, "cloud check", u, true)
	target := f.String("target", "", "aws, azure or gcp")
	firmware := f.String("firmware", "", "uefi or bios (default: from the disk)")
	pos, err := f.parse(e, args[1:], 1)
	if err != nil {
		return err
	}
	if t := cloud.Target(*target); t != cloud.AWS && t != cloud.Azure && t != cloud.GCP {
		return usageErr("-target %q: want aws, azure or gcp", *target)
	}
	rep, err := cloud.CheckFile(ctx, cloud.Target(*target), pos[0], &cloud.Options{Firmware: *firmware})
	if errors.Is(err, cloud.ErrUnknownTarget) || errors.Is(err, cloud.ErrInvalid) {
		return usageErr("%w", err)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if f.asJSON() {
		if err := writeJSON(e.stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "%s: %s image, %d bytes virtual, %s firmware, for %s\n", pos[0], rep.Format, rep.VirtualSize, rep.Firmware, rep.Target)
		for _, x := range rep.Findings {
			fmt.Fprintln(e.stdout, "  FAIL", x)
		}
		for _, u := range rep.Unchecked {
			fmt.Fprintln(e.stdout, "  UNCHECKED", u)
		}
		if rep.OK() {
			fmt.Fprintln(e.stdout, "  ok: the import takes it")
		}
	}
	if !rep.OK() {
		// The image is readable and breaks a rule: the cloud would refuse it.
		return withCode(exitRefused, fmt.Errorf("%s: %d finding(s) for %s: fix them before the upload", pos[0], len(rep.Findings)+len(rep.Unchecked), *target))
	}
	return nil
}
