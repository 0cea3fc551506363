package eventlog

import (
	"sync"
	"testing"
)

// TestBudgetCutsTheLargest: past the budget, the largest logs lose their
// oldest events down to one level, the smaller keep all of theirs, and
// a log that leaves takes its memory out of the total.
func TestBudgetCutsTheLargest(t *testing.T) {
	for _, c := range []struct {
		name   string
		events []int // each log's, of plain events
		max    int   // the budget, in plain events; trim goes to 15/16 of it
		want   []int // events each log keeps
	}{
		{"within the budget", []int{100, 50, 10}, 208, []int{100, 50, 10}},
		{"the largest alone is cut", []int{600, 100, 100}, 720, []int{475, 100, 100}},
		{"the two largest to one level", []int{500, 450, 50}, 896, []int{395, 395, 50}},
		{"all to one level", []int{300, 300, 300}, 832, []int{260, 260, 260}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := NewBudget(int64(c.max) * plainMem)
			var mu sync.Mutex
			logs := make([]*Log[ev], len(c.events))
			for i, n := range c.events {
				logs[i] = newLog(Options[ev]{Budget: b, Owner: &mu})
				for range n {
					logs[i].Append(ev{Op: "recv"}, Holding{})
				}
			}
			b.trim() // what Run does when the total passes the bound
			var total int64
			for i, l := range logs {
				if got := int(l.Last() - l.First() + 1); got != c.want[i] || l.Last() != int64(c.events[i]) {
					t.Errorf("log %d holds seqs %d to %d, want the newest %d of %d", i, l.First(), l.Last(), c.want[i], c.events[i])
				}
				total += l.Bytes()
			}
			if total != b.Total() {
				t.Fatalf("the logs hold %d bytes, the budget counts %d", total, b.Total())
			}
			gone := logs[0].Bytes()
			logs[0].Leave()
			logs[0].Leave()
			if got := b.Total(); got != total-gone {
				t.Fatalf("after one left the budget counts %d, want %d", got, total-gone)
			}
		})
	}
}

// TestBudgetSlack: an Append past the budget and its slack trims its own
// log there and then, whatever Run does.
func TestBudgetSlack(t *testing.T) {
	b := NewBudget(64 * plainMem)
	var mu sync.Mutex
	l := newLog(Options[ev]{Budget: b, Owner: &mu})
	for range 1000 {
		l.Append(ev{Op: "recv"}, Holding{})
	}
	if b.Total() > b.Max()+b.slack() {
		t.Fatalf("%d bytes counted, past the budget of %d and its slack", b.Total(), b.Max())
	}
}
