package update

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/update/updatetest"
)

// TestRecoverWithoutStateKeepsSlots: a lost state file never makes
// Recover delete an installed tree; only staging directories go.
func TestRecoverWithoutStateKeepsSlots(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	fsys := installed(t, k, ring, 1)
	st, err := ReadState(fsys)
	require.NoError(t, err)
	digest := currentDigest(t, fsys)
	require.NoError(t, fsys.Remove(StateFile))
	require.NoError(t, fsys.Mkdir(SlotsDir+"/9-abc.step0", 0o700))
	ops := fsys.Ops()

	// Ambiguous: the installed slot stays, nothing at all is changed.
	_, err = Recover(t.Context(), fsys)
	require.ErrorIs(t, err, ErrState)
	require.Equal(t, ops, fsys.Ops(), "nothing may be written")
	e, err := scanSlot(t.Context(), fsys, st.Current.Dir())
	require.NoError(t, err)
	require.Equal(t, digest, TreeDigest(e))
	// Apply refuses too, rather than installing over a lost state.
	_, err = apply(t.Context(), fsys, build(t, k, 2, nil, baseOpts(2, KindFull)), applyOpts(ring))
	require.ErrorIs(t, err, ErrState)
	_, err = fsys.Lstat(st.Current.Dir())
	require.NoError(t, err)

	// Restoring the state file makes the target whole again.
	require.NoError(t, writeState(fsys, st))
	rep, err := Recover(t.Context(), fsys)
	require.NoError(t, err)
	require.Equal(t, []string{"9-abc.step0"}, rep.Removed)
	require.Equal(t, digest, currentDigest(t, fsys))
}

// TestRecoverWithoutStateRemovesStaging: an interrupted first install (no
// state file yet) is cleaned: the journal's slot and step directories go.
func TestRecoverWithoutStateRemovesStaging(t *testing.T) {
	fsys := updatetest.NewMemFS()
	require.NoError(t, fsys.Mkdir(SlotsDir, 0o755))
	for _, d := range []string{"1-aaaa", "1-aaaa.step0", "7-bbbb.step12"} {
		require.NoError(t, fsys.Mkdir(SlotsDir+"/"+d, 0o700))
	}
	require.NoError(t, writeFileAtomic(fsys, JournalFile, []byte(`{"op":"apply","slot":"1-aaaa","phase":"commit"}`)))
	rep, err := Recover(t.Context(), fsys)
	require.NoError(t, err)
	require.Equal(t, "1-aaaa", rep.Interrupted)
	require.ElementsMatch(t, []string{"1-aaaa", "1-aaaa.step0", "7-bbbb.step12"}, rep.Removed)
	ents, err := fsys.ReadDir(SlotsDir)
	require.NoError(t, err)
	require.Empty(t, ents)
	_, err = fsys.Lstat(JournalFile)
	require.Error(t, err)

	// Names that only look like staging are not.
	for _, n := range []string{"x.step", ".step1", "a.stepx", "a.step1b"} {
		require.False(t, isStagingDir(n), n)
	}
	require.True(t, isStagingDir("3-0123456789ab-1.step0"))
}
