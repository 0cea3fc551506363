package server

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/sockets/policy"
)

// parseNode reads and checks what makes sockplay one node of many behind
// a proxy: its name, its public URL and the proxies it trusts, and the
// operator's addresses (metrics, pprof).
func parseNode(c *Config, public, proxies string) error {
	if c.Node != "" {
		if err := sockets.CheckNode(c.Node); err != nil {
			return fmt.Errorf("-node: %v", err)
		}
	}
	if public != "" {
		u, err := url.Parse(public)
		switch {
		case err != nil:
			return fmt.Errorf("-public-url: %v", err)
		case u.Scheme != "http" && u.Scheme != "https":
			return fmt.Errorf("-public-url %q: give the scheme, http:// or https://", public)
		case u.Host == "" || u.Hostname() == "":
			return fmt.Errorf("-public-url %q: no host", public)
		case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			// Every route is at the root: a proxy that serves sockplay
			// under a path would have to rewrite every page's links.
			return fmt.Errorf("-public-url %q: only a scheme, a host and a port; sockplay is served at the root of its host", public)
		}
		u.Path = ""
		c.PublicURL = u
	}
	var err error
	if c.TrustedProxies, err = policy.ParsePrefixes(proxies); err != nil {
		return fmt.Errorf("-trusted-proxies: %v", err)
	}
	if c.DrainTimeout < 0 {
		return fmt.Errorf("-drain-timeout must not be negative, not %v", c.DrainTimeout)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("-metrics-addr %q: %v", c.MetricsAddr, err)
		}
	}
	if c.PprofAddr != "" {
		host, _, err := net.SplitHostPort(c.PprofAddr)
		if err != nil {
			return fmt.Errorf("-pprof-addr %q: %v", c.PprofAddr, err)
		}
		// The profiler tells a great deal of the process and can hold
		// its CPU: never for anyone but this host's users.
		if !isLoopbackHost(host) {
			return fmt.Errorf("-pprof-addr %q: the profiler is served on loopback only (127.0.0.1, ::1 or localhost)", c.PprofAddr)
		}
	}
	return nil
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// publicExposed reports whether the public URL, if any, takes sockplay
// beyond loopback: a proxy there serves everyone who reaches it, though
// sockplay itself listens on loopback.
func publicExposed(u *url.URL) bool {
	return u != nil && !isLoopbackHost(u.Hostname())
}
