// Package check holds the bound checks behind every component's Config.Validate, so that each
// validation error reads the same way and names what was broken: "<setting>: <value> is below
// the minimum <bound>". Validate methods collect these with errors.Join, so one run reports
// every bad setting.
package check

import (
	"cmp"
	"fmt"
	"strings"
)

// Min fails when v is below lo.
func Min[T cmp.Ordered](key string, v, lo T) error {
	if v < lo {
		return fmt.Errorf("%s: %v is below the minimum %v", key, v, lo)
	}
	return nil
}

// Max fails when v is above hi.
func Max[T cmp.Ordered](key string, v, hi T) error {
	if v > hi {
		return fmt.Errorf("%s: %v is above the maximum %v", key, v, hi)
	}
	return nil
}

// Range fails when v lies outside lo..hi.
func Range[T cmp.Ordered](key string, v, lo, hi T) error {
	if err := Min(key, v, lo); err != nil {
		return err
	}
	return Max(key, v, hi)
}

// Set fails when v is empty.
func Set(key, v string) error {
	if v == "" {
		return fmt.Errorf("%s: must be set", key)
	}
	return nil
}

// OneOf fails when v is none of allowed.
func OneOf[T comparable](key string, v T, allowed ...T) error {
	names := make([]string, len(allowed))
	for i, a := range allowed {
		if a == v {
			return nil
		}
		names[i] = fmt.Sprint(a)
	}
	return fmt.Errorf("%s: %q is not one of %s", key, fmt.Sprint(v), strings.Join(names, ", "))
}
