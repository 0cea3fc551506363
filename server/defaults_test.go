package server

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/web"
)

// TestDefaultsAreTheLayers: with no flag given, the engine and the web
// layer get exactly their own defaults, through the flags' units.
func TestDefaultsAreTheLayers(t *testing.T) {
	c, err := ParseConfig(nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := engineConfig(c), sockets.DefaultConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("the engine's config from default flags:\n%+v\nwant sockets.DefaultConfig():\n%+v", got, want)
	}
	if got, want := c.Conns, DefaultConnLimits(); got != want {
		t.Errorf("the connection limits from default flags: %+v, want DefaultConnLimits(): %+v", got, want)
	}
	if got, want := webConfig(c), web.DefaultConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("the web config from default flags:\n%+v\nwant web.DefaultConfig():\n%+v", got, want)
	}
}

// flagDefaults reads -h: every flag's name and the default it prints ("" when
// it prints none).
func flagDefaults(t *testing.T) map[string]string {
	t.Helper()
	var help bytes.Buffer
	if _, err := ParseConfig([]string{"-h"}, env(nil), &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	defaults := map[string]string{}
	name := regexp.MustCompile(`^  -([a-z-]+)`)
	def := regexp.MustCompile(` \(default (.+)\)$`)
	var cur string
	for _, line := range strings.Split(help.String(), "\n") {
		if m := name.FindStringSubmatch(line); m != nil {
			cur = m[1]
			defaults[cur] = ""
			continue
		}
		if m := def.FindStringSubmatch(line); m != nil && cur != "" {
			v := m[1]
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
			defaults[cur] = v
		}
	}
	if len(defaults) == 0 {
		t.Fatalf("no flags in -h:\n%s", help.String())
	}
	return defaults
}

// TestREADMEFlags: the README's table of flags lists every flag, and a
// default it gives as a value is the one -h prints; a flag whose default
// it describes in words (or with —) has none of its own.
func TestREADMEFlags(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "| flag | default | meaning |\n|---|---|---|\n")
	if !ok {
		t.Fatal("the README has no table of flags")
	}
	defaults := flagDefaults(t)
	row := regexp.MustCompile("^\\| `-([a-z-]+)` \\| ([^|]+) \\|")
	value := regexp.MustCompile("^`([^`]+)`$")
	listed := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		m := row.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("README: a row of the flags table not of the form | `-flag` | default | meaning |: %q", line)
			continue
		}
		name, readme := m[1], strings.TrimSpace(m[2])
		listed[name] = true
		got, ok := defaults[name]
		if !ok {
			t.Errorf("README lists -%s, which is no flag", name)
			continue
		}
		v := value.FindStringSubmatch(readme)
		if v == nil {
			if got != "" {
				t.Errorf("README: -%s's default is %q, but -h says %q", name, readme, got)
			}
			continue
		}
		if d1, err1 := time.ParseDuration(v[1]); err1 == nil {
			if d2, err2 := time.ParseDuration(got); err2 != nil || d1 != d2 {
				t.Errorf("README: -%s's default is %s, but -h says %q", name, v[1], got)
			}
			continue
		}
		if v[1] != got {
			t.Errorf("README: -%s's default is %q, but -h says %q", name, v[1], got)
		}
	}
	for name := range defaults {
		if !listed[name] {
			t.Errorf("the README's table of flags misses -%s", name)
		}
	}
}
