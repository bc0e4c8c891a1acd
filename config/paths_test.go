package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolvePaths_WithKeyUsesPeerDirInCurrentDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	c := Default()
	c.Connectivity.PrivateKey = "priv.bin"
	if err := c.ResolvePaths("12D3KooWPeer"); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, ".b7s_12D3KooWPeer", "workspace"); c.Workspace != want {
		t.Errorf("Workspace = %s, want %s", c.Workspace, want)
	}
	if want := filepath.Join(".b7s_12D3KooWPeer", "db"); c.DB != want {
		t.Errorf("DB = %s, want %s", c.DB, want)
	}
}

func TestResolvePaths_WithoutKeyUsesFreshTempDir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	c := Default()
	if err := c.ResolvePaths("12D3KooWPeer"); err != nil {
		t.Fatal(err)
	}
	nodeDir := filepath.Dir(c.Workspace)
	if filepath.Dir(nodeDir) != tmp || !strings.HasPrefix(filepath.Base(nodeDir), ".b7s_") {
		t.Errorf("Workspace = %s, want %s/.b7s_*/workspace", c.Workspace, tmp)
	}
	if c.DB != filepath.Join(nodeDir, "db") {
		t.Errorf("DB = %s, want %s", c.DB, filepath.Join(nodeDir, "db"))
	}
	if fi, err := os.Stat(nodeDir); err != nil || !fi.IsDir() {
		t.Errorf("node dir %s not created: %v", nodeDir, err)
	}
}

func TestResolvePaths_KeepsConfiguredPathsAndMakesWorkspaceAbsolute(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	c := Default()
	c.Workspace, c.DB = "ws", "data/db"
	if err := c.ResolvePaths(""); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "ws"); c.Workspace != want {
		t.Errorf("Workspace = %s, want %s", c.Workspace, want)
	}
	if c.DB != "data/db" {
		t.Errorf("DB = %s, want data/db", c.DB)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("temp node dir created although no path needed it: %v", entries)
	}
}

func TestResolvePaths_KeyWithoutPeerIDIsAnError(t *testing.T) {
	c := Default()
	c.Connectivity.PrivateKey = "priv.bin"
	if err := c.ResolvePaths(""); err == nil || !strings.Contains(err.Error(), "peer ID") {
		t.Errorf("ResolvePaths error = %v, want one about the peer ID", err)
	}
}
