package update

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/update/updatetest"
)

// rolledBackTarget returns a target where 1.2 was confirmed, 1.4 applied
// and then abandoned by rollback (through Rollback or exhausted boots).
func rolledBackTarget(t *testing.T, viaBoots bool) *updatetest.MemFS {
	t.Helper()
	k := testSigner(t, 1)
	ring := testRing(t, k)
	m := installed(t, k, ring, 1)
	_, err := apply(t.Context(), m, build(t, k, 2, []int{1}, baseOpts(2, KindDiff)), applyOpts(ring))
	require.NoError(t, err)
	_, err = Confirm(t.Context(), m)
	require.NoError(t, err)
	_, err = apply(t.Context(), m, build(t, k, 4, nil, baseOpts(4, KindFull)), applyOpts(ring))
	require.NoError(t, err)
	var st *State
	if viaBoots {
		for i := 0; i <= DefaultMaxBootAttempts; i++ {
			st, err = BootAttempt(t.Context(), m)
			require.NoError(t, err)
		}
	} else {
		st, err = Rollback(t.Context(), m)
		require.NoError(t, err)
	}
	require.Equal(t, "1.2", st.Current.Version)
	require.Equal(t, uint64(4), st.HighestSequence)
	return m
}

// TestRollbackKeepsReplayFloor: after a rollback (explicit or after failed
// boots) from 1.4 to 1.2, the older 1.3 stays refused; 1.4 may be retried
// and an explicit AllowDowngrade installs 1.3.
func TestRollbackKeepsReplayFloor(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	v3 := build(t, k, 3, nil, baseOpts(3, KindFull))
	v3diff := build(t, k, 3, []int{2}, baseOpts(3, KindDiff))
	for _, viaBoots := range []bool{false, true} {
		m := rolledBackTarget(t, viaBoots)
		refused(t, m, v3, applyOpts(ring), ErrDowngrade)
		refused(t, m, v3diff, applyOpts(ring), ErrDowngrade)
		st, err := ReadState(m)
		require.NoError(t, err)
		require.Equal(t, uint64(4), st.HighestSequence)

		o := applyOpts(ring)
		o.AllowDowngrade = true
		rep, err := apply(t.Context(), m, v3diff, o)
		require.NoError(t, err)
		require.Equal(t, "1.3", rep.To.Version)
		st, err = ReadState(m)
		require.NoError(t, err)
		require.Equal(t, uint64(4), st.HighestSequence, "a downgrade does not lower the floor")
		_, err = Rollback(t.Context(), m)
		require.NoError(t, err)

		// The newest version ever installed may be tried again.
		_, err = apply(t.Context(), m, build(t, k, 4, nil, baseOpts(4, KindFull)), applyOpts(ring))
		require.NoError(t, err)
		require.Equal(t, treeDigestOf(t, versionTree(4)), currentDigest(t, m))
	}
}

// TestOldStateFileDerivesFloor: a state file without highestSequence (as
// written before the field existed) still reads, and its floor comes from
// the slots it names.
func TestOldStateFileDerivesFloor(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	m := rolledBackTarget(t, false)
	b, err := readFileFS(m, StateFile, 1<<20)
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	require.Contains(t, raw, "highestSequence")
	delete(raw, "highestSequence")
	old, err := json.Marshal(raw)
	require.NoError(t, err)
	require.NoError(t, writeFileAtomic(m, StateFile, old))

	st, err := ReadState(m)
	require.NoError(t, err)
	require.Equal(t, uint64(4), st.HighestSequence, "derived from the rolled-back slot")
	refused(t, m, build(t, k, 3, nil, baseOpts(3, KindFull)), applyOpts(ring), ErrDowngrade)
}

// TestReadStateValidates: a state file with an empty or malformed label,
// slot or floor is ErrState, and Apply refuses to work on it rather than
// skipping the vendor, product or channel check.
func TestReadStateValidates(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	good := func() map[string]any {
		m := installed(t, k, ring, 1)
		b, err := readFileFS(m, StateFile, 1<<20)
		require.NoError(t, err)
		var raw map[string]any
		require.NoError(t, json.Unmarshal(b, &raw))
		return raw
	}
	base := good()
	cur := base["current"].(map[string]any)
	slot := func(edit func(s map[string]any)) map[string]any {
		s := map[string]any{}
		for k, v := range cur {
			s[k] = v
		}
		edit(s)
		return s
	}
	cases := map[string]func(r map[string]any){
		"empty vendor":         func(r map[string]any) { r["vendor"] = "" },
		"missing vendor":       func(r map[string]any) { delete(r, "vendor") },
		"empty product":        func(r map[string]any) { r["product"] = "" },
		"empty channel":        func(r map[string]any) { r["channel"] = "" },
		"slash in product":     func(r map[string]any) { r["product"] = "de/mo" },
		"control in channel":   func(r map[string]any) { r["channel"] = "st\nable" },
		"long vendor":          func(r map[string]any) { r["vendor"] = strings.Repeat("v", 129) },
		"format":               func(r map[string]any) { r["format"] = 2 },
		"unknown field":        func(r map[string]any) { r["x"] = 1 },
		"current traversal":    func(r map[string]any) { r["current"] = slot(func(s map[string]any) { s["name"] = "../x" }) },
		"current empty":        func(r map[string]any) { r["current"] = slot(func(s map[string]any) { s["name"] = "" }) },
		"current staging name": func(r map[string]any) { r["current"] = slot(func(s map[string]any) { s["name"] = "1-a.step0" }) },
		"current tree":         func(r map[string]any) { r["current"] = slot(func(s map[string]any) { s["tree"] = "md5:x" }) },
		"current version":      func(r map[string]any) { r["current"] = slot(func(s map[string]any) { s["version"] = "" }) },
		"current sequence 0":   func(r map[string]any) { r["current"] = slot(func(s map[string]any) { s["sequence"] = 0 }) },
		"previous is current":  func(r map[string]any) { r["previous"] = slot(func(map[string]any) {}) },
		"bad rolled back":      func(r map[string]any) { r["rolledBack"] = slot(func(s map[string]any) { s["name"] = "a/b" }) },
		"fractional floor":     func(r map[string]any) { r["highestSequence"] = 0.5 },
		"attempts":             func(r map[string]any) { r["attempts"] = -1 },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			m := installed(t, k, ring, 1)
			raw := good()
			edit(raw)
			b, err := json.Marshal(raw)
			require.NoError(t, err)
			require.NoError(t, writeFileAtomic(m, StateFile, b))
			_, err = ReadState(m)
			require.ErrorIs(t, err, ErrState)
			o := baseOpts(2, KindFull)
			o.Vendor = "evil"
			_, err = apply(t.Context(), m, build(t, k, 2, nil, o), applyOpts(ring))
			require.ErrorIs(t, err, ErrState)
		})
	}
	t.Run("trailing data", func(t *testing.T) {
		m := installed(t, k, ring, 1)
		b, err := readFileFS(m, StateFile, 1<<20)
		require.NoError(t, err)
		require.NoError(t, writeFileAtomic(m, StateFile, append(b, "{}"...)))
		_, err = ReadState(m)
		require.ErrorIs(t, err, ErrState)
	})
	t.Run("floor below a slot", func(t *testing.T) {
		m := installed(t, k, ring, 2)
		raw := good()
		raw["current"] = slot(func(s map[string]any) { s["sequence"] = 5 })
		raw["highestSequence"] = 3
		b, err := json.Marshal(raw)
		require.NoError(t, err)
		require.NoError(t, writeFileAtomic(m, StateFile, b))
		_, err = ReadState(m)
		require.ErrorIs(t, err, ErrState)
	})
}

// TestAlreadyInstalledVerifiesPackage: a package naming the installed
// version is verified completely before Apply answers "already
// installed"; a corrupt or truncated copy is an error.
func TestAlreadyInstalledVerifiesPackage(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	m := installed(t, k, ring, 2)
	pkg := build(t, k, 2, nil, baseOpts(2, KindFull))
	rep, err := apply(t.Context(), m, pkg, applyOpts(ring))
	require.NoError(t, err)
	require.True(t, rep.AlreadyInstalled)

	sp := memberSpans(t, pkg)[MemberPayload]
	corrupt := append([]byte(nil), pkg...)
	corrupt[sp[0]+sp[1]/2] ^= 1
	rep, err = apply(t.Context(), m, corrupt, applyOpts(ring))
	require.ErrorIs(t, err, ErrDigestMismatch)
	require.Nil(t, rep)

	_, err = apply(t.Context(), m, pkg[:sp[0]+sp[1]/2], applyOpts(ring))
	require.ErrorIs(t, err, ErrMalformed)

	// An encrypted copy needs its key to be recognised as installed.
	enc, dec := testCipher(1)
	o := baseOpts(2, KindFull)
	o.Encrypt = enc
	encPkg := build(t, k, 2, nil, o)
	_, err = apply(t.Context(), m, encPkg, applyOpts(ring))
	require.ErrorIs(t, err, ErrDecrypt)
	ao := applyOpts(ring)
	ao.Decrypt = dec
	rep, err = apply(t.Context(), m, encPkg, ao)
	require.NoError(t, err)
	require.True(t, rep.AlreadyInstalled)
}
