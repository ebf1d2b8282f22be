package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/fogkit/fogkit/ovf"
)

// ErrStep: a boot setup step failed; the *StepError says which.
var ErrStep = errors.New("agent: boot setup step failed")

// StepError is one failed step of Setup; it matches ErrStep and the
// step's own error.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string   { return fmt.Sprintf("agent: setup %s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() []error { return []error{ErrStep, e.Err} }

// Setup steps, in the order they run.
const (
	StepMount    = "mount"
	StepModules  = "modules"
	StepOVFEnv   = "ovf-env"
	StepHostname = "hostname"
	StepNetwork  = "network"
	StepData     = "data"
)

// SetupOptions tune Setup. Nil means defaults everywhere. The roots let a
// test run Setup against a fake tree; an appliance leaves them empty.
type SetupOptions struct {
	// Root prefixes /etc and the release file; "" means "/". SysRoot,
	// DevRoot and ProcRoot default to /sys, /dev and /proc under it.
	Root     string `json:"root,omitempty"`
	SysRoot  string `json:"sysRoot,omitempty"`
	DevRoot  string `json:"devRoot,omitempty"`
	ProcRoot string `json:"procRoot,omitempty"`
	// ReleaseFile holds NAME= for the default hostname; "" means
	// /etc/fogkit/release, then /etc/os-release.
	ReleaseFile string `json:"releaseFile,omitempty"`
	// Hostname overrides the OVF environment's and the default.
	Hostname string `json:"hostname,omitempty"`
	// Skip names steps not to run (Step* constants), e.g. a vendor's
	// /init that mounts its own data.
	Skip []string `json:"skip,omitempty"`
	// Per-step options; nil means defaults. Their roots default to the
	// ones above.
	Modules *ModuleOptions  `json:"modules,omitempty"`
	OVFEnv  *OVFEnvOptions  `json:"ovfEnv,omitempty"`
	Network *NetworkOptions `json:"network,omitempty"`
	Data    *DataOptions    `json:"data,omitempty"`
}

// StepResult is one step's outcome.
type StepResult struct {
	Step     string        `json:"step"`
	OK       bool          `json:"ok"`
	Skipped  bool          `json:"skipped,omitempty"`
	Detail   string        `json:"detail,omitempty"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration"`
}

// SetupReport is what Setup did, step by step.
type SetupReport struct {
	Steps          []StepResult   `json:"steps"`
	Modules        *ModuleReport  `json:"modules,omitempty"`
	OVFEnv         *OVFEnv        `json:"ovfEnv,omitempty"`
	Hostname       string         `json:"hostname,omitempty"`
	HostnameSource string         `json:"hostnameSource,omitempty"`
	Network        *NetworkConfig `json:"network,omitempty"`
	Data           *DataDisk      `json:"data,omitempty"`
}

// String gives one console line a step: "setup <step>: ok|FAILED|skipped
// <detail>".
func (r *SetupReport) String() string {
	var b strings.Builder
	for _, s := range r.Steps {
		state := "ok"
		switch {
		case s.Skipped:
			state = "skipped"
		case !s.OK:
			state = "FAILED"
		}
		fmt.Fprintf(&b, "setup %-9s %s", s.Step+":", state)
		if s.Detail != "" {
			b.WriteString(" " + s.Detail)
		}
		if s.Error != "" {
			b.WriteString(": " + s.Error)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// setupEnv is what Setup reaches the kernel through; tests fake it.
type setupEnv struct {
	mount       mounter
	loadModules func(context.Context, *ModuleOptions) (*ModuleReport, error)
	setHostname func(string) error
	net         netOps
}

var sysSetupEnv = setupEnv{mount: sysMount, loadModules: LoadModules, setHostname: sysSetHostname, net: sysNetOps}

// Setup brings the appliance up from PID 1: it mounts the system file
// systems, loads the initramfs's kernel modules, reads the OVF
// environment if the hypervisor attached one, sets the hostname,
// configures the network and mounts the data disk, in that order. A step
// that fails is recorded and the next ones still run (a failed network
// does not keep the data disk from mounting); the error joins every
// failed step's *StepError. The report is never nil.
func Setup(ctx context.Context, opts *SetupOptions) (*SetupReport, error) {
	return setup(ctx, opts, sysSetupEnv)
}

func setup(ctx context.Context, opts *SetupOptions, env setupEnv) (*SetupReport, error) {
	var o SetupOptions
	if opts != nil {
		o = *opts
	}
	if o.Root == "" {
		o.Root = "/"
	}
	def := func(p *string, sub string) {
		if *p == "" {
			*p = filepath.Join(o.Root, sub)
		}
	}
	def(&o.SysRoot, "sys")
	def(&o.DevRoot, "dev")
	def(&o.ProcRoot, "proc")
	rep := &SetupReport{}
	var errs []error
	run := func(step string, f func() (string, error)) {
		for _, s := range o.Skip {
			if s == step {
				rep.Steps = append(rep.Steps, StepResult{Step: step, Skipped: true})
				return
			}
		}
		start := time.Now()
		detail, err := f()
		r := StepResult{Step: step, OK: err == nil, Detail: detail, Duration: time.Since(start)}
		if err != nil {
			r.Error = strings.ReplaceAll(err.Error(), "\n", "; ") // one console line a step
			errs = append(errs, &StepError{Step: step, Err: err})
		}
		rep.Steps = append(rep.Steps, r)
	}

	run(StepMount, func() (string, error) {
		return "/proc /sys /dev /run /tmp", mountSystem(o.Root, env.mount)
	})
	run(StepModules, func() (string, error) {
		mo := ModuleOptions{Root: o.Root}
		if o.Modules != nil {
			mo = *o.Modules
		}
		m, err := env.loadModules(ctx, &mo)
		rep.Modules = m
		if m == nil {
			return "", err
		}
		failed := m.Failed()
		loaded := 0
		for _, r := range m.Modules {
			if r.Loaded {
				loaded++
			}
		}
		d := fmt.Sprintf("%d loaded, %d failed", loaded, len(failed))
		if n := len(m.Modules) - loaded - len(failed); n > 0 {
			d += fmt.Sprintf(", %d with no device here", n)
		}
		for _, f := range failed {
			d += fmt.Sprintf("; %s: %s", filepath.Base(f.Path), f.Error)
		}
		return d, err
	})
	run(StepOVFEnv, func() (string, error) {
		eo := OVFEnvOptions{Wait: time.Second}
		if o.OVFEnv != nil {
			eo = *o.OVFEnv
		}
		eo.SysRoot, eo.DevRoot = or(eo.SysRoot, o.SysRoot), or(eo.DevRoot, o.DevRoot)
		e, err := ReadOVFEnvironment(ctx, &eo)
		if errors.Is(err, ErrNoOVFEnvironment) {
			return "none", nil
		}
		if err != nil {
			return "", err
		}
		rep.OVFEnv = e
		return fmt.Sprintf("%s, %d properties", e.Device, len(e.Env.Properties)), nil
	})
	run(StepHostname, func() (string, error) {
		rel := o.ReleaseFile
		name := ""
		if rel == "" {
			name = releaseName(filepath.Join(o.Root, "etc", "fogkit", "release"))
			if name == "" {
				name = releaseName(filepath.Join(o.Root, "etc", "os-release"))
			}
		} else {
			name = releaseName(rel)
		}
		h, src := chooseHostname(o.Hostname, envOf(rep.OVFEnv), name, o.SysRoot)
		rep.Hostname, rep.HostnameSource = h, src
		return h + " (from " + src + ")", env.setHostname(h)
	})
	run(StepNetwork, func() (string, error) {
		var no NetworkOptions
		if o.Network != nil {
			no = *o.Network
		}
		no.SysRoot, no.ResolvConf = or(no.SysRoot, o.SysRoot), or(no.ResolvConf, filepath.Join(o.Root, "etc", "resolv.conf"))
		if no.Environment == nil {
			no.Environment = envOf(rep.OVFEnv)
		}
		if no.Hostname == "" {
			no.Hostname = rep.Hostname
		}
		c, err := configureNetwork(ctx, &no, env.net)
		rep.Network = c
		if c == nil {
			return "", err
		}
		return c.String(), err
	})
	run(StepData, func() (string, error) {
		do := DataOptions{Wait: 3 * time.Second}
		if o.Data != nil {
			do = *o.Data
		}
		do.SysRoot, do.DevRoot, do.ProcRoot = or(do.SysRoot, o.SysRoot), or(do.DevRoot, o.DevRoot), or(do.ProcRoot, o.ProcRoot)
		do.Mountpoint = or(do.Mountpoint, filepath.Join(o.Root, "data"))
		if do.Mount == nil {
			do.Mount = env.mount
		}
		d, err := MountData(ctx, &do)
		rep.Data = d
		if d == nil {
			return "", err
		}
		s := fmt.Sprintf("%s label %s uuid %s size %d MiB on %s", d.Device, d.Label, d.UUID, d.Size>>20, d.Mountpoint)
		if d.Formatted {
			s += " (formatted now)"
		}
		return s, err
	})
	return rep, errors.Join(errs...)
}

// or returns a, or b when a is empty.
func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func envOf(e *OVFEnv) *ovf.Environment {
	if e == nil {
		return nil
	}
	return e.Env
}
