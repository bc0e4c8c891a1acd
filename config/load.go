package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// Load builds the configuration of `b7s run`: it parses args (the arguments
// after `run`), then merges defaults < environ < the --config YAML file <
// flags, and validates the result. environ is in os.Environ format.
//
// Load prints nothing. On -h/--help it returns an error wrapping
// pflag.ErrHelp; print NewFlagSet's FlagUsages() for the usage text.
// Workspace and DB may still be empty: call ResolvePaths once the peer ID is
// known.
func Load(args []string, environ []string) (Config, error) {
	fs, f := NewFlagSet("run")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return Config{}, fmt.Errorf("parse flags: %w", err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("parse flags: unexpected argument %q", fs.Arg(0))
	}
	return f.Load(environ)
}

// Load merges defaults < environ < the --config YAML file < the flags that
// were set on the command line, and validates the result. Call it after the
// flag set from NewFlagSet (or a set it was added to) has been parsed.
func (f *Flags) Load(environ []string) (Config, error) {
	c := Default()
	if err := applyEnv(&c, environ); err != nil {
		return Config{}, err
	}
	if f.ConfigPath != "" {
		if err := applyFile(&c, f.ConfigPath); err != nil {
			return Config{}, err
		}
	}
	f.apply(&c)
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// applyFile overlays the YAML file at path onto c: keys present in the file
// replace c's values, absent keys leave them. Unknown keys are errors, so
// typos (and the original's old incompatible format) are reported rather
// than silently ignored.
func applyFile(c *Config, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	if err := decodeYAML(c, data); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

func decodeYAML(c *Config, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
