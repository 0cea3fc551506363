package sockets_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/sockplay/sockplay/labs"
	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/sockets/lessons"
	"github.com/sockplay/sockplay/sockets/policy"
)

// TestLessonsUnderExposedPolicy runs every lesson under the policy an
// exposed server has by default (egress public, the labs exempt, binds on
// loopback at ports 0 and 1024-65535): nothing a lesson does may be
// refused. Lessons only ever talk to loopback, so this is safe outside a
// network namespace.
func TestLessonsUnderExposedPolicy(t *testing.T) {
	l, err := labs.Start(labs.Config{Host: "127.0.0.1", DripPause: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var exempt []policy.Endpoint
	for _, lab := range l.Labs() {
		exempt = append(exempt, policy.Endpoint{Proto: lab.Proto, Addr: netip.MustParseAddrPort(lab.Addr)})
	}
	binds, err := policy.ParsePrefixes("127.0.0.0/8,::1")
	if err != nil {
		t.Fatal(err)
	}
	ports, err := policy.ParsePorts("0,1024-65535")
	if err != nil {
		t.Fatal(err)
	}
	p := &policy.Policy{Mode: policy.ModePublic, Exempt: exempt, BindPrefixes: binds, BindPorts: ports}
	all, err := lessons.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, ls := range all {
		t.Run(ls.ID, func(t *testing.T) {
			m := sockets.NewManager(sockets.Config{UnixDir: t.TempDir(), Policy: p})
			defer m.Close()
			s, err := m.Create()
			if err != nil {
				t.Fatal(err)
			}
			pr := lessons.NewProgress(ls.ID)
			for i := range ls.Steps {
				r := pr.Step(context.Background(), s, l.AddrOf)
				if r.Event != nil && !r.Event.OK && r.Event.Error.Exc == "PermissionError" {
					t.Fatalf("step %d (%s): the policy refused it: %s", i+1, ls.Steps[i].Say, r.Event.Error.Msg)
				}
				if r.Problem != "" || r.Differs != "" || !r.Done {
					t.Fatalf("step %d (%s): problem %q, differs %q, event %+v", i+1, ls.Steps[i].Say, r.Problem, r.Differs, r.Event)
				}
			}
		})
	}
}
