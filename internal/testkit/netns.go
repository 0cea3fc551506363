package testkit

import (
	"context"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// netnsChild names the test a copy of the test binary runs inside a
// fresh network namespace.
const netnsChild = "SOCKPLAY_NETNS_CHILD"

// InNetns runs the calling top-level test again in a new network
// namespace, its loopback brought up and then the namespace set up by the
// shell commands setup (an address added, veth pairs made), and says
// whether this process is that copy: if so, the test does its work here,
// where nothing it sends or serves can leave or be reached from outside
// the machine; if not, the copy has run and passed, or the test has
// failed. The copy goes on only if the namespace's interfaces are
// loopback and links, the ones setup made (a veth pair's two ends are
// both in it, so they lead nowhere else). Where namespaces are not
// permitted it skips, unless SOCKPLAY_REQUIRE_NETNS=1 (as in CI), where
// it fails.
func InNetns(t *testing.T, setup string, links ...string) (inside bool) {
	t.Helper()
	if os.Getenv(netnsChild) == t.Name() {
		requireFreshNetns(t, links)
		return true
	}
	skip := t.Skipf
	if os.Getenv("SOCKPLAY_REQUIRE_NETNS") == "1" {
		skip = t.Fatalf
	} else if testing.Short() {
		t.Skip("-short: not starting a network namespace")
	}
	up := "ip link set lo up"
	if setup != "" {
		up += " && " + setup
	}
	if out, err := exec.Command("unshare", "-n", "sh", "-c", up).CombinedOutput(); err != nil {
		skip("cannot make a network namespace here (unshare -n sh -c %q: %v %s); %s is not tested", up, err, out, t.Name())
		return false
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-n", "sh", "-c", up+` && exec "$0" "$@"`,
		exe, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v", "-test.timeout=90s")
	cmd.Env = append(os.Environ(), netnsChild+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("inside the namespace: %v\n%s", err, out)
	}
	// A copy that ran no test (a filter gone wrong) proves nothing.
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the namespace run did not pass the test:\n%s", out)
	}
	t.Logf("inside the namespace:\n%s", out)
	return false
}

// requireFreshNetns refuses to go on unless this process is in a network
// namespace whose interfaces are loopback (up) and links alone: the guard
// that makes a test's dials and listens there safe, whoever sets the
// variable.
func requireFreshNetns(t *testing.T, links []string) {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	want := append([]string{"lo"}, links...)
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
		if i.Name == "lo" && (i.Flags&net.FlagLoopback == 0 || i.Flags&net.FlagUp == 0) {
			t.Fatalf("%s is set but this namespace's lo is not loopback, up: refusing to go on", netnsChild)
		}
	}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("%s is set but this is not a fresh network namespace (interfaces %v, want %v): refusing to go on", netnsChild, names, want)
	}
}
