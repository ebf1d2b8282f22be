// Package agent is the appliance side of fogkit: the code that runs inside
// the customer's appliance, imported by the vendor's /init (PID 1) or admin
// service. It never imports the build side (package appliance), so an
// appliance image carries no build code.
//
// # At boot
//
// Setup brings the system up from PID 1, step by step, and reports each
// step (SetupReport.String gives one console line a step); a failed step
// does not stop the ones after it:
//
//   - mount: /proc, /sys, /dev (devtmpfs), /run and /tmp (MountSystem);
//   - modules: the kernel modules the build put in the initramfs, in
//     dependency order (LoadModules), so the appliance sees its disks and
//     network on VMware, VirtualBox and KVM alike;
//   - ovf-env: the OVF environment of the ISO transport, a CD-ROM holding
//     ovf-env.xml (ReadOVFEnvironment), when the hypervisor attached one;
//   - hostname: the options', else the OVF environment's, else the
//     release's NAME plus the first NIC's MAC suffix;
//   - network: static settings from the OVF environment (ip0, netmask0,
//     gateway, dns, searchDomains) or DHCP on the first Ethernet interface
//     with a link (ConfigureNetwork);
//   - data: the data disk, the ext4 file system labelled DefaultDataLabel,
//     found by its label and never by device order, mounted at /data
//     (noatime, nodev, nosuid, noexec, errors=remount-ro); a lone blank
//     disk is formatted first (MountData). Two candidates are refused
//     (ErrDataAmbiguous), and the disk holding an EFI system partition is
//     never considered.
//
// MountESP then checks (and if a power cut left it damaged, repairs; see
// esp.RepairFAT and ESPMount.Repaired) and mounts the EFI system partition
// the loader booted from, read-only; ESPMount.SetWritable opens the short windows in which the
// updater writes it, so a power cut outside them leaves a clean FAT.
//
// # Updates and automatic revert
//
// NewESPUpdater returns the Updater the admin API installs packages with:
// Install verifies a package, stages its boot tree as a slot on the data
// disk (package update) and writes it to the ESP as a boot-counted
// systemd-boot entry (package esp), leaving the running version untouched.
// Boot, called once per boot with the vendor's health check, blesses the
// new version when it runs and is healthy, or, when systemd-boot has spent
// the new entry's tries and fallen back, records the version as failed and
// removes it. The kernel command line carries panic=, so an /init that
// exits or crashes reboots into the next try; an /init that hangs should
// arm a watchdog before Boot and feed it only after blessing.
//
// # After boot
//
// NewServer opens (on the first start, initialises) the admin API's state
// on the data disk, and Server.Serve serves it over HTTPS on DefaultPort
// (9443): first-run, login, status, license, update, reboot, support
// bundle, backup and restore, described on Server.Handler. LicenseGate is
// net/http middleware for the vendor's
// app that answers 402 with a stable code unless the license (shared with
// the API through Server.Licenses) is usable now.
//
// With ServerOptions.Support, GET /api/v1/support-bundle streams a bundle
// made by package support (status and update history, kernel log, system
// facts and the vendor's sources; capped and redacted) encrypted to the
// vendor's support key. With ServerOptions.Backup, POST /api/v1/backup
// streams a backup of the app's data tree (package backup) encrypted to
// the customer's passphrase or keys, and POST /api/v1/restore checks one
// completely while staging it and swaps it in atomically. The agent's own
// state directory is in neither: credentials stay with the appliance.
//
// The same port serves the web console under /ui/ (WebOptions): first
// run, sign in, status and update history, license, update with a
// progress bar, reboot, support bundle, backup and restore, through the
// same code and rules as the API. ConsoleMenu runs on the VM's terminals
// (OpenTTY): address, first-run token until claimed, certificate
// fingerprint; DHCP or a static address (SaveNetworkChoice), a password
// reset (Server.ResetPassword, never reachable from the network), reboot.
//
// # The order a vendor's /init calls them in
//
//	rep, err := agent.Setup(ctx, nil)                    // mounts, drivers, network, /data
//	m, err := agent.MountESP(ctx, nil)                   // read-only at /boot/efi
//	upd, err := agent.NewESPUpdater(&agent.ESPUpdaterOptions{
//		ESPDir: m.Mountpoint, StateDir: "/data/fogkit/update",
//		UpdateKey: updatePub, ESPWritable: m.SetWritable})
//	srv, err := agent.NewServer(&agent.ServerOptions{StateDir: "/data/fogkit/admin",
//		DataDir: "/data", Product: product, LicensePublicKey: licensePub,
//		Updater: upd, Reboot: reboot, Console: console,
//		Support: &agent.SupportOptions{Key: supportPub},
//		Backup: &agent.BackupOptions{Dir: "/data/app"}})
//	go srv.Serve(ctx, adminListener)                     // :9443
//	go http.Serve(appListener, agent.LicenseGate(srv.Licenses(), nil)(app))
//	res, err := upd.Boot(ctx, health)                    // bless, or record the fallback
//
// examples/pipeline/demoinit is a complete /init in this order.
//
// # Security model
//
// Nobody on the network can claim a new appliance: the first start prints a
// one-time first-run token on the console only and stores its hash; until
// it has set the admin password (MinPasswordLength characters or more),
// every other endpoint answers first_run_required. There is no default
// password. The admin API authenticates by bearer token in the
// Authorization header only, never cookies (the web console under /ui/
// keeps the same kind of session in a __Host- SameSite=Strict cookie and
// guards every form with a session-bound CSRF token); it refuses cross-origin
// requests, backs off failed attempts per address (429 with Retry-After),
// stores the password as a salted Argon2id hash and tokens as SHA-256
// hashes, streams uploads to disk under size caps (DefaultMaxUpdateSize,
// DefaultMaxLicenseSize), answers every refusal with a stable code and no
// change, and logs nothing. Its TLS certificate is generated on the first
// start and trusted by the fingerprint printed on the console. Licenses and
// update packages are verified against the vendor's public keys baked into
// the image before anything is stored.
package agent
