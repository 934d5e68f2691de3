//go:build !race

package separate

const raceEnabled = false
