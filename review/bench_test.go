package review

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"paperchart/filing/filingtest"
	"paperchart/users"
)

var imgSrc = regexp.MustCompile(`<figure class="page"[^>]*>\s*<img src="([^"]+)"`)

// BenchmarkConfirmNext measures what resolving one document costs the
// server: the confirm (file to the chosen patient, claim the next oldest
// document) and the view of the next document that follows it, over the
// real database and object store. Its metrics are the server-side times
// (the handler's, without the client's): server-ms/op for confirm + next
// view (the page), confirm-ms/op and view-ms/op apart, images-ms/op for the
// next document's page images, and p95-ms for the slowest twentieth of
// confirm + view. Run it with
//
//	go test -run '^$' -bench ConfirmNext -benchtime 100x ./review/
func BenchmarkConfirmNext(b *testing.B) {
	e := newEnv(b)
	ida := e.as(e.addUser("ida", users.Indexer))
	mai := e.patient("00410004")

	// Documents like the queue's: two pages, the twins as candidates.
	pages := []filingtest.Page{}
	for i := range 10 {
		if i > 0 {
			pages = append(pages, filingtest.Page{Sep: true})
		}
		pages = append(pages, filingtest.Page{Text: twinPage1}, filingtest.Page{Text: twinPage2})
	}
	refill := func() {
		e.batch("bench", pages)
	}
	refill()
	loc := wantLocB(b, ida.post("/review/next", nil), `/review/doc/\d+`)
	var cur int64
	fmt.Sscanf(loc, "/review/doc/%d", &cur)
	ida.get(loc)

	var confirm, view, images time.Duration
	var per []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.served.Store(0)
		r := ida.post(docPath(cur, "/confirm"), url.Values{"patient_id": {fmt.Sprint(mai.ID)}, "type": {"progress-note"}})
		c := time.Duration(e.served.Load())
		if r.code != http.StatusSeeOther {
			b.Fatalf("confirm: %d %.300s", r.code, r.body)
		}
		if strings.Contains(r.loc(), "empty=1") {
			b.StopTimer()
			refill()
			r = ida.post("/review/next", nil)
			b.StartTimer()
		}
		if _, err := fmt.Sscanf(r.loc(), "/review/doc/%d", &cur); err != nil {
			b.Fatalf("next: %q", r.loc())
		}
		e.served.Store(0)
		page := ida.get(r.loc())
		v := time.Duration(e.served.Load())
		if page.code != 200 {
			b.Fatalf("view: %d", page.code)
		}
		e.served.Store(0)
		for _, m := range imgSrc.FindAllStringSubmatch(page.body, -1) {
			req, _ := http.NewRequest("GET", e.srv.URL+m[1], nil)
			req.Header.Set("Referer", e.srv.URL+docPath(cur))
			if img := ida.do(req); img.code != 200 {
				b.Fatalf("image %s: %d", m[1], img.code)
			}
		}
		images += time.Duration(e.served.Load())
		confirm += c
		view += v
		per = append(per, c+v)
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(b.N) }
	b.ReportMetric(ms(confirm+view), "server-ms/op")
	b.ReportMetric(ms(confirm), "confirm-ms/op")
	b.ReportMetric(ms(view), "view-ms/op")
	b.ReportMetric(ms(images), "images-ms/op")
	slices.Sort(per)
	b.ReportMetric(float64(per[len(per)*95/100])/float64(time.Millisecond), "p95-ms")
}

func wantLocB(b *testing.B, r resp, pattern string) string {
	b.Helper()
	if r.code != http.StatusSeeOther || !regexp.MustCompile("^"+pattern).MatchString(r.loc()) {
		b.Fatalf("status %d to %q, want 303 to %s", r.code, r.loc(), pattern)
	}
	return r.loc()
}
