package testutil_test

import (
	"fmt"

	"github.com/fogkit/fogkit/internal/testutil"
)

// Generated data depends only on the seed, so tests and golden files agree
// on every machine.
func ExampleRandomBytes() {
	a := testutil.RandomBytes(42, 16)
	b := testutil.RandomBytes(42, 16)
	fmt.Println(len(a), string(a) == string(b))
	// Output: 16 true
}

// The boot harness waits for this line, printed by the test /init when the
// kernel command line holds fogkit.nonce=<nonce>.
func ExampleBootMarker() {
	fmt.Println(testutil.BootMarker("0123abcd"))
	// Output: FOGKIT-BOOT-OK 0123abcd
}
