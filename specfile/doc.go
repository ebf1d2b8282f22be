// Package specfile reads fogkit's appliance spec files: YAML documents
// that say what appliance.Build makes, for tools such as the fogkit
// command line (`fogkit build -f appliance.yaml`) and for build engineers
// who drive fogkit without writing Go.
//
// Load (or Parse) reads a file into a File: an appliance.Spec with every
// field the file sets, relative paths joined to the file's directory, the
// license built from its fields, and the parts that need the build host
// kept as sources (InitSource, KernelSource, BIOSSource, ISOLinuxSource).
// (*File).Resolve then builds or reads the /init (appliance.GoInit), takes
// the host's kernel and BIOS parts (appliance.HostKernel,
// appliance.HostBIOS) and says whether to fetch the distribution's kernel
// (File.FetchAssets, for appliance.Options.FetchAssets):
//
//	f, err := specfile.Load("appliance.yaml")
//	if err != nil {
//		return err // every problem, one per line: file:line:col: field: message
//	}
//	if err := f.Resolve(ctx); err != nil {
//		return err
//	}
//	rec, err := appliance.Build(ctx, f.Spec, &appliance.Options{Dir: "out", Keys: keys, FetchAssets: f.FetchAssets})
//
// The file's keys are the JSON names of the Document types (camelCase, the
// same as appliance.Spec's where the field exists); their comments are the
// documentation, and examples/appliance.yaml shows every key. Checking is
// strict and complete: YAML syntax errors, unknown or misspelt keys (with
// "did you mean" for a near miss), duplicate keys, wrong types (a string
// where a number goes, a number where a string goes: quote versions),
// impossible values (size "20X", cpus -1, an unknown format, a bad date),
// missing required keys, files that are not there, and everything
// appliance.Spec.Validate refuses, all come back at once in one *Error
// (ErrSpec) whose Problems carry file, line, column and the key's dotted
// path ("license.customer.id", "formats[1]").
//
// Schema returns the file's JSON Schema (draft 2020-12), generated from the
// Document types by `go generate` and committed as appliance.schema.json;
// a test fails when the two drift. Editors use it for completion; CI can
// validate a file (converted to JSON) with any validator. Parse checks
// everything the schema says and more.
//
// Hostile input gets bounded work: files over MaxFileSize are refused,
// YAML aliases are followed with a budget (a billion-laughs document stops
// with a problem, not a hang), a document holds one YAML document, and
// yaml.v3's own depth limit refuses deep nesting.
package specfile
