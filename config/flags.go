package config

import (
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/spf13/pflag"
)

// Flags holds the values of a flag set made by NewFlagSet.
type Flags struct {
	// ConfigPath is the --config YAML file; empty means none.
	ConfigPath string

	set    *pflag.FlagSet
	values Config // storage the flags write into; read only for flags that were set
}

// NewFlagSet returns a flag set with every flag of spec §10 plus ours and
// --config, and the Flags it writes into. Defaults shown in the usage are
// Default()'s. The set uses pflag.ContinueOnError.
func NewFlagSet(name string) (*pflag.FlagSet, *Flags) {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	f := &Flags{set: fs, values: Default()}

	fs.StringVar(&f.ConfigPath, "config", "", "path of a YAML configuration file")
	for _, s := range settings {
		if s.flag == "" {
			continue
		}
		registerFlag(fs, s, s.field(&f.values))
	}
	return fs, f
}

func registerFlag(fs *pflag.FlagSet, s setting, p any) {
	switch p := p.(type) {
	case *string:
		fs.StringVarP(p, s.flag, s.short, *p, s.usage)
	case *[]string:
		fs.StringSliceVarP(p, s.flag, s.short, *p, s.usage)
	case *bool:
		fs.BoolVarP(p, s.flag, s.short, *p, s.usage)
	case *uint:
		fs.UintVarP(p, s.flag, s.short, *p, s.usage)
	case *uint32:
		fs.Uint32VarP(p, s.flag, s.short, *p, s.usage)
	case *int:
		fs.IntVarP(p, s.flag, s.short, *p, s.usage)
	case *int64:
		fs.Int64VarP(p, s.flag, s.short, *p, s.usage)
	case *float64:
		fs.Float64VarP(p, s.flag, s.short, *p, s.usage)
	case *time.Duration:
		fs.DurationVarP(p, s.flag, s.short, *p, s.usage)
	default:
		// The settings table is fixed; a new field type needs a case here.
		panic(fmt.Sprintf("config: flag %s: unsupported field type %T", s.flag, p))
	}
}

// apply copies onto c every flag that was set on the command line.
func (f *Flags) apply(c *Config) {
	for _, s := range settings {
		if s.flag == "" {
			continue
		}
		fl := f.set.Lookup(s.flag)
		if fl == nil || !fl.Changed {
			continue
		}
		src, dst := s.field(&f.values), s.field(c)
		if list, ok := src.(*[]string); ok {
			*dst.(*[]string) = slices.Clone(*list)
			continue
		}
		reflect.ValueOf(dst).Elem().Set(reflect.ValueOf(src).Elem())
	}
}
