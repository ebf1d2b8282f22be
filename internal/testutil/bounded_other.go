//go:build !linux

package testutil

import (
	"errors"
	"os"
	"time"
)

func setLimits(int64, time.Duration) error { return errors.New("rlimits need Linux") }

func maxRSS(*os.ProcessState) int64 { return -1 }

func peakRSS() int64 { return -1 }
