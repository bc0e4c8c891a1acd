package config

import (
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Usage writes the settings of `b7s run` for people: every flag with its type, default,
// environment variable and YAML key, then the settings that have no flag. It is driven by the
// same settings table, flag set and defaults as Load, so what it says is what Load reads.
func Usage(w io.Writer) error {
	fs, _ := NewFlagSet("run")
	def := Default()
	byFlag := make(map[string]*setting, len(settings))
	for i := range settings {
		if settings[i].flag != "" {
			byFlag[settings[i].flag] = &settings[i]
		}
	}

	var b strings.Builder
	b.WriteString("Settings come from, lowest priority first: defaults, " + EnvPrefix + " environment variables,\n" +
		"the --config YAML file, flags. An environment variable is " + EnvPrefix + " and the YAML key's\n" +
		"segments in CamelCase joined by \"_\" (matched ignoring case and dashes); lists are\n" +
		"comma-separated, durations are Go durations such as 250ms or 1m.\n\nFlags:\n")
	fs.VisitAll(func(f *pflag.Flag) {
		typ, usage := pflag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  %s\n      %s\n", flagName(f, typ), usage)
		s := byFlag[f.Name]
		if s == nil {
			return // --config is no setting: it names where the others come from
		}
		fmt.Fprintf(&b, "      default %s; env %s; yaml %s\n", formatDefault(s.field(&def)), envNameFor(s.key), s.key)
	})

	b.WriteString("\nSettings without a flag (environment or YAML only):\n")
	for _, s := range settings {
		if s.flag != "" {
			continue
		}
		fmt.Fprintf(&b, "  %s\n      %s\n      default %s; env %s\n", s.key, s.usage, formatDefault(s.field(&def)), envNameFor(s.key))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// envNameFor is the environment variable written for a YAML key: EnvPrefix and the key's segments,
// each in CamelCase, joined by "_" (connectivity.dialback-address is
// B7S_Connectivity_DialbackAddress). lookupEnv reads it back, as it reads any spelling that
// differs only in case and dashes.
func envNameFor(key string) string {
	segments := strings.Split(key, ".")
	for i, seg := range segments {
		words := strings.Split(seg, "-")
		for j, word := range words {
			if word != "" {
				words[j] = strings.ToUpper(word[:1]) + word[1:]
			}
		}
		segments[i] = strings.Join(words, "")
	}
	return EnvPrefix + strings.Join(segments, "_")
}

// flagName is "-r, --role string" as pflag writes it.
func flagName(f *pflag.Flag, typ string) string {
	name := "--" + f.Name
	if f.Shorthand != "" {
		name = "-" + f.Shorthand + ", " + name
	}
	if typ != "" {
		name += " " + typ
	}
	return name
}

// formatDefault writes the value a setting's field points to: strings quoted so that the empty
// default is visible, lists as comma-separated quoted items in brackets.
func formatDefault(p any) string {
	switch v := reflect.ValueOf(p).Elem().Interface().(type) {
	case string:
		return strconv.Quote(v)
	case []string:
		quoted := make([]string, len(v))
		for i, item := range v {
			quoted[i] = strconv.Quote(item)
		}
		return "[" + strings.Join(quoted, ",") + "]"
	default:
		return fmt.Sprint(v)
	}
}
