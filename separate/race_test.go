//go:build race

package separate

// raceEnabled: the race detector slows the classifier about tenfold, so the
// held-out evaluation runs on fewer batches (still over 300 documents).
const raceEnabled = true
