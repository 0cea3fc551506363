package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// tool finds the first of names on PATH or in dirs. Without one the test
// skips, or fails when the environment variable require is set (CI sets
// each, having installed the tool): a test that needs a tool must not
// pass there by skipping.
func tool(t testing.TB, what, require, install string, dirs []string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, d := range dirs {
			if p := filepath.Join(d, name); isExecutable(p) {
				return p
			}
		}
	}
	if os.Getenv(require) != "" {
		t.Fatalf("%s not found and %s is set: %s", what, require, install)
	}
	t.Skipf("%s not found; %s to run this test (%s=1 makes this fail)", what, install, require)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Chromium finds a headless-capable Chromium for the browser tests
// (SOCKPLAY_CHROMIUM names one); SOCKPLAY_REQUIRE_BROWSER makes its
// absence a failure.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SOCKPLAY_CHROMIUM"); p != "" {
		return p
	}
	return tool(t, "Chromium", "SOCKPLAY_REQUIRE_BROWSER", "install Debian's chromium", nil, "chromium", "chromium-browser", "google-chrome")
}

// Nginx finds Debian's nginx, which a user's PATH may leave out (it is
// in /usr/sbin); SOCKPLAY_REQUIRE_NGINX makes its absence a failure.
func Nginx(t testing.TB) string {
	t.Helper()
	return tool(t, "nginx", "SOCKPLAY_REQUIRE_NGINX", "install Debian's nginx (apt-get install nginx)", []string{"/usr/sbin", "/usr/local/sbin"}, "nginx")
}

// Kubectl finds kubectl; SOCKPLAY_REQUIRE_KUBECTL makes its absence a
// failure.
func Kubectl(t testing.TB) string {
	t.Helper()
	return tool(t, "kubectl", "SOCKPLAY_REQUIRE_KUBECTL", "install kubectl", nil, "kubectl")
}
