package messages

import (
	"encoding/json"
	"testing"
	"time"
)

// fuel_consumed is ours, not the original's: unset, a usage is byte-identical
// to the original's; set, it comes last, and a decoder that does not know it
// (as the original's encoding/json) reads the rest unchanged.
func TestUsage_FuelConsumedIsAnOmittedExtraKey(t *testing.T) {
	for _, tc := range []struct {
		usage Usage
		want  string
	}{
		{Usage{WallClockTime: 5 * time.Millisecond, MemoryMaxKB: 128},
			`{"wall_clock_time":5000000,"memory_max_kb":128}`},
		{Usage{WallClockTime: 5 * time.Millisecond, MemoryMaxKB: 128, FuelConsumed: 42},
			`{"wall_clock_time":5000000,"memory_max_kb":128,"fuel_consumed":42}`},
	} {
		b, err := json.Marshal(tc.usage)
		if err != nil || string(b) != tc.want {
			t.Fatalf("marshal %+v = %s, %v; want %s", tc.usage, b, err, tc.want)
		}
		var original struct {
			WallClockTime time.Duration `json:"wall_clock_time,omitempty"`
			CPUUserTime   time.Duration `json:"cpu_user_time,omitempty"`
			CPUSysTime    time.Duration `json:"cpu_sys_time,omitempty"`
			MemoryMaxKB   int64         `json:"memory_max_kb,omitempty"`
		}
		if err := json.Unmarshal(b, &original); err != nil || original.MemoryMaxKB != 128 || original.WallClockTime != 5*time.Millisecond {
			t.Fatalf("the original's decoder: %+v, %v", original, err)
		}
	}
}
