package metrics

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"paperchart/internal/testenv"
	"paperchart/storage"
)

// scrape GETs /metrics as Prometheus would and parses the text format with
// Prometheus's own parser.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams
}

// value is the value of the family's sample with the given labels.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("no sample of %s with %v", name, labels)
	return 0
}

func TestScrape(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	for i, name := range []string{"a.pdf", "b.pdf"} {
		if _, _, err := db.RecordBatch(ctx, storage.NewBatch{Source: "test", Name: name, IngestKey: name,
			SHA256: strings.Repeat(string(rune('a'+i)), 64), Size: 10, OriginalKey: "originals/" + name}); err != nil {
			t.Fatal(err)
		}
	}
	redis := asynq.RedisClientOpt{Addr: testenv.RedisAddr()}
	prefix := testenv.Name("metrics") + ":"
	client := asynq.NewClient(redis)
	defer client.Close()
	if _, err := client.Enqueue(asynq.NewTask("page:ocr", []byte(`{}`)), asynq.Queue(prefix+"ocr")); err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(redis)
	defer insp.Close()
	t.Cleanup(func() { insp.DeleteQueue(prefix+"ocr", true) })

	m := New()
	if err := m.Register(&State{Pool: db.Pool(), Inspector: insp, Queues: []string{prefix + "ocr", prefix + "split"}}); err != nil {
		t.Fatal(err)
	}
	m.ObservePage(OutcomeText, 1200*time.Millisecond)
	m.ObservePage(OutcomeText, 800*time.Millisecond)
	m.ObservePage(OutcomeBlank, 0)
	m.ObserveStage("ocr", 2*time.Second)
	var none *Metrics
	none.ObservePage(OutcomeText, time.Second) // a nil Metrics records nothing and does not panic

	fams := scrape(t, m.Handler())
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"paperchart_pages_total", []string{"outcome", "text"}, 2},
		{"paperchart_pages_total", []string{"outcome", "blank"}, 1},
		{"paperchart_pages_total", []string{"outcome", "sheet"}, 0},
		{"paperchart_ocr_seconds", nil, 2},
		{"paperchart_stage_seconds", []string{"stage", "ocr"}, 1},
		{"paperchart_batches", []string{"state", storage.StateReceived}, 2},
		{"paperchart_review_queue_size", nil, 0},
		{"paperchart_manifests_due", nil, 2}, // the two received batches: no manifest writer runs here
		{"paperchart_queue_tasks", []string{"queue", prefix + "ocr", "state", "pending"}, 1},
		{"paperchart_queue_tasks", []string{"queue", prefix + "split", "state", "pending"}, 0},
		{"paperchart_state_scrape_errors", []string{"source", "database"}, 0},
		{"paperchart_state_scrape_errors", []string{"source", "queues"}, 0},
	} {
		if got := value(t, fams, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	if rss := value(t, fams, "process_resident_memory_bytes"); rss <= 0 {
		t.Errorf("process_resident_memory_bytes = %v", rss)
	}
	// Labels come from fixed sets: no label value may look like patient
	// data (the test's queue names are the only free text).
	for name, f := range fams {
		for _, mt := range f.Metric {
			for _, l := range mt.Label {
				if l.GetName() != "queue" && len(l.GetValue()) > 40 {
					t.Errorf("%s: label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}

// TestDashboard checks that deploy/grafana/paperchart.json is valid JSON
// and that every metric its panels query is one this package exposes.
func TestDashboard(t *testing.T) {
	data, err := os.ReadFile("../deploy/grafana/paperchart.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if len(dash.Panels) == 0 {
		t.Fatal("dashboard has no panels")
	}
	m := New()
	if err := m.Register(&State{}); err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	descs := make(chan *prometheus.Desc, 64)
	go func() { m.reg.Describe(descs); close(descs) }()
	for d := range descs {
		s := d.String() // Desc{fqName: "name", ...}
		if i := strings.Index(s, `fqName: "`); i >= 0 {
			rest := s[i+len(`fqName: "`):]
			known[rest[:strings.IndexByte(rest, '"')]] = true
		}
	}
	name := regexp.MustCompile(`\b(paperchart_[a-z_]+|process_[a-z_]+)`)
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, n := range name.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count"), "_sum")
				if !known[base] {
					t.Errorf("panel %q queries %s, which is not exposed", p.Title, n)
				}
			}
		}
	}
}
