package fstore

import "testing"

func TestStaysInside(t *testing.T) {
	cases := []struct {
		name  string
		links map[string]string
		path  string
		want  bool
	}{
		{"plain file", nil, "a/b", true},
		{"link down", map[string]string{"l": "a/b"}, "l", true},
		{"link up within the folder", map[string]string{"bin/data": "../lib/data.txt"}, "bin/data", true},
		{"link up out of the folder", map[string]string{"l": "../x"}, "l", false},
		{"chain that climbs out only once moved", map[string]string{"d": ".", "e": "d/../files/secret"}, "e", false},
		{"chain that stays", map[string]string{"d": "sub", "e": "d/../x"}, "e", true},
		{"loop", map[string]string{"a": "b", "b": "a"}, "a", false},
		{"absolute", map[string]string{"a": "/etc"}, "a", false},
		{"through a link dir", map[string]string{"d": "x/y", "e": "d/../../z"}, "e", true},
		{"through a link dir, out", map[string]string{"d": "x", "e": "d/../../z"}, "e", false},
	}
	for _, c := range cases {
		if got := staysInside(c.links, c.path); got != c.want {
			t.Errorf("%s: staysInside = %v, want %v", c.name, got, c.want)
		}
	}
}
