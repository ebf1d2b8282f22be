// Command mkvmdk converts a raw disk image into a streamOptimized VMDK, or
// writes an empty one:
//
//	mkvmdk -in disk.raw -o disk.vmdk [-level N] [-workers N]
//	mkvmdk -size 20G -o data.vmdk
//
// It prints {"size":…,"sha256":"…","capacity":…,"grains":…} and exits 1
// with a one-line error on failure.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/fogkit/fogkit/vmdk"
)

type output struct {
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	Capacity int64  `json:"capacity"`
	Grains   int64  `json:"grains"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mkvmdk:", strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("mkvmdk", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	in := fs.String("in", "", "raw disk image to convert")
	out := fs.String("o", "", "output .vmdk (required)")
	size := fs.String("size", "", "write an empty disk of this size (e.g. 20G, 512M, 1048576)")
	level := fs.Int("level", 0, "zlib level 1..9 (default 6)")
	workers := fs.Int("workers", 0, "compression workers (default GOMAXPROCS)")
	adapter := fs.String("adapter", "", "adapter type: lsilogic (default), ide, buslogic")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
			return nil
		}
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *out == "" || (*in == "") == (*size == "") {
		return errors.New("usage: mkvmdk -in disk.raw -o disk.vmdk [-level N] [-workers N] | -size 20G -o data.vmdk")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	base := *out
	if i := strings.LastIndexAny(base, `/\`); i >= 0 {
		base = base[i+1:]
	}
	opts := &vmdk.Options{Level: *level, Workers: *workers, AdapterType: *adapter, FileName: base}

	if *in != "" {
		// Creating the output first would truncate an input given twice.
		ist, err := os.Stat(*in)
		if err != nil {
			return err
		}
		if ost, err := os.Stat(*out); err == nil && os.SameFile(ist, ost) {
			return fmt.Errorf("-o %s is the input file", *out)
		}
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	var res *vmdk.Result
	if *size != "" {
		n, perr := parseSize(*size)
		if perr != nil {
			f.Close()
			return perr
		}
		res, err = vmdk.WriteEmpty(ctx, f, n, opts)
	} else {
		var src *os.File
		src, err = os.Open(*in)
		if err == nil {
			var st os.FileInfo
			if st, err = src.Stat(); err == nil {
				res, err = vmdk.Write(ctx, f, src, st.Size(), opts)
			}
			src.Close()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out) // a partial VMDK is useless
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(output{Size: res.Size, SHA256: res.SHA256.String(), Capacity: res.Capacity, Grains: res.Grains})
}

// parseSize accepts a byte count with an optional K, M, G or T suffix
// (powers of 1024, an optional trailing "iB" or "B"). It is this
// program's own rather than appliance.ParseSize: internal/bench/vmdk
// measures this binary, and importing appliance adds about 3 MiB of
// package initialisation to its peak RSS.
func parseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B"), "I")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}
