package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

func init() {
	commands["version"] = command{"print fogkit's version", runVersion}
}

// version is the module version the binary was built from (go install
// ...@v1.2.3 records it), or "devel".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func runVersion(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "version", "fogkit version [-json]", true)
	if _, err := f.parse(e, args, 0); err != nil {
		return err
	}
	if f.asJSON() {
		return writeJSON(e.stdout, map[string]string{"version": version()})
	}
	fmt.Fprintln(e.stdout, "fogkit", version())
	return nil
}
