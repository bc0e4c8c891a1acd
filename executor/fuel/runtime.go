package fuel

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/tetratelabs/wazero/api"
)

// MaxFuel is the most fuel a module can be given: the counter is a signed
// 64-bit integer. At a billion operators a second it lasts 292 years.
const MaxFuel = math.MaxInt64

// Meter is the fuel of one instance of an instrumented module.
type Meter struct {
	limit     uint64
	remaining api.MutableGlobal
	exhausted api.Global
}

// Arm gives an instance of an instrumented module its fuel (capped at
// MaxFuel). It must be called after instantiation and before any of the
// module's functions, Start included: until then the module has none.
func Arm(mod api.Module, fuel uint64) (*Meter, error) {
	remaining, ok := mod.ExportedGlobal(ExportRemaining).(api.MutableGlobal)
	exhausted := mod.ExportedGlobal(ExportExhausted)
	if !ok || exhausted == nil {
		return nil, errors.New("module is not instrumented for fuel")
	}
	fuel = min(fuel, MaxFuel)
	remaining.Set(fuel)
	return &Meter{limit: fuel, remaining: remaining, exhausted: exhausted}, nil
}

// Start runs the module's start function, which Instrument turned into an
// export, if it had one.
func Start(ctx context.Context, mod api.Module) error {
	fn := mod.ExportedFunction(ExportStart)
	if fn == nil {
		return nil
	}
	if _, err := fn.Call(ctx); err != nil {
		return fmt.Errorf("start function: %w", err)
	}
	return nil
}

// Consumed is the fuel the instance has been charged so far. The globals
// stay readable after the instance exits or traps.
func (m *Meter) Consumed() uint64 {
	return m.limit - m.remaining.Get()
}

// Exhausted says the instance stopped itself because a block cost more fuel
// than it had left.
func (m *Meter) Exhausted() bool { return m.exhausted.Get() != 0 }

// Limit is the fuel the instance was given.
func (m *Meter) Limit() uint64 { return m.limit }
