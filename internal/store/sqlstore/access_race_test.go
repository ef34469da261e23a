//go:build race

package sqlstore_test

// raceEnabled: the race detector slows the pure-Go SQLite about twentyfold,
// which makes scale tests meaningless (and slow) without adding coverage.
const raceEnabled = true
