package executor

import (
	"github.com/b7s-actor/b7s/internal/machine"
)

// Reservation is what executions may hold while they run: guest memory and disk, in bytes.
type Reservation struct {
	Memory int64
	Disk   int64
}

// Fits reports whether r is within budget b.
func (r Reservation) Fits(b Reservation) bool { return r.Memory <= b.Memory && r.Disk <= b.Disk }

// Plus is r and o together.
func (r Reservation) Plus(o Reservation) Reservation {
	return Reservation{Memory: r.Memory + o.Memory, Disk: r.Disk + o.Disk}
}

// Minus is r without o.
func (r Reservation) Minus(o Reservation) Reservation {
	return Reservation{Memory: r.Memory - o.Memory, Disk: r.Disk - o.Disk}
}

// fallbackMachineMemory and fallbackFreeDisk stand for what cannot be read (memory off Linux,
// free disk off Unix): a small server's, so that the derived budgets stay modest.
const (
	fallbackMachineMemory = 4 << 30
	fallbackFreeDisk      = 4 << 30
)

// Reservation is the most req can hold while it runs: its memory limit and its disk quota. A
// caller that admits executions against Budget reserves this before Execute and releases it
// after.
func (e *Executor) Reservation(req Request) Reservation {
	return Reservation{Memory: int64(e.memoryLimitPages(req)) * wasmPageSize, Disk: e.cfg.MaxFSBytes}
}

// Budget is what the running executions may reserve together: Config.MemoryBudget and
// Config.FSBudget, or what New derived from the machine.
func (e *Executor) Budget() Reservation { return e.budget }

// memoryLimitPages is req's memory limit in pages: limited_memory, else the default, at most
// the wasm32 ceiling.
func (e *Executor) memoryLimitPages(req Request) uint32 {
	limit := req.MemoryLimitPages
	if limit == 0 {
		limit = e.cfg.DefaultMemoryLimitPages
	}
	return min(limit, maxMemoryPages)
}

// resolveBudget is the configured budget, deriving what is left 0 from the machine: half its
// memory and half the free disk of the workspace, each at least one default execution. Half,
// because an execution costs more than its reservation (compiled code, host buffers, the
// node itself) and the machine has other work; under that, the memory limit of each guest is
// still what stops it.
func (e *Executor) resolveBudget() Reservation {
	one := e.Reservation(Request{})
	b := Reservation{Memory: e.cfg.MemoryBudget, Disk: e.cfg.FSBudget}
	if b.Memory == 0 {
		mem, err := machine.Memory()
		if err != nil {
			e.log.Warn().Err(err).Int64("assumed_bytes", fallbackMachineMemory).Msg("machine memory unknown")
			mem = fallbackMachineMemory
		}
		b.Memory = max(mem/2, one.Memory)
	}
	if b.Disk == 0 {
		free, err := machine.FreeDisk(e.cfg.Workspace)
		if err != nil {
			e.log.Warn().Err(err).Int64("assumed_bytes", fallbackFreeDisk).Msg("free disk unknown")
			free = fallbackFreeDisk
		}
		b.Disk = max(free/2, one.Disk)
	}
	e.log.Info().Int64("memory_budget_mib", b.Memory>>20).Int64("disk_budget_mib", b.Disk>>20).
		Int64("execution_memory_mib", one.Memory>>20).Int64("execution_disk_mib", one.Disk>>20).
		Msg("guest budgets")
	return b
}
