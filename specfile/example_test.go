package specfile_test

import (
	"errors"
	"fmt"

	"github.com/fogkit/fogkit/specfile"
)

// A spec file becomes an appliance.Spec; the init and kernel are resolved
// later, on the build host.
func ExampleParse() {
	f, err := specfile.Parse([]byte(`
name: acme
version: 2.0.0
sequence: 7
init: {goPackage: example.com/acme/cmd/init}
kernel: {host: true, fetch: true}
dataSize: 40G
formats: [ova, qcow2]
license:
  id: "{product}-{epoch}"
  customer: {id: C-42, name: Example Customer}
  validFor: 1y
flavours:
  small: {cpus: 2, memoryMiB: 2048}
  large: {cpus: 8, memoryMiB: 16384, dataSize: 500G}
epoch: 1790000000
`), "acme.yaml", ".")
	if err != nil {
		fmt.Println(err)
		return
	}
	s := f.Spec
	fmt.Println(s.Name, s.Version, s.Sequence, s.DataSize>>30, "GiB", s.Formats)
	fmt.Println(s.License.ID, s.License.ExpiresAt.Format("2006-01-02"))
	fmt.Println(f.Init.GoPackage, f.Kernel.Host, f.Kernel.Fetch)
	for _, fl := range s.Flavours {
		fmt.Printf("%+v\n", fl)
	}
	// Output:
	// acme 2.0.0 7 40 GiB [ova qcow2]
	// acme-1790000000 2027-09-21
	// example.com/acme/cmd/init true true
	// {Name:small CPUs:2 MemoryMiB:2048 DataSize:0}
	// {Name:large CPUs:8 MemoryMiB:16384 DataSize:536870912000}
}

// Every problem comes back at once, each with its position and key.
func ExampleError() {
	_, err := specfile.Parse([]byte(`name: acme
version: 2
sequnce: 1
init: {goPackage: example.com/acme/cmd/init}
cpus: two
dataSize: 20X
formats: [ova, qcow]
epoch: 1790000000
`), "acme.yaml", ".")
	fmt.Println(errors.Is(err, specfile.ErrSpec))
	var se *specfile.Error
	if errors.As(err, &se) {
		for _, p := range se.Problems {
			fmt.Println(p)
		}
	}
	// Output:
	// true
	// acme.yaml:2:10: version: want a string (quote it: "2"), got the number 2
	// acme.yaml:3:1: sequnce: unknown key; did you mean sequence?
	// acme.yaml:5:7: cpus: want a whole number, got the string "two"
	// acme.yaml:6:11: dataSize: bad size "20X": use a number and K, M, G or T (powers of 1024), e.g. 20G
	// acme.yaml:7:16: formats[1]: "qcow" is not one of ova, qcow2, vhd, vhdx, gce, iso; did you mean qcow2?
}
