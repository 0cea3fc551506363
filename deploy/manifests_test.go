package deploy

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/server"
	"github.com/sockplay/sockplay/sockets"
)

// The shape of the API objects deploy/k8s holds: the fields of each kind
// it uses, by their API names (apps/v1 StatefulSet, v1 Service,
// networking.k8s.io/v1 Ingress, policy/v1 PodDisruptionBudget). A
// manifest is decoded strictly, so that a field not here (a misspelt
// one: the API server would drop it, or refuse it under strict
// validation) or a value of the wrong type fails the test.

type objectMeta struct {
	Name        string            `yaml:"name"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

// intOrString is the API's IntOrString: a port by number or by name.
type intOrString struct {
	Int  int
	Name string
}

func (p *intOrString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a port must be a number or a name", n.Line)
	}
	if n.Tag == "!!int" {
		return n.Decode(&p.Int)
	}
	return n.Decode(&p.Name)
}

type statefulSet struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		ServiceName         string        `yaml:"serviceName"`
		Replicas            int           `yaml:"replicas"`
		PodManagementPolicy string        `yaml:"podManagementPolicy"`
		Selector            labelSelector `yaml:"selector"`
		UpdateStrategy      struct {
			Type string `yaml:"type"`
		} `yaml:"updateStrategy"`
		Template struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     podSpec    `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type podSpec struct {
	TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               struct {
		RunAsNonRoot   bool `yaml:"runAsNonRoot"`
		RunAsUser      int  `yaml:"runAsUser"`
		RunAsGroup     int  `yaml:"runAsGroup"`
		SeccompProfile struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	TopologySpreadConstraints []struct {
		MaxSkew           int           `yaml:"maxSkew"`
		TopologyKey       string        `yaml:"topologyKey"`
		WhenUnsatisfiable string        `yaml:"whenUnsatisfiable"`
		LabelSelector     labelSelector `yaml:"labelSelector"`
	} `yaml:"topologySpreadConstraints"`
	Containers []container `yaml:"containers"`
	Volumes    []struct {
		Name     string    `yaml:"name"`
		EmptyDir *struct{} `yaml:"emptyDir"`
	} `yaml:"volumes"`
}

type container struct {
	Name            string `yaml:"name"`
	Image           string `yaml:"image"`
	ImagePullPolicy string `yaml:"imagePullPolicy"`
	Env             []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet struct {
		Path string      `yaml:"path"`
		Port intOrString `yaml:"port"`
	} `yaml:"httpGet"`
	PeriodSeconds    int `yaml:"periodSeconds"`
	TimeoutSeconds   int `yaml:"timeoutSeconds"`
	FailureThreshold int `yaml:"failureThreshold"`
}

type service struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		ClusterIP                string            `yaml:"clusterIP"`
		PublishNotReadyAddresses bool              `yaml:"publishNotReadyAddresses"`
		Selector                 map[string]string `yaml:"selector"`
		Ports                    []struct {
			Name       string      `yaml:"name"`
			Port       int         `yaml:"port"`
			TargetPort intOrString `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type ingress struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		IngressClassName string `yaml:"ingressClassName"`
		TLS              []struct {
			Hosts      []string `yaml:"hosts"`
			SecretName string   `yaml:"secretName"`
		} `yaml:"tls"`
		Rules []struct {
			Host string `yaml:"host"`
			HTTP struct {
				Paths []ingressPath `yaml:"paths"`
			} `yaml:"http"`
		} `yaml:"rules"`
	} `yaml:"spec"`
}

type ingressPath struct {
	Path     string `yaml:"path"`
	PathType string `yaml:"pathType"`
	Backend  struct {
		Service struct {
			Name string   `yaml:"name"`
			Port struct { // a ServiceBackendPort
				Name   string `yaml:"name"`
				Number int    `yaml:"number"`
			} `yaml:"port"`
		} `yaml:"service"`
	} `yaml:"backend"`
}

type disruptionBudget struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		MaxUnavailable int           `yaml:"maxUnavailable"`
		Selector       labelSelector `yaml:"selector"`
	} `yaml:"spec"`
}

// manifests are deploy/k8s's objects, decoded strictly by kind.
type manifests struct {
	set       statefulSet
	services  map[string]service
	ingresses map[string]ingress
	budgets   []disruptionBudget
	objects   []string // kind/name, as kubectl names them
}

// loadManifests reads every file of k8s/, each document by its kind.
func loadManifests(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in k8s/: %v", err)
	}
	m := manifests{services: map[string]service{}, ingresses: map[string]ingress{}}
	sets := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var head struct {
				APIVersion string `yaml:"apiVersion"`
				Kind       string `yaml:"kind"`
			}
			if err := doc.Decode(&head); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			strict := func(v any) {
				t.Helper()
				text, err := yaml.Marshal(&doc)
				if err != nil {
					t.Fatal(err)
				}
				d := yaml.NewDecoder(bytes.NewReader(text))
				d.KnownFields(true)
				if err := d.Decode(v); err != nil {
					t.Fatalf("%s, a %s: %v", f, head.Kind, err)
				}
			}
			var name string
			switch head.APIVersion + " " + head.Kind {
			case "apps/v1 StatefulSet":
				strict(&m.set)
				name, sets = "statefulset.apps/"+m.set.Metadata.Name, sets+1
			case "v1 Service":
				var s service
				strict(&s)
				m.services[s.Metadata.Name] = s
				name = "service/" + s.Metadata.Name
			case "networking.k8s.io/v1 Ingress":
				var i ingress
				strict(&i)
				m.ingresses[i.Metadata.Name] = i
				name = "ingress.networking.k8s.io/" + i.Metadata.Name
			case "policy/v1 PodDisruptionBudget":
				var p disruptionBudget
				strict(&p)
				m.budgets = append(m.budgets, p)
				name = "poddisruptionbudget.policy/" + p.Metadata.Name
			default:
				t.Fatalf("%s: a %s %s, which these tests do not know", f, head.APIVersion, head.Kind)
			}
			if slices.Contains(m.objects, name) {
				t.Fatalf("%s: %s twice", f, name)
			}
			m.objects = append(m.objects, name)
		}
	}
	if sets != 1 {
		t.Fatalf("%d StatefulSets, want the one of sockplay's nodes", sets)
	}
	sort.Strings(m.objects)
	return m
}

// sockplayFlags are sockplay's flags, as its -h lists them.
func sockplayFlags(t *testing.T) map[string]bool {
	t.Helper()
	var help bytes.Buffer
	if _, err := server.ParseConfig([]string{"-h"}, func(string) string { return "" }, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllStringSubmatch(help.String(), -1) {
		flags[m[1]] = true
	}
	return flags
}

// TestManifestsAgreeWithSockplay: the manifests are of the API's shape,
// and say what sockplay does. Each SOCKPLAY_ variable is one of its
// flags, and together they are a configuration it takes; the grace
// period covers the drain and the shutdown; the probes ask /readyz and
// /healthz on the port the image listens on; Prometheus is pointed at
// -metrics-addr; every replica has a Service of its own that keeps it
// while it drains, and an Ingress path that matches its sessions' and
// watch links' paths, as the engine makes them, and no other node's.
func TestManifestsAgreeWithSockplay(t *testing.T) {
	m := loadManifests(t)
	set := m.set
	pod := set.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want sockplay's alone", len(pod.Containers))
	}
	c := pod.Containers[0]

	flags := sockplayFlags(t)
	env := map[string]string{}
	for _, e := range c.Env {
		name, ok := strings.CutPrefix(e.Name, "SOCKPLAY_")
		if !ok || !flags[strings.ReplaceAll(strings.ToLower(name), "_", "-")] {
			t.Errorf("the container's %s is no flag of sockplay's", e.Name)
		}
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = set.Metadata.Name + "-0" // the pod's name
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = "a-token-from-the-secret"
		default:
			env[e.Name] = e.Value
		}
	}
	cfg, err := server.ParseConfig(entrypointArgs(t), func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatalf("sockplay refuses the container's configuration: %v", err)
	}
	if cfg.Node != set.Metadata.Name+"-0" || cfg.PublicURL == nil || cfg.Token == "" || len(cfg.TrustedProxies) == 0 {
		t.Errorf("the container's sockplay: node %q, public URL %v, token set %v, trusted proxies %v: want each pod named, behind its public URL with the token, trusting the ingress",
			cfg.Node, cfg.PublicURL, cfg.Token != "", cfg.TrustedProxies)
	}

	need := cfg.DrainTimeout + cfg.ShutdownTimeout
	grace := time.Duration(pod.TerminationGracePeriodSeconds) * time.Second
	if grace < need || grace > need+2*time.Minute {
		t.Errorf("terminationGracePeriodSeconds %d: want -drain-timeout %v and -shutdown-timeout %v (%v), and a little more",
			pod.TerminationGracePeriodSeconds, cfg.DrainTimeout, cfg.ShutdownTimeout, need)
	}

	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	_, listens, _ := net.SplitHostPort(cfg.Addr)
	if strconv.Itoa(ports["http"]) != listens {
		t.Errorf("the container's http port %d; sockplay listens on %s", ports["http"], cfg.Addr)
	}
	for _, p := range []struct {
		what  string
		probe *probe
		path  string
	}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.Name != "http" {
			t.Errorf("the %s probe: %+v, want GET %s on the http port", p.what, p.probe, p.path)
		}
	}
	_, metricsPort, _ := net.SplitHostPort(cfg.MetricsAddr)
	if metricsPort == "" || strconv.Itoa(ports["metrics"]) != metricsPort || set.Spec.Template.Metadata.Annotations["prometheus.io/port"] != metricsPort {
		t.Errorf("-metrics-addr %q, the metrics port %d, Prometheus's annotation %q: want one port",
			cfg.MetricsAddr, ports["metrics"], set.Spec.Template.Metadata.Annotations["prometheus.io/port"])
	}
	if c.Resources.Limits["memory"] == "" || c.Resources.Limits["cpu"] == "" || c.Resources.Requests["memory"] == "" {
		t.Errorf("resources %+v: want limits on memory and CPU, and requests", c.Resources)
	}

	labels := set.Spec.Template.Metadata.Labels
	selects := func(sel map[string]string) bool {
		for k, v := range sel {
			if labels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	if !selects(set.Spec.Selector.MatchLabels) {
		t.Errorf("the StatefulSet's selector %v does not select its pods %v", set.Spec.Selector.MatchLabels, labels)
	}
	if h, ok := m.services[set.Spec.ServiceName]; !ok || h.Spec.ClusterIP != "None" || !selects(h.Spec.Selector) {
		t.Errorf("the StatefulSet's serviceName %q: want a headless Service of its pods: %+v", set.Spec.ServiceName, h.Spec)
	}
	ready, ok := m.services["sockplay-ready"]
	if !ok || !selects(ready.Spec.Selector) || ready.Spec.PublishNotReadyAddresses {
		t.Errorf("sockplay-ready: want every pod that is ready, and only those: %+v", ready.Spec)
	}
	for _, b := range m.budgets {
		if !selects(b.Spec.Selector.MatchLabels) || b.Spec.MaxUnavailable != 1 {
			t.Errorf("the disruption budget %s: %+v", b.Metadata.Name, b.Spec)
		}
	}

	// Every replica: its own Service, and its paths routed there.
	ing, ok := m.ingresses["sockplay"]
	if !ok || len(ing.Spec.Rules) != 1 {
		t.Fatalf("no Ingress sockplay of one rule: %+v", ing)
	}
	rule := ing.Spec.Rules[0]
	if rule.Host != cfg.PublicURL.Hostname() || len(ing.Spec.TLS) == 0 || !slices.Contains(ing.Spec.TLS[0].Hosts, rule.Host) || cfg.PublicURL.Scheme != "https" {
		t.Errorf("the Ingress's host %q and TLS %+v; the pods' public URL %v", rule.Host, ing.Spec.TLS, cfg.PublicURL)
	}
	paths := rule.HTTP.Paths
	routed := func(path string) (string, bool) {
		// ingress-nginx, with use-regex, tries the longest path first,
		// each as a regular expression from the start of the path.
		byLength := slices.Clone(paths)
		sort.SliceStable(byLength, func(i, j int) bool { return len(byLength[i].Path) > len(byLength[j].Path) })
		for _, p := range byLength {
			if regexp.MustCompile("^" + p.Path).MatchString(path) {
				return p.Backend.Service.Name, true
			}
		}
		return "", false
	}
	if ing.Metadata.Annotations["nginx.ingress.kubernetes.io/use-regex"] != "true" {
		t.Error("the Ingress's paths are regular expressions: it needs use-regex")
	}
	for i := range set.Spec.Replicas {
		node := set.Metadata.Name + "-" + strconv.Itoa(i)
		own, ok := m.services[node]
		if !ok || own.Spec.Selector["statefulset.kubernetes.io/pod-name"] != node || !own.Spec.PublishNotReadyAddresses || len(own.Spec.Selector) != 1 {
			t.Errorf("%s: want a Service of the pod alone, that keeps it while it drains: %+v", node, own.Spec)
		}
		for _, p := range nodePaths(t, node) {
			if to, _ := routed(p); to != node {
				t.Errorf("the Ingress sends %s to %q, want %s", p, to, node)
			}
		}
	}
	for _, p := range []string{"/", "/api/sessions", "/api/labs", "/static/app.js", "/replay"} {
		if to, _ := routed(p); to != "sockplay-ready" {
			t.Errorf("the Ingress sends %s to %q, want sockplay-ready", p, to)
		}
	}
	// No other node's: one of another name, or one whose name begins
	// with a replica's (sockplay-10 is not sockplay-1).
	others := []string{"other-node"}
	for i := range set.Spec.Replicas {
		if n := i*10 + 10; n >= set.Spec.Replicas {
			others = append(others, set.Metadata.Name+"-"+strconv.Itoa(n))
		}
	}
	for _, node := range others {
		for _, p := range nodePaths(t, node) {
			if to, _ := routed(p); to != "sockplay-ready" {
				t.Errorf("the Ingress sends %s, of no replica, to %q", p, to)
			}
		}
	}
}

// entrypointArgs are the Dockerfile's ENTRYPOINT's flags, which the
// container runs with.
func entrypointArgs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ENTRYPOINT \["/sockplay"((?:, "[^"]*")*)\]$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("the Dockerfile has no ENTRYPOINT [\"/sockplay\", ...]")
	}
	var args []string
	for _, a := range regexp.MustCompile(`"([^"]*)"`).FindAllSubmatch(m[1], -1) {
		args = append(args, string(a[1]))
	}
	return args
}

// nodePaths are the paths of a session and of its watch link on node, as
// the engine makes their ids.
func nodePaths(t *testing.T, node string) []string {
	t.Helper()
	mgr := sockets.NewManager(sockets.Config{Node: node})
	defer mgr.Close()
	s, err := mgr.Create()
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := mgr.WatchToken(s.ID())
	return []string{"/s/" + s.ID(), "/api/sessions/" + s.ID() + "/ws", "/api/sessions/" + s.ID() + "/export.py", "/w/" + tok, "/api/watch/" + tok + "/ws"}
}

// TestManifestsKubectl: kubectl apply --dry-run=client takes every
// manifest. It asks an API server which kinds there are even so; this
// one (on loopback) knows the four the manifests use, and has none of
// their objects yet. kubectl's schema validation would need the real
// server's OpenAPI documents, so it is off here (--validate=false), and
// TestManifestsAgreeWithSockplay checks the objects' shape instead.
func TestManifestsKubectl(t *testing.T) {
	kubectl := testkit.Kubectl(t)
	kinds := map[string][]string{ // group/version → kind, plural
		"v1":                   {"Service", "services"},
		"apps/v1":              {"StatefulSet", "statefulsets"},
		"networking.k8s.io/v1": {"Ingress", "ingresses"},
		"policy/v1":            {"PodDisruptionBudget", "poddisruptionbudgets"},
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch path := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/apis/"), "/api/"); {
		case r.URL.Path == "/api":
			io.WriteString(w, `{"kind":"APIVersions","versions":["v1"]}`)
		case r.URL.Path == "/apis":
			var groups []string
			for gv := range kinds {
				if g, v, ok := strings.Cut(gv, "/"); ok {
					groups = append(groups, fmt.Sprintf(`{"name":%q,"versions":[{"groupVersion":%q,"version":%q}],"preferredVersion":{"groupVersion":%q,"version":%q}}`, g, gv, v, gv, v))
				}
			}
			fmt.Fprintf(w, `{"kind":"APIGroupList","apiVersion":"v1","groups":[%s]}`, strings.Join(groups, ","))
		case kinds[path] != nil:
			k := kinds[path]
			fmt.Fprintf(w, `{"kind":"APIResourceList","groupVersion":%q,"resources":[{"name":%q,"namespaced":true,"kind":%q,"verbs":["create","get","patch"]}]}`, path, k[1], k[0])
		default: // the objects: none yet
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
		}
	})
	srv := httptest.NewServer(api)
	defer srv.Close()
	cmd := exec.Command(kubectl, "apply", "--dry-run=client", "--validate=false", "--server", srv.URL, "--kubeconfig", os.DevNull,
		"--cache-dir", t.TempDir(), "-o", "name", "-f", "k8s/")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "KUBECONFIG="+os.DevNull)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=client: %v\n%s", err, out)
	}
	got := strings.Fields(string(out))
	sort.Strings(got)
	if want := loadManifests(t).objects; !slices.Equal(got, want) {
		t.Fatalf("kubectl took %v; the manifests are %v", got, want)
	}
}
