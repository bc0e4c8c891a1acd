//go:build unix && !linux

package executor

func adviseHugePages([]byte) {}
