package storage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"paperchart/chart"
	"paperchart/internal/testenv"
	"paperchart/storage"
)

// BenchmarkRebuild measures writing and rebuilding from manifests of
// -benchbatches (default 100) batches of 10 pages (a page of OCR text
// each, about 2,500 characters) and 3 documents, as the pipeline leaves
// them:
//
//	go test ./storage -run '^$' -bench Rebuild -benchtime 3x
//
// It reports manifest bytes per batch, and batches per second written and
// rebuilt.
func BenchmarkRebuild(b *testing.B) {
	ctx := context.Background()
	const batches, pages = 100, 10
	db := testenv.DB(b)
	objs := testenv.Objects(b)
	text := strings.Repeat("Patient seen in clinic for follow-up of hypertension; plan unchanged. ", 36)
	for i := range batches {
		bt, _, err := db.RecordBatch(ctx, newBatch(fmt.Sprint("k", i), fmt.Sprint("sha", i)))
		testenv.Must(b, err, "record")
		db.MarkQueued(ctx, bt.ID, "pdf")
		db.StartSplit(ctx, bt.ID)
		var ps []storage.NewPage
		for p := 1; p <= pages; p++ {
			ps = append(ps, storage.NewPage{No: p, SourceKey: storage.PageSourceKey(bt.ID, p, ".jpg"), Kind: "image", DPI: 300})
		}
		testenv.Must(b, db.AddPages(ctx, bt.ID, "pdf", ps), "pages")
		for p := 1; p <= pages; p++ {
			_, err := db.CompletePage(ctx, storage.PageResult{BatchID: bt.ID, No: p, Text: text, WordCount: 400, MeanConf: 90})
			testenv.Must(b, err, "page")
		}
		db.Assembled(ctx, bt.ID, storage.SearchableKey(bt.ID))
		var docs []storage.NewDocument
		for d := 1; d <= 3; d++ {
			docs = append(docs, storage.NewDocument{Seq: d, State: storage.DocReview, Pages: []int{d}, ObjectKey: storage.ReviewDocumentKey(bt.ID, d),
				SeparatedBy: "content", SplitConfidence: 0.9, TypeConfidence: 0.9, Candidates: chart.Candidates{},
				Identifiers: chart.Identifiers{MRN: "00123456", Family: "DOE", Given: "JANE"}})
		}
		_, _, err = db.FinishFiling(ctx, bt.ID, docs)
		testenv.Must(b, err, "file")
	}
	start := time.Now()
	n, err := db.WriteDueManifests(ctx, objs, batches)
	testenv.Must(b, err, "write")
	wrote := time.Since(start)
	if n != batches {
		b.Fatalf("wrote %d manifests, want %d", n, batches)
	}
	info, err := objs.Stat(ctx, storage.ManifestKey(1))
	testenv.Must(b, err, "stat")
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		fresh := testenv.DB(b)
		b.StartTimer()
		sum, err := fresh.Rebuild(ctx, objs, storage.RebuildOptions{})
		testenv.Must(b, err, "rebuild")
		if sum.Batches != batches {
			b.Fatalf("rebuilt %d batches", sum.Batches)
		}
	}
	b.ReportMetric(float64(info.Size), "manifest-bytes/batch")
	b.ReportMetric(float64(batches)/wrote.Seconds(), "written-batches/s")
	b.ReportMetric(float64(batches)*float64(b.N)/b.Elapsed().Seconds(), "rebuilt-batches/s")
}
