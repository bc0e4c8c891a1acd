package actors

import "errors"

var (
	errInstallerStopped = errors.New("installer stopped")
	errNoStore          = errors.New("this node has no function store")
)
