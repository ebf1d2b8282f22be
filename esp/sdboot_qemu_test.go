package esp_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/esp"
	"github.com/fogkit/fogkit/esp/esptest"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/internal/testutil/testinitrd"
)

// TestRealSystemdBootChooses boots ESPs laid out by this package under
// OVMF with the real systemd-boot (Debian's 252) and checks that it picks
// what the model in esptest picks: the newest entry with tries left,
// sequences compared as numbers (10 after 9), and the previous entry once
// the new one has none left. (The harness attaches disks read-only, so
// systemd-boot's own counter rename is not exercised here.)
func TestRealSystemdBootChooses(t *testing.T) {
	kernel := testutil.TestKernel(t)
	efi := testutil.RequireFile(t, "systemd-boot", "/usr/lib/systemd/boot/efi/systemd-bootx64.efi")
	testutil.RequireTool(t, "qemu-system-x86_64")
	if kernel == "" || efi == "" {
		return
	}
	initrdPath := testinitrd.File(t)

	for _, c := range []struct {
		newEntry string
		want     uint64
	}{
		{"fogkit-10+1.conf", 10},   // counted, newer: tried
		{"fogkit-10+0-3.conf", 9},  // no tries left: sorted last, the previous one boots
		{"fogkit-10+2-1.conf", 10}, // tried once, tries left
	} {
		t.Run(c.newEntry, func(t *testing.T) {
			nonce := testutil.NewNonce()
			cmdline := "console=ttyS0 no_timer_check fogkit.nonce=" + nonce
			text := func(seq uint64) string {
				return esp.EntryText(fmt.Sprint("slot ", seq), seq, cmdline+"-"+fmt.Sprint(seq))
			}
			spec := &disk.Spec{Loader: disk.SystemdBoot, EFI: disk.File{Path: efi},
				Kernel:     disk.File{Path: kernel, Name: esp.SlotDir(9) + "/" + esp.KernelFile},
				Initrds:    []disk.File{{Path: initrdPath, Name: esp.SlotDir(9) + "/" + esp.InitrdFile}},
				Entry:      &disk.Entry{ID: esp.EntryID(9), Text: text(9)},
				LoaderConf: esp.LoaderConf,
				Extra: []disk.File{
					{Path: kernel, Name: esp.SlotDir(10) + "/" + esp.KernelFile},
					{Path: initrdPath, Name: esp.SlotDir(10) + "/" + esp.InitrdFile},
					{Name: esp.EntriesDir + "/" + c.newEntry, R: strings.NewReader(text(10)), Size: int64(len(text(10)))},
				}}
			raw := filepath.Join(t.TempDir(), "esp.raw")
			_, err := disk.BuildFile(t.Context(), spec, raw, &disk.Options{Seed: nonce})
			require.NoError(t, err)
			// The model agrees before the firmware is asked.
			m := esptest.NewMemFS()
			m.WriteFile(esp.LoaderConfFile, []byte(esp.LoaderConf))
			for _, seq := range []uint64{9, 10} {
				m.WriteFile(esp.SlotDir(seq)+"/"+esp.KernelFile, []byte("k"))
				m.WriteFile(esp.SlotDir(seq)+"/"+esp.InitrdFile, []byte("i"))
			}
			m.WriteFile(esp.EntriesDir+"/fogkit-9.conf", []byte(text(9)))
			m.WriteFile(esp.EntriesDir+"/"+c.newEntry, []byte(text(10)))
			b, err := esptest.Choose(m)
			require.NoError(t, err)
			require.Equal(t, c.want, b.Seq, "model")

			res := testutil.Boot(t, testutil.BootOptions{Firmware: testutil.UEFI, Disk: raw,
				Marker: testutil.BootMarker(fmt.Sprintf("%s-%d", nonce, c.want)), Timeout: 240 * time.Second})
			require.Contains(t, res.Console, fmt.Sprintf("%s=%d", esp.SlotParam, c.want))
		})
	}
}
