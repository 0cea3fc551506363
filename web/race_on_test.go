//go:build race

package web

// raceEnabled says the tests run under the race detector, which makes
// every goroutine several times slower: deadlines that stand for "a live
// reader keeps up" must allow for it.
const raceEnabled = true
