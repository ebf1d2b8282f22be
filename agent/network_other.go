//go:build !linux

package agent

import (
	"context"
	"errors"
)

var sysNetOps netOps = otherNet{}

var errNoNet = errors.New("network configuration needs Linux")

type otherNet struct{}

func (otherNet) linkUp(string) error                    { return errNoNet }
func (otherNet) configure(string, *NetworkConfig) error { return errNoNet }
func (otherNet) dhcp(context.Context, string, *NetworkOptions) (*NetworkConfig, error) {
	return nil, errNoNet
}
