package policy

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"any": ModeAny, "public": ModePublic, "local": ModeLocal, " Public ": ModePublic} {
		got, err := ParseMode(in)
		if err != nil || got != want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v", in, got, err, want)
		}
		if got.String() != strings.ToLower(strings.TrimSpace(in)) {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	for _, in := range []string{"", "all", "private", "publicc"} {
		if _, err := ParseMode(in); err == nil || !strings.Contains(err.Error(), "want any, public or local") {
			t.Errorf("ParseMode(%q): %v", in, err)
		}
	}
	if got := Mode(7).String(); got != "mode(7)" {
		t.Errorf("Mode(7) = %q", got)
	}
}

func TestParsePrefixes(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{"", "", ""},
		{"  ", "", ""},
		{"10.0.0.0/8", "10.0.0.0/8", ""},
		{"10.0.0.0/8, 192.168.0.0/16 ,fd00::/8", "10.0.0.0/8,192.168.0.0/16,fd00::/8", ""},
		{"1.2.3.4", "1.2.3.4", ""},
		{"::1", "::1", ""},
		{"1.2.3.4/32,::1/128", "1.2.3.4,::1", ""},
		{"0.0.0.0/0,::/0", "0.0.0.0/0,::/0", ""},
		{"::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104", ""},
		{"10.1.2.3/8", "", `"10.1.2.3/8" has bits set past its /8; the network is 10.0.0.0/8`},
		{"10.0.0.0/33", "", `"10.0.0.0/33" is not a CIDR prefix`},
		{"10.0.0/8", "", `"10.0.0/8" is not a CIDR prefix`},
		{"example.com", "", `"example.com" is neither an IP address nor a CIDR prefix`},
		{"fe80::1%eth0", "", "a zone (%eth0) has no place"},
		{"10.0.0.0/8,,1.2.3.4", "", "an empty item"},
		{"10.0.0.0/8,", "", "an empty item"},
	}
	for _, tc := range cases {
		ps, err := ParsePrefixes(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePrefixes(%q) error %v, want one holding %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePrefixes(%q): %v", tc.in, err)
			continue
		}
		if got := FormatPrefixes(ps); got != tc.want {
			t.Errorf("ParsePrefixes(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParsePorts(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{"", "", ""},
		{"80", "80", ""},
		{"80,443,8000-9000", "80,443,8000-9000", ""},
		{" 443 , 80 ", "80,443", ""},
		{"0,1024-65535", "0,1024-65535", ""},
		{"8000-9000,8500-9500,9501", "8000-9501", ""}, // overlapping and adjacent ranges merge
		{"5-5", "5", ""},
		{"0080", "80", ""},
		{"65536", "", "port 65536 in \"65536\" is out of range 0-65535"},
		{"99999999999999999999", "", "out of range 0-65535"},
		{"1-70000", "", "port 70000 in \"1-70000\" is out of range"},
		{"9000-8000", "", `port range "9000-8000" runs backwards; did you mean 8000-9000?`},
		{"http", "", `"http" is not a port number or a range such as 8000-9000`},
		{"-5", "", `port range "-5" is missing a number`},
		{"5-", "", `port range "5-" is missing a number`},
		{"1-2-3", "", `"1-2-3" is not a port number`},
		{"+80", "", "not a port number"},
		{"80,,443", "", "an empty item"},
	}
	for _, tc := range cases {
		ps, err := ParsePorts(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePorts(%q) error %v, want one holding %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePorts(%q): %v", tc.in, err)
			continue
		}
		if got := ps.String(); got != tc.want {
			t.Errorf("ParsePorts(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestPortSetContains(t *testing.T) {
	ps := Ports(PortRange{8000, 9000}, PortRange{443, 443}, PortRange{80, 80}, PortRange{0, 0})
	for port, want := range map[uint16]bool{0: true, 1: false, 79: false, 80: true, 81: false, 443: true,
		7999: false, 8000: true, 8500: true, 9000: true, 9001: false, 65535: false} {
		if ps.Contains(port) != want {
			t.Errorf("%s contains %d: %v", ps, port, !want)
		}
	}
	if !(PortSet{}).Empty() || (PortSet{}).Contains(0) || ps.Empty() {
		t.Error("emptiness is wrong")
	}
	if got := Ports(PortRange{10, 5}).String(); got != "5-10" {
		t.Errorf("a reversed range makes %s", got)
	}
	if got := len(ps.Ranges()); got != 4 {
		t.Errorf("%d ranges", got)
	}
}

func TestFormatPrefixes(t *testing.T) {
	ps := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	if got := FormatPrefixes(ps); got != "10.0.0.0/8,::1" {
		t.Errorf("FormatPrefixes = %q", got)
	}
}
