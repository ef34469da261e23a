//go:build unix

package provisioning

import (
	"errors"
	"syscall"
)

// processGone reports whether no process with this pid exists on this host.
func processGone(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}
