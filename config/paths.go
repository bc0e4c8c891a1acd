package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ResolvePaths fills an empty Workspace with <nodeDir>/workspace and an
// empty DB with <nodeDir>/db, then makes Workspace absolute (spec §10).
//
// nodeDir is ".b7s_<peerID>" in the current directory when a private key is
// configured, so a node keeps its state across restarts. Otherwise it is a
// fresh os.MkdirTemp("", ".b7s_*"), created only when a path needs it.
// ResolvePaths creates no other directory.
func (c *Config) ResolvePaths(peerID string) error {
	if c.Workspace == "" || c.DB == "" {
		nodeDir, err := c.nodeDir(peerID)
		if err != nil {
			return err
		}
		if c.Workspace == "" {
			c.Workspace = filepath.Join(nodeDir, "workspace")
		}
		if c.DB == "" {
			c.DB = filepath.Join(nodeDir, "db")
		}
	}
	abs, err := filepath.Abs(c.Workspace)
	if err != nil {
		return fmt.Errorf("resolve workspace %s: %w", c.Workspace, err)
	}
	c.Workspace = abs
	return nil
}

func (c *Config) nodeDir(peerID string) (string, error) {
	if c.Connectivity.PrivateKey != "" {
		if peerID == "" {
			return "", errors.New("resolve node directory: empty peer ID with connectivity.private-key set")
		}
		return ".b7s_" + peerID, nil
	}
	dir, err := os.MkdirTemp("", ".b7s_*")
	if err != nil {
		return "", fmt.Errorf("resolve node directory: %w", err)
	}
	return dir, nil
}
