package update

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/update/updatetest"
)

// TestCrashMatrixDoubleFault: a crash during apply after k operations,
// a reboot, a second crash inside Recover after j operations, a reboot and
// a Recover leave exactly the old or the new tree, and apply then converges
// on the new one. Every j is tried, and every k for the diff and full
// packages; the bundle's k is sampled with a stride to keep the run short
// (the single-fault matrix covers all of its k).
func TestCrashMatrixDoubleFault(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	oldD, newD := treeDigestOf(t, versionTree(1)), treeDigestOf(t, versionTree(4))
	for _, tc := range crashCases(t, k) {
		stride := 1
		if tc.name == "bundle" {
			stride = 3
		}
		t.Run(tc.name, func(t *testing.T) {
			total := applyOps(t, k, ring, tc.pkg)
			runs, faults := 0, 0
			for n := 0; n < total; n += stride {
				m := installed(t, k, ring, 1)
				m.CrashAfter(n)
				_, err := apply(t.Context(), m, tc.pkg, applyOpts(ring))
				require.ErrorIs(t, err, updatetest.ErrCrashed, "crash after %d ops", n)
				booted := m.Reboot()

				// How many operations an undisturbed Recover makes here.
				p := booted.Reboot()
				pstart := p.Ops()
				_, err = Recover(t.Context(), p)
				require.NoError(t, err, "recover after apply crash at %d", n)
				recOps := p.Ops() - pstart

				for j := 0; j < recOps; j++ {
					r := booted.Reboot() // a fresh copy of the same durable state
					r.CrashAfter(j)
					_, err := Recover(t.Context(), r)
					require.ErrorIs(t, err, updatetest.ErrCrashed, "apply crash %d, recover crash %d", n, j)
					r2 := r.Reboot()
					_, err = Recover(t.Context(), r2)
					require.NoError(t, err, "apply crash %d, recover crash %d", n, j)
					got := currentDigest(t, r2)
					require.True(t, got == oldD || got == newD,
						"apply crash %d, recover crash %d: tree is neither old nor new", n, j)
					ents, err := r2.ReadDir(SlotsDir)
					require.NoError(t, err)
					require.LessOrEqual(t, len(ents), 2)
					_, err = apply(t.Context(), r2, tc.pkg, applyOpts(ring))
					require.NoError(t, err, "re-apply after apply crash %d, recover crash %d", n, j)
					require.Equal(t, newD, currentDigest(t, r2))
					faults++
				}
				runs++
			}
			require.Greater(t, faults, 0)
			t.Logf("%d apply operations, %d apply crash points, %d double faults", total, runs, faults)
		})
	}
}
