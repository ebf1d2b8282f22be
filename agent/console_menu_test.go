package agent

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// menuRun drives ConsoleMenu with the given input lines and returns what
// it wrote once the input ends.
type menuCalls struct {
	mu      sync.Mutex
	net     []*StaticNetwork
	reboots int
}

func runMenu(t *testing.T, e *apiEnv, input string) (string, *menuCalls) {
	t.Helper()
	calls := &menuCalls{}
	var out bytes.Buffer
	cfg := &NetworkConfig{Interface: "eth0", Address: netip.MustParsePrefix("10.0.2.15/24"), Source: SourceDHCP}
	o := &ConsoleMenuOptions{Server: e.srv, Title: "acme 1.0",
		Addresses: func() []string { return []string{"https://" + cfg.Address.Addr().String() + ":9443"} },
		Network:   func() *NetworkConfig { return cfg },
		SetNetwork: func(ctx context.Context, s *StaticNetwork) (*NetworkConfig, error) {
			calls.mu.Lock()
			defer calls.mu.Unlock()
			calls.net = append(calls.net, s)
			if s == nil {
				return &NetworkConfig{Interface: "eth0", Address: netip.MustParsePrefix("10.0.2.15/24"), Source: SourceDHCP}, nil
			}
			cfg = &NetworkConfig{Interface: "eth0", Address: s.Address, Gateway: s.Gateway, DNS: s.DNS, Source: SourceStatic}
			return cfg, nil
		},
		Reboot: func() error { calls.mu.Lock(); calls.reboots++; calls.mu.Unlock(); return nil },
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := ConsoleMenu(ctx, strings.NewReader(input), &out, o)
	require.ErrorIs(t, err, io.EOF)
	return out.String(), calls
}

func TestConsoleMenuShowsTokenUntilClaimed(t *testing.T) {
	e := newAPIEnv(t, nil)
	tok := e.firstRunToken()
	out, _ := runMenu(t, e, "")
	require.Contains(t, out, "First-run token:    "+tok)
	require.Contains(t, out, "Certificate sha256: "+e.srv.Fingerprint())
	require.Contains(t, out, "Admin console:      https://10.0.2.15:9443")
	require.Contains(t, out, "Network:            eth0 10.0.2.15/24 via dhcp")

	// Before first run there is nothing to reset: the token claims it.
	out, _ = runMenu(t, e, "2\n")
	require.Contains(t, out, "not claimed yet")
	e.claim()
	out, _ = runMenu(t, e, "")
	require.NotContains(t, out, tok)
	require.Contains(t, out, "The appliance is claimed.")
}

func TestConsoleMenuResetsPassword(t *testing.T) {
	e := newAPIEnv(t, nil)
	old := e.claim()
	const newPass = "a brand new admin password"
	out, _ := runMenu(t, e, "2\nshort\nshort\n2\n"+newPass+"\nsomething else entirely\n2\n"+newPass+"\n"+newPass+"\n")
	require.Contains(t, out, "needs 12 characters or more")
	require.Contains(t, out, "The passwords differ")
	require.Contains(t, out, "The admin password is reset")
	require.NotContains(t, out, newPass, "nothing echoes the password")

	// The old session is gone; the old password fails, the new one works.
	requireAPIError(t, e.do("GET", "/api/v1/status", old, nil), http.StatusUnauthorized, CodeUnauthorized)
	requireAPIError(t, e.json("POST", "/api/v1/login", "", `{"password":"`+goodPassword+`"}`), http.StatusUnauthorized, CodeBadPassword)
	rec := e.json("POST", "/api/v1/login", "", `{"password":"`+newPass+`"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	// And it survives a restart.
	e.restart()
	require.Equal(t, http.StatusOK, e.json("POST", "/api/v1/login", "", `{"password":"`+newPass+`"}`).Code)
}

func TestConsoleMenuNetworkAndReboot(t *testing.T) {
	e := newAPIEnv(t, nil)
	e.claim()
	in := strings.Join([]string{
		"1", "s", "10.0.2.20/24", "10.0.2.2", "10.0.2.3, 192.0.2.53", // static
		"1", "s", "10.0.2.0/24", // network address: refused
		"1", "s", "10.0.2.21/24", "192.0.2.1", // gateway off the network: refused
		"1", "s", "10.0.2.22/24", "", "not-an-ip", // bad DNS: refused
		"1", "d", // DHCP
		"1", "x", // back
		"3", "no", // not confirmed
		"3", "yes",
	}, "\n") + "\n"
	out, calls := runMenu(t, e, in)
	require.Len(t, calls.net, 2)
	require.Equal(t, &StaticNetwork{Address: netip.MustParsePrefix("10.0.2.20/24"), Gateway: netip.MustParseAddr("10.0.2.2"),
		DNS: []netip.Addr{netip.MustParseAddr("10.0.2.3"), netip.MustParseAddr("192.0.2.53")}}, calls.net[0])
	require.Nil(t, calls.net[1], "DHCP")
	require.Contains(t, out, "Network: eth0 10.0.2.20/24 via static gateway 10.0.2.2 dns 10.0.2.3,192.0.2.53")
	require.Contains(t, out, "Not an IPv4 host address")
	require.Contains(t, out, "same network")
	require.Contains(t, out, `"not-an-ip" is not an IP address`)
	require.Equal(t, 1, calls.reboots)
}

// Nothing typed at the console reaches a shell or a command: every input
// the menu does not expect redraws it and changes nothing.
func TestConsoleMenuOffersNoShell(t *testing.T) {
	e := newAPIEnv(t, nil)
	e.claim()
	hostile := []string{"sh", "/bin/sh", "!sh", "bash -i", "$(reboot)", "`id`", "4", "0", "q", "exit", "\x03", "\x1b[A",
		strings.Repeat("A", 10000), "1; sh", "2 && sh", "3\x00yes"}
	out, calls := runMenu(t, e, strings.Join(hostile, "\n")+"\n")
	require.Empty(t, calls.net)
	require.Zero(t, calls.reboots)
	require.Equal(t, len(hostile), strings.Count(out, "Choose: "), "the first screen, then one redraw per line but the long one, which is dropped")
	rec := e.json("POST", "/api/v1/login", "", `{"password":"`+goodPassword+`"}`)
	require.Equal(t, http.StatusOK, rec.Code, "the password is unchanged")
}

func TestNetworkChoicePersists(t *testing.T) {
	dir := t.TempDir()
	s, err := LoadNetworkChoice(dir)
	require.NoError(t, err)
	require.Nil(t, s)
	want := &StaticNetwork{Address: netip.MustParsePrefix("192.0.2.10/24"), Gateway: netip.MustParseAddr("192.0.2.1")}
	require.NoError(t, SaveNetworkChoice(dir, want))
	got, err := LoadNetworkChoice(dir)
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.NoError(t, SaveNetworkChoice(dir, nil))
	got, err = LoadNetworkChoice(dir)
	require.NoError(t, err)
	require.Nil(t, got)
	require.NoError(t, SaveNetworkChoice(dir, nil), "DHCP twice")
	require.NoError(t, writeStateFile(dir, NetworkChoiceFile, []byte(`{"address":"x"}`), 0o600))
	_, err = LoadNetworkChoice(dir)
	require.ErrorIs(t, err, ErrState)
}

func TestResetPasswordRefusals(t *testing.T) {
	e := newAPIEnv(t, nil)
	require.ErrorIs(t, e.srv.ResetPassword(context.Background(), "a long enough password"), ErrNotClaimed)
	e.claim()
	require.ErrorIs(t, e.srv.ResetPassword(context.Background(), "short"), ErrWeakPassword)
}

// FuzzConsoleMenu types arbitrary bytes at the menu: it never panics,
// ends at the end of the input, and whatever reaches SetNetwork is a
// valid IPv4 host address.
func FuzzConsoleMenu(f *testing.F) {
	for _, s := range []string{"1\ns\n10.0.2.20/24\n10.0.2.2\n10.0.2.3\n", "1\nd\n", "2\nx\ny\n", "3\nyes\n", "sh\n", "\x03\x04\n", "1\ns\n1.2.3.0/24\n"} {
		f.Add([]byte(s))
	}
	srv, err := NewServer(&ServerOptions{StateDir: f.TempDir(), Product: apiProduct})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		o := &ConsoleMenuOptions{Server: srv,
			SetNetwork: func(ctx context.Context, s *StaticNetwork) (*NetworkConfig, error) {
				if s != nil && (!s.Address.Addr().Is4() || !isHostAddress(s.Address)) {
					t.Fatalf("SetNetwork got %v", s.Address)
				}
				return &NetworkConfig{Interface: "eth0", Source: SourceDHCP}, nil
			},
			Reboot: func() error { return nil }}
		err := ConsoleMenu(context.Background(), bytes.NewReader(in), io.Discard, o)
		if err != io.EOF {
			t.Fatalf("menu ended with %v", err)
		}
	})
}
