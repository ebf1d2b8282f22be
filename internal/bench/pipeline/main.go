// Command pipeline times fogkit's reference pipeline, stage by stage, beside
// the same build scripted with the command-line tools a vendor would
// otherwise use: cpio | gzip for the initramfs, sgdisk + mkfs.fat + mtools for
// the boot disk, qemu-img for the VMDKs, and sha256sum + openssl + tar for
// the OVA. Both builds run in the same invocation, on the same inputs.
//
//	go run ./internal/bench/pipeline -kernel /path/to/vmlinuz [-runs 3]
//
// Run it from the repository root (the pipeline builds its demo /init there).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	kernel := flag.String("kernel", os.Getenv("FOGKIT_TEST_KERNEL"), "kernel for both builds")
	efi := flag.String("efi", "/usr/lib/systemd/boot/efi/systemd-bootx64.efi", "systemd-boot binary")
	runs := flag.Int("runs", 3, "runs of each build (the best is reported)")
	flag.Parse()
	if *kernel == "" {
		fail("need -kernel (or FOGKIT_TEST_KERNEL)")
	}
	for _, tool := range []string{"cpio", "gzip", "sgdisk", "mkfs.fat", "mcopy", "mmd", "qemu-img", "openssl", "tar", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			fail("missing tool " + tool + " (apt-get install cpio gdisk dosfstools mtools qemu-utils openssl tar coreutils)")
		}
	}
	work, err := os.MkdirTemp("", "fogkit-bench-pipeline-")
	check(err)
	defer os.RemoveAll(work)

	bin := filepath.Join(work, "pipeline")
	run("", "go", "build", "-o", bin, "./examples/pipeline")
	// A warm-up run creates the keys and fills the build cache for /init.
	keys := filepath.Join(work, "keys")
	// gzip on both sides: the command-line build is cpio | gzip.
	common := []string{"-q", "-kernel", *kernel, "-efi", *efi, "-keys", keys, "-epoch", "1790000000", "-compress", "gzip"}
	run("", bin, append(common, "-out", filepath.Join(work, "warm"))...)

	ours := map[string]time.Duration{}
	for i := 0; i < *runs; i++ {
		out := filepath.Join(work, fmt.Sprintf("ours-%d", i))
		t0 := time.Now()
		stdout := run("", bin, append(common, "-out", out)...)
		best(ours, "total", time.Since(t0))
		for stage, d := range parseTimings(stdout) {
			best(ours, stage, d)
		}
	}
	tools := map[string]time.Duration{}
	for i := 0; i < *runs; i++ {
		for stage, d := range scripted(work, filepath.Join(work, "warm"), keys, *kernel, *efi, i) {
			best(tools, stage, d)
		}
	}
	fmt.Printf("fogkit pipeline vs the same build scripted with command-line tools (best of %d)\n\n", *runs)
	fmt.Printf("| stage | fogkit | command-line tools | tools used |\n|---|---:|---:|---|\n")
	rows := []struct{ stage, tools string }{
		{"init", "(go build in both; not repeated for the tools)"},
		{"rootfs", "find \\| cpio -o -H newc \\| gzip -6"},
		{"disk", "truncate + sgdisk + mkfs.fat --offset + mmd/mcopy"},
		{"vmdk", "qemu-img convert -O vmdk -o subformat=streamOptimized (+ qemu-img create for the data disk)"},
		{"ova", "sha256sum + openssl dgst -sha256 -sign + tar --format=ustar"},
		{"update", "(no command-line equivalent timed)"},
		{"rootfs+disk+vmdk+ova", "the stages both builds do"},
		{"total", "the whole pipeline run (keys, init, license, update and build.json included)"},
	}
	for _, s := range []string{"rootfs", "disk", "vmdk", "ova"} {
		tools["rootfs+disk+vmdk+ova"] += tools[s]
		ours["rootfs+disk+vmdk+ova"] += ours[s]
	}
	for _, r := range rows {
		fmt.Printf("| %s | %s | %s | %s |\n", r.stage, ms(ours[r.stage]), ms(tools[r.stage]), r.tools)
	}
}

// scripted builds the same appliance with shell tools from the warm-up
// build's inputs and returns each stage's wall time.
func scripted(work, ref, keys, kernel, efi string, i int) map[string]time.Duration {
	dir := filepath.Join(work, fmt.Sprintf("tools-%d", i))
	root := filepath.Join(dir, "root")
	check(os.MkdirAll(root, 0o755))
	// The same root tree, unpacked from our initrd (not timed).
	// cpio cannot make device nodes without CAP_MKNOD; everything else
	// must unpack, and an empty tree would make the comparison meaningless.
	shell(root, "gzip -dc "+q(filepath.Join(ref, "initrd.img"))+" | cpio -idm --quiet --no-absolute-filenames 2>/dev/null || true")
	if _, err := os.Stat(filepath.Join(root, "init")); err != nil {
		fail("the reference initrd did not unpack: " + err.Error())
	}
	t := map[string]time.Duration{}

	t0 := time.Now()
	shell(root, "find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -6 > "+q(filepath.Join(dir, "initrd.img")))
	t["rootfs"] = time.Since(t0)

	raw := filepath.Join(dir, "boot.raw")
	t0 = time.Now()
	shell(dir, strings.Join([]string{
		"truncate -s 40M boot.raw",
		"sgdisk -q -n 1:2048:-1M -t 1:ef00 boot.raw >/dev/null",
		"mkfs.fat -F 32 --offset 2048 boot.raw 38912 >/dev/null",
		"export MTOOLS_SKIP_CHECK=1",
		"mmd -i boot.raw@@1M ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries",
		"printf 'timeout 0\\ndefault fogkit.conf\\n' > loader.conf",
		"printf 'title fogkit\\nlinux /vmlinuz\\ninitrd /initrd.img\\noptions console=ttyS0\\n' > fogkit.conf",
		"mcopy -i boot.raw@@1M " + q(efi) + " ::/EFI/BOOT/BOOTX64.EFI",
		"mcopy -i boot.raw@@1M loader.conf ::/loader/loader.conf",
		"mcopy -i boot.raw@@1M fogkit.conf ::/loader/entries/fogkit.conf",
		"mcopy -i boot.raw@@1M " + q(kernel) + " ::/vmlinuz",
		"mcopy -i boot.raw@@1M initrd.img ::/initrd.img",
	}, " && "))
	t["disk"] = time.Since(t0)

	t0 = time.Now()
	run(dir, "qemu-img", "convert", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, "app-boot.vmdk")
	run(dir, "qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=streamOptimized", "app-data.vmdk", "20G")
	t["vmdk"] = time.Since(t0)

	ovf, err := os.ReadFile(filepath.Join(ref, "fogdemo.ovf"))
	check(err)
	check(os.WriteFile(filepath.Join(dir, "app.ovf"), ovf, 0o644))
	t0 = time.Now()
	shell(dir, strings.Join([]string{
		"for f in app.ovf app-boot.vmdk app-data.vmdk; do printf 'SHA256(%s)= %s\\n' $f $(sha256sum $f | cut -d' ' -f1); done > app.mf",
		"printf 'SHA256(app.mf)= %s\\n' $(openssl dgst -sha256 -sign " + q(filepath.Join(keys, "ova.key")) + " app.mf | od -An -tx1 | tr -d ' \\n') > app.cert",
		"cat " + q(filepath.Join(keys, "ova.crt")) + " >> app.cert",
		"tar --format=ustar -cf app.ova app.ovf app.mf app.cert app-boot.vmdk app-data.vmdk",
	}, " && "))
	t["ova"] = time.Since(t0)
	check(os.RemoveAll(dir))
	return t
}

// parseTimings reads the "stage timings:" block the pipeline prints.
func parseTimings(out string) map[string]time.Duration {
	m := map[string]time.Duration{}
	sc := bufio.NewScanner(strings.NewReader(out))
	in := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "stage timings:") {
			in = true
			continue
		}
		if !in {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			break
		}
		if d, err := time.ParseDuration(f[1]); err == nil {
			m[f[0]] = d
		}
	}
	return m
}

func best(m map[string]time.Duration, k string, d time.Duration) {
	if old, ok := m[k]; !ok || d < old {
		m[k] = d
	}
}

func ms(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func q(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func shell(dir, script string) { run(dir, "bash", "-c", "set -euo pipefail; "+script) }

func run(dir, name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		fail(fmt.Sprintf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String()))
	}
	return out.String()
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "bench/pipeline:", msg)
	os.Exit(1)
}
