//go:build linux

package agent

import (
	"context"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
)

// dhcpRequest runs one DHCP exchange (discover, offer, request, ack) with
// the client and turns the lease into a configuration.
func dhcpRequest(ctx context.Context, c *nclient4.Client, hostname string) (*NetworkConfig, error) {
	var mods []dhcpv4.Modifier
	if hostname != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptHostName(hostname)))
	}
	mods = append(mods, dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter,
		dhcpv4.OptionDomainNameServer, dhcpv4.OptionDomainName, dhcpv4.OptionDNSDomainSearchList))
	lease, err := c.Request(ctx, mods...)
	if err != nil {
		return nil, err
	}
	return leaseConfig(lease.ACK)
}

// dhcpClientOptions turns the options' bounds into the client's.
func dhcpClientOptions(o *NetworkOptions) []nclient4.ClientOpt {
	timeout, retries := o.DHCPTimeout, o.DHCPRetries
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	if retries <= 0 {
		retries = 5
	}
	return []nclient4.ClientOpt{nclient4.WithTimeout(timeout), nclient4.WithRetry(retries)}
}
