//go:build race

package sheets

// raceEnabled: the race detector slows pixel loops about tenfold, so the
// scan tests run a representative subset (see thorough).
const raceEnabled = true
