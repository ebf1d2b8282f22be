package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// ConsoleMenuOptions configure ConsoleMenu. Server is required; a nil
// function hides its menu item.
type ConsoleMenuOptions struct {
	// Server is the admin API whose first-run token, certificate
	// fingerprint and password the menu shows and resets.
	Server *Server `json:"-"`
	// Title heads the screen, e.g. "fogdemo 2.0.0".
	Title string `json:"title,omitempty"`
	// Addresses returns where the admin console answers, e.g.
	// "https://192.0.2.10:9443".
	Addresses func() []string `json:"-"`
	// Network returns the network configuration in force.
	Network func() *NetworkConfig `json:"-"`
	// SetNetwork applies and keeps a new configuration: static when s is
	// set, DHCP when it is nil.
	SetNetwork func(ctx context.Context, s *StaticNetwork) (*NetworkConfig, error) `json:"-"`
	// Reboot restarts the appliance.
	Reboot func() error `json:"-"`
}

// Echoer is what a terminal offers to hide a password as it is typed;
// ConsoleMenu uses it when its input has it (see TTY).
type Echoer interface {
	SetEcho(on bool) error
}

// maxMenuLine caps one line of console input.
const maxMenuLine = 4096

// ConsoleMenu runs the VM console's menu on a terminal (tty1 or the serial
// console) until ctx ends or the input closes. It shows the appliance's
// address, the first-run token until the appliance is claimed, and the
// certificate fingerprint, and lets the person at the console switch
// between DHCP and a static address, reset the admin password, and
// reboot. It offers nothing else: no shell, no command, no file; input it
// does not expect only redraws the menu.
func ConsoleMenu(ctx context.Context, in io.Reader, out io.Writer, o *ConsoleMenuOptions) error {
	if o == nil || o.Server == nil {
		return fmt.Errorf("%w: the console menu needs the admin API's server", ErrConfig)
	}
	m := &menu{ctx: ctx, o: o, out: out, lines: make(chan string), errc: make(chan error, 1)}
	m.echo, _ = in.(Echoer)
	go m.read(in)
	for {
		m.screen()
		line, err := m.line("Choose: ")
		if err != nil {
			return err
		}
		switch line {
		case "1":
			err = m.network()
		case "2":
			err = m.resetPassword()
		case "3":
			err = m.reboot()
		}
		if err != nil {
			return err
		}
	}
}

type menu struct {
	ctx   context.Context
	o     *ConsoleMenuOptions
	out   io.Writer
	echo  Echoer
	lines chan string
	errc  chan error
}

// read turns the input into lines; a line over maxMenuLine is dropped
// whole (it is nothing the menu asks for).
func (m *menu) read(in io.Reader) {
	br := bufio.NewReaderSize(in, maxMenuLine)
	long := false
	for {
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = true
			continue
		}
		if len(b) > 0 && err == nil {
			if !long {
				select {
				case m.lines <- strings.TrimSpace(string(b)):
				case <-m.ctx.Done():
					return
				}
			}
			long = false
		}
		if err != nil {
			m.errc <- err
			return
		}
	}
}

func (m *menu) line(prompt string) (string, error) {
	fmt.Fprint(m.out, prompt)
	select {
	case l := <-m.lines:
		return l, nil
	case err := <-m.errc:
		m.errc <- err // later calls see it too
		return "", err
	case <-m.ctx.Done():
		return "", m.ctx.Err()
	}
}

func (m *menu) screen() {
	o := m.o
	var b strings.Builder
	b.WriteString("\n========================================================================\n")
	if o.Title != "" {
		fmt.Fprintf(&b, " %s\n", o.Title)
	}
	if o.Addresses != nil {
		for _, a := range o.Addresses() {
			fmt.Fprintf(&b, " Admin console:      %s\n", a)
		}
	}
	fmt.Fprintf(&b, " Certificate sha256: %s\n", o.Server.Fingerprint())
	if tok := o.Server.FirstRunToken(); tok != "" {
		fmt.Fprintf(&b, " First-run token:    %s\n", tok)
	} else {
		b.WriteString(" The appliance is claimed.\n")
	}
	if o.Network != nil {
		if c := o.Network(); c != nil {
			fmt.Fprintf(&b, " Network:            %s\n", c)
		} else {
			b.WriteString(" Network:            not configured\n")
		}
	}
	b.WriteString("------------------------------------------------------------------------\n")
	if o.SetNetwork != nil {
		b.WriteString(" 1) Network: DHCP or a static address\n")
	}
	b.WriteString(" 2) Reset the admin password\n")
	if o.Reboot != nil {
		b.WriteString(" 3) Reboot\n")
	}
	b.WriteString("========================================================================\n")
	io.WriteString(m.out, b.String())
}

func (m *menu) network() error {
	if m.o.SetNetwork == nil {
		return nil
	}
	choice, err := m.line("Network: d) DHCP, s) static address, anything else) back: ")
	if err != nil {
		return err
	}
	var static *StaticNetwork
	switch strings.ToLower(choice) {
	case "d":
	case "s":
		if static, err = m.askStatic(); err != nil || static == nil {
			return err
		}
	default:
		return nil
	}
	c, err := m.o.SetNetwork(m.ctx, static)
	if err != nil {
		fmt.Fprintf(m.out, "The network was not changed: %v\n", err)
		return nil
	}
	fmt.Fprintf(m.out, "Network: %s\n", c)
	return nil
}

// askStatic reads a static configuration; nil without error means the
// admin gave up on a bad value.
func (m *menu) askStatic() (*StaticNetwork, error) {
	a, err := m.line("Address with prefix length (192.0.2.10/24): ")
	if err != nil {
		return nil, err
	}
	p, err := netip.ParsePrefix(a)
	if err != nil || !p.Addr().Is4() || !isHostAddress(p) {
		fmt.Fprintln(m.out, "Not an IPv4 host address with a prefix length; nothing changed.")
		return nil, nil
	}
	s := &StaticNetwork{Address: p}
	g, err := m.line("Gateway (empty for none): ")
	if err != nil {
		return nil, err
	}
	if g != "" {
		if s.Gateway, err = netip.ParseAddr(g); err != nil || !s.Gateway.Is4() || !p.Contains(s.Gateway) {
			fmt.Fprintln(m.out, "The gateway must be an IPv4 address on the same network; nothing changed.")
			return nil, nil
		}
	}
	d, err := m.line("DNS servers, comma-separated (empty for none): ")
	if err != nil {
		return nil, err
	}
	for _, f := range splitList(d) {
		ip, err := netip.ParseAddr(f)
		if err != nil {
			fmt.Fprintf(m.out, "%q is not an IP address; nothing changed.\n", f)
			return nil, nil
		}
		s.DNS = append(s.DNS, ip)
	}
	return s, nil
}

func (m *menu) resetPassword() error {
	if !m.o.Server.Claimed() {
		fmt.Fprintln(m.out, "The appliance is not claimed yet: use the first-run token above.")
		return nil
	}
	if m.echo != nil {
		_ = m.echo.SetEcho(false)
		defer m.echo.SetEcho(true)
	}
	p1, err := m.line(fmt.Sprintf("New admin password (%d characters or more): ", MinPasswordLength))
	if err != nil {
		return err
	}
	fmt.Fprintln(m.out)
	p2, err := m.line("The same again: ")
	if err != nil {
		return err
	}
	fmt.Fprintln(m.out)
	switch {
	case p1 != p2:
		fmt.Fprintln(m.out, "The passwords differ; nothing changed.")
	case !checkPassword(p1):
		fmt.Fprintf(m.out, "The password needs %d characters or more; nothing changed.\n", MinPasswordLength)
	default:
		if err := m.o.Server.ResetPassword(m.ctx, p1); err != nil {
			fmt.Fprintf(m.out, "The password was not changed: %v\n", err)
			return nil
		}
		fmt.Fprintln(m.out, "The admin password is reset; every session was signed out.")
	}
	return nil
}

func (m *menu) reboot() error {
	if m.o.Reboot == nil {
		return nil
	}
	yes, err := m.line("Reboot now? Type yes: ")
	if err != nil || yes != "yes" {
		return err
	}
	fmt.Fprintln(m.out, "Rebooting.")
	if err := m.o.Reboot(); err != nil {
		fmt.Fprintf(m.out, "Reboot failed: %v\n", err)
	}
	return nil
}

// NetworkChoiceFile is where SaveNetworkChoice keeps the console's
// choice, under a state directory on the data disk.
const NetworkChoiceFile = "network.json"

// SaveNetworkChoice keeps the admin's network choice (static, or nil for
// DHCP) in dir so LoadNetworkChoice applies it at the next boot.
func SaveNetworkChoice(dir string, s *StaticNetwork) error {
	if s == nil {
		err := os.Remove(filepath.Join(dir, NetworkChoiceFile))
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := ensureStateDir(dir); err != nil {
		return err
	}
	return writeStateFile(dir, NetworkChoiceFile, append(b, '\n'), 0o600)
}

// LoadNetworkChoice returns the static configuration SaveNetworkChoice
// kept in dir, or nil when the choice is DHCP (or none was made).
func LoadNetworkChoice(dir string) (*StaticNetwork, error) {
	b, err := readState(dir, NetworkChoiceFile, 64<<10)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s StaticNetwork
	if err := json.Unmarshal(b, &s); err != nil || !s.Address.IsValid() || !s.Address.Addr().Is4() {
		return nil, fmt.Errorf("%w: %s is not a static network configuration", ErrState, NetworkChoiceFile)
	}
	return &s, nil
}
