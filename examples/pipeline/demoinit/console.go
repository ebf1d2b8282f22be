//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/fogkit/fogkit/agent"
)

// networkStateDir keeps the console menu's network choice on the data
// disk, so a static address survives reboots and updates.
const networkStateDir = dataDir + "/fogkit/network"

// consoleNet is the network configuration in force, shared by the menus
// on both terminals.
type consoleNet struct {
	mu  sync.Mutex
	cfg *agent.NetworkConfig
}

func (n *consoleNet) get() *agent.NetworkConfig {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cfg
}

// set applies a static address (or DHCP for nil), keeps the choice on the
// data disk, and remembers what is in force.
func (n *consoleNet) set(ctx context.Context, s *agent.StaticNetwork) (*agent.NetworkConfig, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, err := agent.ConfigureNetwork(ctx, &agent.NetworkOptions{Static: s})
	if err != nil {
		return nil, err
	}
	if err := agent.SaveNetworkChoice(networkStateDir, s); err != nil {
		return c, fmt.Errorf("applied, but not kept for the next boot: %w", err)
	}
	n.cfg = c
	return c, nil
}

// applySavedNetwork puts the console's last static choice in force after
// Setup's DHCP (Setup runs before the data disk that holds it is mounted).
func applySavedNetwork(ctx context.Context, out io.Writer, n *consoleNet) {
	s, err := agent.LoadNetworkChoice(networkStateDir)
	if err != nil {
		fmt.Fprintf(out, "network: the console's choice is unreadable (%v); keeping DHCP\n", err)
		return
	}
	if s == nil {
		return
	}
	c, err := agent.ConfigureNetwork(ctx, &agent.NetworkOptions{Static: s})
	if err != nil {
		fmt.Fprintf(out, "network: the console's static address failed: %v\n", err)
		return
	}
	n.mu.Lock()
	n.cfg = c
	n.mu.Unlock()
	fmt.Fprintf(out, "network: %s (set on the console)\n", c)
}

// startConsoleMenus runs the console menu on tty1 and the serial console.
func startConsoleMenus(ctx context.Context, out io.Writer, srv *agent.Server, title string, n *consoleNet) {
	o := &agent.ConsoleMenuOptions{Server: srv, Title: title,
		Addresses: adminAddresses, Network: n.get, SetNetwork: n.set,
		Reboot: func() error { go shutdown(syscall.LINUX_REBOOT_CMD_RESTART); return nil }}
	for _, dev := range []string{"/dev/tty1", "/dev/ttyS0"} {
		tty, err := agent.OpenTTY(dev)
		if err != nil {
			continue // no such terminal on this hypervisor
		}
		go func() {
			for ctx.Err() == nil {
				// Ctrl-D at the prompt ends the input: show the menu again.
				err := agent.ConsoleMenu(ctx, tty, tty, o)
				if !errors.Is(err, io.EOF) {
					fmt.Fprintf(out, "console menu on %s: %v\n", dev, err)
					return
				}
				time.Sleep(time.Second)
			}
		}()
	}
}

// adminAddresses are the admin console's URLs at every address the
// appliance has now.
func adminAddresses() []string {
	var out []string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			out = append(out, "https://"+net.JoinHostPort(ipn.IP.String(), strconv.Itoa(agent.DefaultPort)))
		}
	}
	return out
}
