package testkit

import (
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Samples are a scrape of /metrics as Prometheus' own text parser reads
// it: each sample's value by its series, written as name{a="x",b="y"}
// with the labels sorted (a histogram's as name_count and name_sum).
type Samples map[string]float64

// Get is the value of name with labels (pairs: "op", "recv", ...), and
// whether the scrape had it.
func (s Samples) Get(name string, labels ...string) (float64, bool) {
	var pairs []*dto.LabelPair
	for i := 0; i+1 < len(labels); i += 2 {
		pairs = append(pairs, &dto.LabelPair{Name: &labels[i], Value: &labels[i+1]})
	}
	v, ok := s[series(name, pairs)]
	return v, ok
}

// Value is Get's value, 0 for a series the scrape did not have (a
// counter nothing has counted yet).
func (s Samples) Value(name string, labels ...string) float64 {
	v, _ := s.Get(name, labels...)
	return v
}

func series(name string, pairs []*dto.LabelPair) string {
	if len(pairs) == 0 {
		return name
	}
	kv := make([]string, 0, len(pairs))
	for _, p := range pairs {
		kv = append(kv, p.GetName()+"="+`"`+p.GetValue()+`"`)
	}
	sort.Strings(kv)
	return name + "{" + strings.Join(kv, ",") + "}"
}

// ParseMetrics reads a scrape in Prometheus' text format, failing the
// test if the parser refuses it.
func ParseMetrics(t testing.TB, r io.Reader) Samples {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("the metrics do not parse as Prometheus' text format: %v", err)
	}
	out := Samples{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			key := series(name, m.GetLabel())
			switch {
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Untyped != nil:
				out[key] = m.GetUntyped().GetValue()
			case m.Histogram != nil:
				out[series(name+"_count", m.GetLabel())] = float64(m.GetHistogram().GetSampleCount())
				out[series(name+"_sum", m.GetLabel())] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

// Scrape GETs url (a /metrics) with the token, if any, and parses it. It
// asks for the text format, as a Prometheus that cannot read the others
// would.
func Scrape(t testing.TB, url, token string) Samples {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scraping %s: %s %s", url, resp.Status, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scraping %s: Content-Type %q, not the text format", url, ct)
	}
	return ParseMetrics(t, resp.Body)
}
