//go:build !unix

package machine

import "errors"

// FreeDisk is not known on this system.
func FreeDisk(string) (int64, error) {
	return 0, errors.New("free disk: not supported on this system")
}
