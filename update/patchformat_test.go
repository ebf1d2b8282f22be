package update

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update/delta"
	"github.com/stretchr/testify/require"
)

// deltaOpts makes files of 50 KB and more (the kernel) use fkdelta1 and
// smaller ones BSDIFF40, so small test trees carry both formats.
func deltaOpts(v int, kind Kind) *BuildOptions {
	o := baseOpts(v, kind)
	o.DeltaThreshold = 50_000
	return o
}

// formatsOf counts the patch formats of a manifest's files.
func formatsOf(m *Manifest) map[string]int {
	out := map[string]int{}
	for _, s := range m.Steps {
		for _, f := range s.Files {
			if f.Op == OpPatch {
				name := f.PatchFormat
				if name == "" {
					name = PatchFormatBsdiff
				}
				out[name]++
			}
		}
	}
	return out
}

func TestBundleMixingPatchFormats(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	var buf bytes.Buffer
	br, err := Build(t.Context(), &buf, []sign.Signer{k}, tree(4), []Tree{tree(1), tree(2), tree(3)}, deltaOpts(4, KindBundle))
	require.NoError(t, err)
	got := formatsOf(br.Manifest)
	require.Positive(t, got[PatchFormatBsdiff], "formats %v", got)
	require.Positive(t, got[PatchFormatDelta], "formats %v", got)
	require.Equal(t, []Requirement{{Feature: "patchFormat:fkdelta1", Since: "1.1"}}, br.Manifest.Requires)
	pkg := buf.Bytes()
	want := treeDigestOf(t, versionTree(4))
	for from := 1; from <= 3; from++ {
		t.Run("from-v"+string(rune('0'+from)), func(t *testing.T) {
			m := installed(t, k, ring, from)
			rep, err := apply(t.Context(), m, pkg, applyOpts(ring))
			require.NoError(t, err)
			require.Equal(t, 4-from, rep.Steps)
			require.Positive(t, rep.Patched)
			require.Equal(t, want, currentDigest(t, m))
		})
	}
	// Deterministic: the same inputs give the same package.
	var again bytes.Buffer
	_, err = Build(t.Context(), &again, []sign.Signer{k}, tree(4), []Tree{tree(1), tree(2), tree(3)}, deltaOpts(4, KindBundle))
	require.NoError(t, err)
	require.Equal(t, pkg, again.Bytes())
}

func TestPatchFormatOptions(t *testing.T) {
	k := testSigner(t, 1)
	for _, tc := range []struct {
		name   string
		o      func(*BuildOptions)
		bsdiff bool
		delta  bool
	}{
		{"default threshold keeps small files on bsdiff", func(o *BuildOptions) {}, true, false},
		{"forced bsdiff", func(o *BuildOptions) { o.PatchFormat = PatchFormatBsdiff; o.DeltaThreshold = 1 }, true, false},
		{"forced delta", func(o *BuildOptions) { o.PatchFormat = PatchFormatDelta }, false, true},
		{"try both", func(o *BuildOptions) { o.TryBoth = true }, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := baseOpts(2, KindDiff)
			tc.o(o)
			var buf bytes.Buffer
			br, err := Build(t.Context(), &buf, []sign.Signer{k}, tree(2), []Tree{tree(1)}, o)
			require.NoError(t, err)
			got := formatsOf(br.Manifest)
			if tc.name == "try both" {
				// Each file keeps the smaller of its two patches.
				require.Positive(t, got[PatchFormatBsdiff]+got[PatchFormatDelta], "formats %v", got)
			} else {
				require.Equal(t, tc.bsdiff, got[PatchFormatBsdiff] > 0, "formats %v", got)
				require.Equal(t, tc.delta, got[PatchFormatDelta] > 0, "formats %v", got)
			}
			require.Equal(t, got[PatchFormatDelta] > 0, len(br.Manifest.Requires) == 1)
			m := installed(t, k, testRing(t, k), 1)
			_, err = apply(t.Context(), m, buf.Bytes(), applyOpts(testRing(t, k)))
			require.NoError(t, err)
			require.Equal(t, treeDigestOf(t, versionTree(2)), currentDigest(t, m))
		})
	}
	_, err := Build(t.Context(), io.Discard, []sign.Signer{k}, tree(2), []Tree{tree(1)}, &BuildOptions{Vendor: "a", Product: "b", Version: "1", Sequence: 1, Kind: KindDiff, PatchFormat: "xdelta"})
	require.ErrorIs(t, err, ErrUnsupported)
}

// rewrite re-signs pkg after edit changes its manifest and payload.
func rewrite(t *testing.T, k sign.Signer, pkg []byte, edit func(m *Manifest, payload []byte) []byte) []byte {
	t.Helper()
	m := readManifest(t, pkg)
	payload := edit(m, payloadOf(t, pkg))
	return assemble(t, k, m, payload)
}

func TestUnknownPatchFormatRefusedBeforeWriting(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	pkg := build(t, k, 2, []int{1}, deltaOpts(2, KindDiff))
	// A package from a future fogkit: a patch format this applier does not
	// know, declared with the revision that added it.
	future := rewrite(t, k, pkg, func(m *Manifest, payload []byte) []byte {
		for i, f := range m.Steps[0].Files {
			if f.PatchFormat == PatchFormatDelta {
				m.Steps[0].Files[i].PatchFormat = "fkdelta9"
			}
		}
		m.Requires = []Requirement{{Feature: "patchFormat:fkdelta9", Since: "1.7"}}
		return payload
	})
	m := installed(t, k, ring, 1)
	err := refused(t, m, future, applyOpts(ring), ErrUnknownFormat)
	var fe *FormatError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "patchFormat:fkdelta9", fe.Feature)
	require.Equal(t, "1.7", fe.Since)
	require.Contains(t, err.Error(), "fkdelta9")
	require.Contains(t, err.Error(), "fogkit package format 1.7")
	// Verify says the same, without a target.
	_, err = Verify(t.Context(), bytes.NewReader(future), int64(len(future)), &applyOpts(ring).VerifyOptions)
	require.ErrorIs(t, err, ErrUnknownFormat)

	// A file in an unknown format that the requirements do not declare
	// is still refused, naming the format.
	undeclared := rewrite(t, k, pkg, func(m *Manifest, payload []byte) []byte {
		for i, f := range m.Steps[0].Files {
			if f.PatchFormat == PatchFormatDelta {
				m.Steps[0].Files[i].PatchFormat = "fkdelta9"
			}
		}
		return payload
	})
	err = refused(t, m, undeclared, applyOpts(ring), ErrUnknownFormat)
	require.Contains(t, err.Error(), "fkdelta9")

	// fkdelta1 without its requirement, or a requirement nothing uses,
	// is malformed.
	missing := rewrite(t, k, pkg, func(m *Manifest, payload []byte) []byte {
		m.Requires = nil
		return payload
	})
	refused(t, m, missing, applyOpts(ring), ErrMalformed)
	bsdiffOnly := build(t, k, 2, []int{1}, baseOpts(2, KindDiff))
	unused := rewrite(t, k, bsdiffOnly, func(m *Manifest, payload []byte) []byte {
		m.Requires = []Requirement{{Feature: "patchFormat:fkdelta1", Since: "1.1"}}
		return payload
	})
	refused(t, m, unused, applyOpts(ring), ErrMalformed)
	// The genuine package applies.
	_, err = apply(t.Context(), m, pkg, applyOpts(ring))
	require.NoError(t, err)
}

func TestBsdiffOnlyPackagesUnchanged(t *testing.T) {
	// Packages without fkdelta1 carry neither patchFormat nor requires,
	// so appliers that predate them read them.
	k := testSigner(t, 1)
	pkg := build(t, k, 2, []int{1}, baseOpts(2, KindDiff))
	sp := memberSpans(t, pkg)[MemberManifest]
	mb := string(pkg[sp[0] : sp[0]+sp[1]])
	require.NotContains(t, mb, "patchFormat")
	require.NotContains(t, mb, "requires")
}

// TestHostileDeltaMember re-signs packages whose fkdelta1 member is
// corrupt (so the payload and member digests match): Apply must fail
// with a typed error and leave the installed version current.
func TestHostileDeltaMember(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	pkg := build(t, k, 2, []int{1}, deltaOpts(2, KindDiff))
	for _, tc := range []struct {
		name string
		edit func(p []byte) []byte
		want []error
	}{
		{"flipped byte in a stream", func(p []byte) []byte { p[len(p)-3] ^= 0xff; return p }, []error{ErrMalformed, ErrTooLarge, ErrDigestMismatch}},
		{"wrong old digest", func(p []byte) []byte { p[30] ^= 1; return p }, []error{ErrBaseMismatch}},
		{"wrong new digest", func(p []byte) []byte { p[70] ^= 1; return p }, []error{ErrMalformed}},
		{"truncated", func(p []byte) []byte { return p[:len(p)-5] }, []error{ErrMalformed}},
		{"trailing data", func(p []byte) []byte { return append(p, 0) }, []error{ErrMalformed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := rewrite(t, k, pkg, func(m *Manifest, payload []byte) []byte {
				return rewritePayload(t, m, payload, tc.edit)
			})
			m := installed(t, k, ring, 1)
			before := currentDigest(t, m)
			_, err := apply(t.Context(), m, bad, applyOpts(ring))
			require.Error(t, err)
			ok := false
			for _, w := range tc.want {
				ok = ok || errors.Is(err, w)
			}
			require.True(t, ok, "unexpected error %v", err)
			require.Equal(t, before, currentDigest(t, m))
			st, err := ReadState(m)
			require.NoError(t, err)
			require.False(t, st.Pending)
		})
	}
}

// rewritePayload applies edit to every fkdelta1 member of a plain
// payload and updates the manifest's member sizes and digests.
func rewritePayload(t *testing.T, m *Manifest, payload []byte, edit func([]byte) []byte) []byte {
	t.Helper()
	delta1 := map[string]int{}
	for j, f := range m.Steps[0].Files {
		if f.PatchFormat == PatchFormatDelta {
			delta1[stepMember(0, f.Path)] = j
		}
	}
	require.NotEmpty(t, delta1)
	tr := tar.NewReader(bytes.NewReader(payload))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		if j, ok := delta1[h.Name]; ok {
			_, err := delta.ReadHeader(bytes.NewReader(b))
			require.NoError(t, err)
			b = edit(bytes.Clone(b))
			sum := sha256.Sum256(b)
			m.Steps[0].Files[j].DataSize, m.Steps[0].Files[j].DataSHA256 = int64(len(b)), hex.EncodeToString(sum[:])
			h.Size = int64(len(b))
		}
		require.NoError(t, tw.WriteHeader(h))
		_, err = tw.Write(b)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return out.Bytes()
}
