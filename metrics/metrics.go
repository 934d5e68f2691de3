// Package metrics exposes paperchart's Prometheus metrics: pages OCR'd,
// OCR time, stage latencies, and at each scrape batches by state, queue
// depth per queue, the review queue's size and age and documents by state
// and by the decision that held them, read from PostgreSQL and Redis; plus
// the process's own figures (RSS, CPU, Go runtime).
//
// Labels never carry patient data: only states, stages, outcomes, queue
// names and decision kinds, each from a small fixed set.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Page outcomes of the OCR task.
const (
	OutcomeText  = "text"  // recognised
	OutcomeBlank = "blank" // blank, not OCR'd
	OutcomeSheet = "sheet" // cover or separator sheet, not OCR'd
)

// Metrics is one process's registry and the metrics its tasks update.
// Its methods are safe for concurrent use; a nil *Metrics records nothing.
type Metrics struct {
	reg   *prometheus.Registry
	pages *prometheus.CounterVec
	ocr   prometheus.Histogram
	stage *prometheus.HistogramVec
}

// New makes a registry with the process and Go runtime collectors and
// paperchart's task metrics.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paperchart_pages_total", Help: "Pages finished by the OCR task, by outcome (text, blank, sheet).",
		}, []string{"outcome"}),
		ocr: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "paperchart_ocr_seconds", Help: "Time of OCR per page (orientation, deskew, Tesseract).",
			Buckets: []float64{0.05, 0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 10, 20},
		}),
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "paperchart_stage_seconds", Help: "Time of one task of a stage (split, ocr, assemble, file).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}, []string{"stage"}),
	}
	m.reg.MustRegister(m.pages, m.ocr, m.stage,
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	for _, o := range []string{OutcomeText, OutcomeBlank, OutcomeSheet} {
		m.pages.WithLabelValues(o) // present from the start, at 0
	}
	return m
}

// Register adds a collector, for example a State.
func (m *Metrics) Register(c prometheus.Collector) error { return m.reg.Register(c) }

// Handler serves the metrics in Prometheus's formats (GET /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObservePage records a page the OCR task finished; ocr is the OCR time
// (0 for pages not OCR'd).
func (m *Metrics) ObservePage(outcome string, ocr time.Duration) {
	if m == nil {
		return
	}
	m.pages.WithLabelValues(outcome).Inc()
	if outcome == OutcomeText {
		m.ocr.Observe(ocr.Seconds())
	}
}

// ObserveStage records one task of a stage and how long it ran.
func (m *Metrics) ObserveStage(stage string, d time.Duration) {
	if m == nil {
		return
	}
	m.stage.WithLabelValues(stage).Observe(d.Seconds())
}

// State reads, at each scrape, what is in the database and the queues.
type State struct {
	// Pool is the paperchart database.
	Pool *pgxpool.Pool
	// Inspector and Queues: the asynq queues to report (their full names,
	// prefix included). Nil Inspector: no queue figures.
	Inspector *asynq.Inspector
	Queues    []string
	// Timeout bounds one scrape's queries; default 5 s.
	Timeout time.Duration
}

var (
	batchesDesc  = prometheus.NewDesc("paperchart_batches", "Batches by state.", []string{"state"}, nil)
	docsDesc     = prometheus.NewDesc("paperchart_documents", "Documents by state.", []string{"state"}, nil)
	heldDesc     = prometheus.NewDesc("paperchart_documents_held", "Documents in the review queue by the decision a person must make (split, type, patient); a document may count under several.", []string{"decision"}, nil)
	reviewDesc   = prometheus.NewDesc("paperchart_review_queue_size", "Documents waiting in the review queue.", nil, nil)
	reviewAge    = prometheus.NewDesc("paperchart_review_queue_oldest_seconds", "Age of the oldest document waiting for review; 0 when none waits.", nil, nil)
	queueDesc    = prometheus.NewDesc("paperchart_queue_tasks", "Tasks in each queue by state (pending, active, scheduled, retry, archived); scheduled counts the reconciler's canary task, one per queue, due in a century.", []string{"queue", "state"}, nil)
	queueLatency = prometheus.NewDesc("paperchart_queue_latency_seconds", "How long the oldest pending task of each queue has waited.", []string{"queue"}, nil)
	manifestsDue = prometheus.NewDesc("paperchart_manifests_due", "Settled batches whose manifest in the bucket lacks their latest changes (written within seconds; growing: the object store refuses, or no worker or serve process runs).", nil, nil)
	manifestAge  = prometheus.NewDesc("paperchart_manifest_oldest_change_seconds", "Age of the oldest change of a settled batch not yet in its manifest; 0 when none waits.", nil, nil)
	scrapeErr    = prometheus.NewDesc("paperchart_state_scrape_errors", "1 when this scrape could not read the database or the queues (the figures it could read are still given).", []string{"source"}, nil)
)

// Describe implements prometheus.Collector.
func (s *State) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{batchesDesc, docsDesc, heldDesc, reviewDesc, reviewAge, manifestsDue, manifestAge, queueDesc, queueLatency, scrapeErr} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *State) Collect(ch chan<- prometheus.Metric) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	dbErr := 0.0
	if s.Pool != nil {
		if err := s.collectDB(ctx, ch); err != nil {
			dbErr = 1
		}
	}
	ch <- prometheus.MustNewConstMetric(scrapeErr, prometheus.GaugeValue, dbErr, "database")
	if s.Inspector != nil {
		qErr := 0.0
		known := map[string]bool{}
		names, err := s.Inspector.Queues()
		if err != nil {
			qErr = 1
		}
		for _, q := range names {
			known[q] = true
		}
		for _, q := range s.Queues {
			info, err := &asynq.QueueInfo{}, error(nil) // a queue no task was ever put in
			if known[q] {
				info, err = s.Inspector.GetQueueInfo(q)
			}
			if err != nil {
				qErr = 1
				continue
			}
			for state, n := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
				"retry": info.Retry, "archived": info.Archived} {
				ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(n), q, state)
			}
			ch <- prometheus.MustNewConstMetric(queueLatency, prometheus.GaugeValue, info.Latency.Seconds(), q)
		}
		ch <- prometheus.MustNewConstMetric(scrapeErr, prometheus.GaugeValue, qErr, "queues")
	}
}

func (s *State) collectDB(ctx context.Context, ch chan<- prometheus.Metric) error {
	for _, q := range []struct {
		desc *prometheus.Desc
		sql  string
	}{
		{batchesDesc, `SELECT state, count(*) FROM batches GROUP BY state`},
		{docsDesc, `SELECT state, count(*) FROM documents GROUP BY state`},
		{heldDesc, `SELECT d, count(*) FROM (
			SELECT unnest(ARRAY[CASE WHEN split_review THEN 'split' END, CASE WHEN type_review THEN 'type' END,
				CASE WHEN patient_review THEN 'patient' END]) AS d FROM documents WHERE state = 'review') x
			WHERE d IS NOT NULL GROUP BY d`},
	} {
		rows, err := s.Pool.Query(ctx, q.sql)
		if err != nil {
			return err
		}
		for rows.Next() {
			var label string
			var n int64
			if err := rows.Scan(&label, &n); err != nil {
				rows.Close()
				return err
			}
			ch <- prometheus.MustNewConstMetric(q.desc, prometheus.GaugeValue, float64(n), label)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	var n int64
	var age float64
	err := s.Pool.QueryRow(ctx, `SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8
		FROM documents WHERE state = 'review'`).Scan(&n, &age)
	if err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(reviewDesc, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(reviewAge, prometheus.GaugeValue, age)
	// Batches in flight are written once they settle (storage/manifest.go).
	err = s.Pool.QueryRow(ctx, `SELECT count(DISTINCT c.batch_id), COALESCE(EXTRACT(EPOCH FROM now() - min(c.at)), 0)::float8
		FROM manifest_changes c JOIN batches b ON b.id = c.batch_id
		WHERE b.state NOT IN ('splitting', 'ocr', 'assembling', 'filing')`).Scan(&n, &age)
	if err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(manifestsDue, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(manifestAge, prometheus.GaugeValue, age)
	return nil
}
