package update

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update/updatetest"
	"github.com/stretchr/testify/require"
)

func TestRoundTripFull(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	m := updatetest.NewMemFS()
	pkg := build(t, k, 2, nil, baseOpts(2, KindFull))
	rep, err := apply(t.Context(), m, pkg, applyOpts(ring))
	require.NoError(t, err)
	require.Nil(t, rep.From)
	require.Equal(t, treeDigestOf(t, versionTree(2)), currentDigest(t, m))
	st, err := ReadState(m)
	require.NoError(t, err)
	require.False(t, st.Pending, "a first install has nothing to roll back to, so it is not pending")
	for i := 0; i < st.MaxAttempts+2; i++ {
		_, err := BootAttempt(t.Context(), m)
		require.NoError(t, err, "boot %d of an unconfirmed first install", i+1)
	}
	require.Equal(t, "1.2", st.Current.Version)
	vr, err := Verify(t.Context(), bytes.NewReader(pkg), int64(len(pkg)), &VerifyOptions{Keyring: ring, Product: "demo"})
	require.NoError(t, err)
	require.True(t, vr.ContentVerified)
	require.Equal(t, []string{k.KeyID()}, vr.KeyIDs)
}

func TestRoundTripDiff(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	m := installed(t, k, ring, 1)
	var buf bytes.Buffer
	br, err := Build(t.Context(), &buf, []sign.Signer{k}, tree(2), []Tree{tree(1)}, baseOpts(2, KindDiff))
	require.NoError(t, err)
	require.Greater(t, br.Patched, 0)
	require.Greater(t, br.Kept, 0)
	require.Greater(t, br.Deleted, 0)
	rep, err := apply(t.Context(), m, buf.Bytes(), applyOpts(ring))
	require.NoError(t, err)
	require.Equal(t, treeDigestOf(t, versionTree(2)), currentDigest(t, m))
	require.Greater(t, rep.Patched, 0)
	require.Greater(t, rep.Reused, 0)
	// Applying again converges: nothing to do.
	_, err = Confirm(t.Context(), m)
	require.NoError(t, err)
	rep, err = apply(t.Context(), m, buf.Bytes(), applyOpts(ring))
	require.NoError(t, err)
	require.True(t, rep.AlreadyInstalled)
}

func TestRoundTripBundle(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	var buf bytes.Buffer
	br, err := Build(t.Context(), &buf, []sign.Signer{k}, tree(4), []Tree{tree(1), tree(2), tree(3)}, baseOpts(4, KindBundle))
	require.NoError(t, err)
	require.False(t, br.LargerThanFull)
	pkg := buf.Bytes()
	want := treeDigestOf(t, versionTree(4))
	for from := 1; from <= 3; from++ {
		t.Run("from-v"+string(rune('0'+from)), func(t *testing.T) {
			m := installed(t, k, ring, from)
			rep, err := apply(t.Context(), m, pkg, applyOpts(ring))
			require.NoError(t, err)
			require.Equal(t, 4-from, rep.Steps)
			require.Equal(t, want, currentDigest(t, m))
			ents, err := m.ReadDir(SlotsDir)
			require.NoError(t, err)
			require.Len(t, ents, 2, "only current and previous slots remain")
		})
	}
}

func TestBundleLargerThanFull(t *testing.T) {
	k := testSigner(t, 1)
	var buf bytes.Buffer
	// Random trees: patches do not help, the bundle carries everything
	// three times.
	o := baseOpts(4, KindBundle)
	o.PatchRatio = 0.0001
	br, err := Build(t.Context(), &buf, []sign.Signer{k}, tree(4), []Tree{tree(1), tree(2), tree(3)}, o)
	require.NoError(t, err)
	require.True(t, br.LargerThanFull)
	o.FullIfLarger = true
	buf.Reset()
	br, err = Build(t.Context(), &buf, []sign.Signer{k}, tree(4), []Tree{tree(1), tree(2), tree(3)}, o)
	require.NoError(t, err)
	require.True(t, br.BuiltFull)
	require.Equal(t, KindFull, br.Manifest.Kind)
}

func TestBuildTwiceIdentical(t *testing.T) {
	k := testSigner(t, 1)
	for _, kind := range []Kind{KindFull, KindDiff, KindBundle} {
		var from []int
		switch kind {
		case KindDiff:
			from = []int{3}
		case KindBundle:
			from = []int{1, 2, 3}
		}
		a := build(t, k, 4, from, baseOpts(4, kind))
		b := build(t, k, 4, from, baseOpts(4, kind))
		require.Equal(t, a, b, "kind %s", kind)
	}
}

func TestKeyRotationSignatures(t *testing.T) {
	old, cur := testSigner(t, 1), testSigner(t, 2)
	var buf bytes.Buffer
	_, err := Build(t.Context(), &buf, []sign.Signer{old, cur}, tree(1), nil, baseOpts(1, KindFull))
	require.NoError(t, err)
	pkg := buf.Bytes()
	for _, ring := range []*sign.Keyring{testRing(t, old), testRing(t, cur)} {
		vr, err := Verify(t.Context(), bytes.NewReader(pkg), int64(len(pkg)), &VerifyOptions{Keyring: ring})
		require.NoError(t, err)
		require.Len(t, vr.KeyIDs, 1)
	}
	// A revoked old key alone does not verify.
	ring := testRing(t, old)
	ring.Revoke(old.KeyID())
	_, err = Verify(t.Context(), bytes.NewReader(pkg), int64(len(pkg)), &VerifyOptions{Keyring: ring})
	require.ErrorIs(t, err, ErrSignature)
	require.ErrorIs(t, err, sign.ErrRevoked)
}

// refused checks that applying pkg fails with want and writes nothing.
func refused(t *testing.T, m *updatetest.MemFS, pkg []byte, o *ApplyOptions, want error) error {
	t.Helper()
	before := currentDigest(t, m)
	ops := m.Ops()
	_, err := apply(t.Context(), m, pkg, o)
	require.Error(t, err)
	require.ErrorIs(t, err, want)
	require.Equal(t, ops, m.Ops(), "nothing may be written")
	require.Equal(t, before, currentDigest(t, m))
	return err
}

func TestTamperEachMember(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	m := installed(t, k, ring, 1)
	pkg := build(t, k, 2, []int{1}, baseOpts(2, KindDiff))
	spans := memberSpans(t, pkg)
	require.Len(t, spans, 4)
	wants := map[string]error{MemberMarker: ErrMalformed, MemberManifest: ErrSignature, MemberSig: ErrSignature, MemberPayload: ErrDigestMismatch}
	for name, sp := range spans {
		for _, at := range []int64{0, sp[1] / 2, sp[1] - 1} {
			bad := append([]byte(nil), pkg...)
			bad[sp[0]+at] ^= 0x01
			refused(t, m, bad, applyOpts(ring), wants[name])
		}
	}
	// Tar headers too.
	for name, sp := range spans {
		bad := append([]byte(nil), pkg...)
		bad[sp[0]-512] ^= 0x01 // first byte of the member's name
		_, err := apply(t.Context(), m, bad, applyOpts(ring))
		require.Error(t, err, name)
	}
	// The untouched package still applies.
	_, err := apply(t.Context(), m, pkg, applyOpts(ring))
	require.NoError(t, err)
}

func TestWrongBaseNamesFile(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	m := installed(t, k, ring, 1)
	st, err := ReadState(m)
	require.NoError(t, err)
	// Change one byte of one base file behind the updater's back.
	p := st.Current.Dir() + "/boot/vmlinuz"
	data, err := readFileFS(m, p, 1<<20)
	require.NoError(t, err)
	data[100] ^= 0xff
	require.NoError(t, m.Remove(p))
	f, err := m.Create(p, 0o644)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	pkg := build(t, k, 2, []int{1}, baseOpts(2, KindDiff))
	err = refused(t, m, pkg, applyOpts(ring), ErrBaseMismatch)
	var be *BaseError
	require.ErrorAs(t, err, &be)
	require.Equal(t, "boot/vmlinuz", be.File)
	require.Contains(t, err.Error(), "boot/vmlinuz")
}

func TestPolicyRefusals(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	enc, _ := testCipher(1)
	_, wrongDec := testCipher(2)
	m := installed(t, k, ring, 2)

	older := build(t, k, 1, nil, baseOpts(1, KindFull))
	refused(t, m, older, applyOpts(ring), ErrDowngrade)

	same := build(t, k, 3, nil, &BuildOptions{Vendor: "acme", Product: "demo", Channel: "stable", Version: "1.3", Sequence: 2})
	refused(t, m, same, applyOpts(ring), ErrDowngrade)

	o := baseOpts(3, KindFull)
	o.Product = "other"
	refused(t, m, build(t, k, 3, nil, o), applyOpts(ring), ErrWrongProduct)

	o = baseOpts(3, KindFull)
	o.Channel = "beta"
	refused(t, m, build(t, k, 3, nil, o), applyOpts(ring), ErrWrongChannel)

	o = baseOpts(3, KindFull)
	o.Vendor = "evil"
	refused(t, m, build(t, k, 3, nil, o), applyOpts(ring), ErrWrongVendor)

	other := testSigner(t, 9)
	err := refused(t, m, build(t, other, 3, nil, baseOpts(3, KindFull)), applyOpts(ring), ErrSignature)
	require.ErrorIs(t, err, sign.ErrBadSignature)

	o = baseOpts(3, KindFull)
	o.Encrypt = enc
	encPkg := build(t, k, 3, nil, o)
	ao := applyOpts(ring)
	ao.Decrypt = wrongDec
	refused(t, m, encPkg, ao, ErrDecrypt)
	refused(t, m, encPkg, applyOpts(ring), ErrDecrypt)

	m.SetFree(10)
	refused(t, m, build(t, k, 3, nil, baseOpts(3, KindFull)), applyOpts(ring), ErrNoSpace)
	m.SetFree(1 << 40)

	// The right key works, and the diff for another base is refused.
	_, rightDec := testCipher(1)
	ao.Decrypt = rightDec
	_, err = apply(t.Context(), m, encPkg, ao)
	require.NoError(t, err)
	require.Equal(t, treeDigestOf(t, versionTree(3)), currentDigest(t, m))
	_, err = Confirm(t.Context(), m)
	require.NoError(t, err)
	refused(t, m, build(t, k, 4, []int{1}, baseOpts(4, KindDiff)), applyOpts(ring), ErrBaseMismatch)
}

func TestPendingAndRollback(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	m := installed(t, k, ring, 1)
	v1 := currentDigest(t, m)
	_, err := apply(t.Context(), m, build(t, k, 2, []int{1}, baseOpts(2, KindDiff)), applyOpts(ring))
	require.NoError(t, err)
	// A second update is refused while the first is pending.
	refused(t, m, build(t, k, 3, nil, baseOpts(3, KindFull)), applyOpts(ring), ErrPending)
	for i := 1; i <= DefaultMaxBootAttempts; i++ {
		st, err := BootAttempt(t.Context(), m)
		require.NoError(t, err)
		require.True(t, st.Pending)
		require.Equal(t, i, st.Attempts)
	}
	st, err := BootAttempt(t.Context(), m)
	require.NoError(t, err)
	require.False(t, st.Pending)
	require.Equal(t, "1.1", st.Current.Version)
	require.Equal(t, "1.2", st.RolledBack.Version)
	require.Equal(t, v1, currentDigest(t, m))
	ents, err := m.ReadDir(SlotsDir)
	require.NoError(t, err)
	require.Len(t, ents, 1)

	// Confirmed updates stay.
	_, err = apply(t.Context(), m, build(t, k, 2, []int{1}, baseOpts(2, KindDiff)), applyOpts(ring))
	require.NoError(t, err)
	_, err = BootAttempt(t.Context(), m)
	require.NoError(t, err)
	st, err = Confirm(t.Context(), m)
	require.NoError(t, err)
	require.False(t, st.Pending)
	for i := 0; i < 5; i++ {
		st, err = BootAttempt(t.Context(), m)
		require.NoError(t, err)
	}
	require.Equal(t, "1.2", st.Current.Version)
}

func TestCancelChangesNothing(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	pkg := build(t, k, 2, []int{1}, baseOpts(2, KindDiff))
	for n := 1; n < 200; n += 7 {
		m := installed(t, k, ring, 1)
		before := currentDigest(t, m)
		ctx, cancel := context.WithCancel(t.Context())
		calls := 0
		o := applyOpts(ring)
		o.Progress = func(Event) {
			calls++
			if calls == n {
				cancel()
			}
		}
		_, err := apply(ctx, m, pkg, o)
		cancel()
		if err == nil {
			break
		}
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, before, currentDigest(t, m))
		st, err := ReadState(m)
		require.NoError(t, err)
		require.False(t, st.Pending)
		ents, err := m.ReadDir(SlotsDir)
		require.NoError(t, err)
		require.Len(t, ents, 1, "no staging left behind")
	}
}

// crashCase is one package the crash matrices apply to an installed v1.
type crashCase struct {
	name string
	pkg  []byte
}

// crashCases builds the v1→v4 packages of every appliable kind.
func crashCases(t *testing.T, k sign.Signer) []crashCase {
	return []crashCase{
		{"diff", build(t, k, 4, []int{1}, baseOpts(4, KindDiff))},
		{"bundle", build(t, k, 4, []int{1, 2, 3}, baseOpts(4, KindBundle))},
		{"full", build(t, k, 4, nil, baseOpts(4, KindFull))},
	}
}

// applyOps counts the filesystem operations of an undisturbed apply of
// pkg to an installed v1: the crash points the matrices try.
func applyOps(t *testing.T, k sign.Signer, ring *sign.Keyring, pkg []byte) int {
	t.Helper()
	probe := installed(t, k, ring, 1)
	start := probe.Ops()
	_, err := apply(t.Context(), probe, pkg, applyOpts(ring))
	require.NoError(t, err)
	return probe.Ops() - start
}

func TestCrashMatrix(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	oldD, newD := treeDigestOf(t, versionTree(1)), treeDigestOf(t, versionTree(4))
	for _, tc := range crashCases(t, k) {
		t.Run(tc.name, func(t *testing.T) {
			total := applyOps(t, k, ring, tc.pkg)
			require.Greater(t, total, 20)
			t.Logf("%d filesystem operations, a crash after each", total)
			sawOld, sawNew := false, false
			for n := 0; n <= total; n++ {
				m := installed(t, k, ring, 1)
				m.CrashAfter(n)
				_, err := apply(t.Context(), m, tc.pkg, applyOpts(ring))
				if n < total {
					require.ErrorIs(t, err, updatetest.ErrCrashed, "crash after %d ops", n)
				}
				// Restart: unsynced writes are lost.
				r := m.Reboot()
				_, err = Recover(t.Context(), r)
				require.NoError(t, err, "recover after %d ops", n)
				got := currentDigest(t, r)
				switch got {
				case oldD:
					sawOld = true
				case newD:
					sawNew = true
				default:
					t.Fatalf("crash after %d ops: tree is neither old nor new", n)
				}
				ents, err := r.ReadDir(SlotsDir)
				require.NoError(t, err)
				require.LessOrEqual(t, len(ents), 2)
				// Re-running apply converges on the new tree.
				_, err = apply(t.Context(), r, tc.pkg, applyOpts(ring))
				require.NoError(t, err, "re-apply after crash at %d", n)
				require.Equal(t, newD, currentDigest(t, r))
			}
			require.True(t, sawOld)
			require.True(t, sawNew)
		})
	}
}

func TestApplyOSFS(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	fsys, dir := osTargetV1(t, k, ring)
	rep, err := apply(t.Context(), fsys, build(t, k, 4, []int{1, 2, 3}, baseOpts(4, KindBundle)), applyOpts(ring))
	require.NoError(t, err)
	require.Greater(t, rep.Reused, 0)
	st, err := ReadState(fsys)
	require.NoError(t, err)
	got, err := ScanTree(os.DirFS(filepath.Join(dir, st.Current.Dir())))
	require.NoError(t, err)
	require.Equal(t, treeDigestOf(t, versionTree(4)), TreeDigest(got))
	_, err = os.Stat(filepath.Join(dir, JournalFile))
	require.True(t, errors.Is(err, os.ErrNotExist))
}

func TestCrashDuringRollback(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	pkg := build(t, k, 2, []int{1}, baseOpts(2, KindDiff))
	oldD := treeDigestOf(t, versionTree(1))
	prepare := func() *updatetest.MemFS {
		m := installed(t, k, ring, 1)
		o := applyOpts(ring)
		o.MaxBootAttempts = 1
		_, err := apply(t.Context(), m, pkg, o)
		require.NoError(t, err)
		_, err = BootAttempt(t.Context(), m) // attempt 1 of 1
		require.NoError(t, err)
		m.SyncAll()
		return m
	}
	probe := prepare()
	start := probe.Ops()
	st, err := BootAttempt(t.Context(), probe) // exhausted: rolls back
	require.NoError(t, err)
	require.Equal(t, "1.1", st.Current.Version)
	total := probe.Ops() - start
	for n := 0; n < total; n++ {
		m := prepare()
		m.CrashAfter(n)
		_, err := BootAttempt(t.Context(), m)
		require.ErrorIs(t, err, updatetest.ErrCrashed)
		r := m.Reboot()
		st, err := BootAttempt(t.Context(), r) // the next boot finishes the job
		require.NoError(t, err, "crash after %d", n)
		require.False(t, st.Pending)
		require.Equal(t, "1.1", st.Current.Version)
		require.Equal(t, oldD, currentDigest(t, r))
	}
}
