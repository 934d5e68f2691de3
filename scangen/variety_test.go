package scangen

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testPatient is a fixed patient for the layout tests.
func testPatient() patient {
	return fromPatient(rand.New(rand.NewPCG(1, 1)), Patient{
		MRN: "00410001", Family: "Hartmann", Given: "Elise", Sex: "F",
		BirthDate: time.Date(1961, 4, 3, 0, 0, 0, 0, time.UTC),
	})
}

// renderDoc builds d at 100 dpi and renders every page, returning the
// truth of each.
func renderDoc(t *testing.T, d *document, r *rand.Rand) []PageTruth {
	t.Helper()
	d.build(r, 100, 6)
	var out []PageTruth
	for i := 1; i <= d.pages; i++ {
		pc := d.page(i)
		_, text, err := render(&pc, 100)
		if err != nil {
			t.Fatal(err)
		}
		tr := PageTruth{Text: text}
		pc.fillTruth(&tr)
		out = append(out, tr)
	}
	return out
}

// TestHeaderLabels renders a first page with every label variant of the
// patient header and checks that the label and value are printed and that
// the truth says which MRN is the patient's own.
func TestHeaderLabels(t *testing.T) {
	t.Parallel()
	p := testPatient()
	type variant struct{ name, mrn, dob int }
	var cases []variant
	for i := range nameLabels {
		cases = append(cases, variant{i, 0, 0})
	}
	for i := range mrnLabels {
		cases = append(cases, variant{0, i, 0})
	}
	for i := range dobLabels {
		cases = append(cases, variant{0, 0, i})
	}
	for _, c := range cases {
		name := nameLabels[c.name] + "|" + mrnLabels[c.mrn] + "|" + dobLabels[c.dob]
		t.Run(name, func(t *testing.T) {
			// Draw until the document prints our MRN (another facility's
			// may take its place) without a typo.
			for seed := uint64(1); ; seed++ {
				if seed > 200 {
					t.Fatal("no draw prints the patient's own MRN")
				}
				r := rand.New(rand.NewPCG(seed, 2))
				d := newDocument(r, kindByCode(TypeProgressNote), 1, 1, p)
				d.layout, d.title, d.pblock = LayoutSingle, "PROGRESS NOTE", 2
				d.ids = newIDsStyle(r, p, idsStyle{c.name, c.mrn, c.dob})
				if d.ids.mrn == "" || d.ids.typoed {
					continue
				}
				tr := renderDoc(t, d, r)[0]
				for _, want := range []string{
					nameLabels[c.name] + " " + d.ids.nameOnly,
					mrnLabels[c.mrn] + " " + d.ids.mrnOnly,
					dobLabels[c.dob] + " " + d.ids.dobOnly,
				} {
					if !strings.Contains(tr.Text, want) {
						t.Errorf("page does not print %q:\n%s", want, tr.Text)
					}
				}
				if tr.MRN != "00410001" || tr.PrintedMRN != d.ids.mrnOnly || strings.TrimLeft(tr.PrintedMRN, "0") != "410001" {
					t.Errorf("truth MRN %q printed %q, want the patient's own 00410001", tr.MRN, tr.PrintedMRN)
				}
				if tr.IDConflict != d.ids.otherPlain {
					t.Errorf("conflict %v with other MRN %q labelled %q", tr.IDConflict, tr.OtherMRN, tr.OtherMRNLabel)
				}
				return
			}
		})
	}
}

// TestDemographicVariants draws many documents' identifiers and checks
// that each kind of variation printed on paper shows up, with the truth
// right for each.
func TestDemographicVariants(t *testing.T) {
	t.Parallel()
	p := testPatient()
	p.given = "WILLIAM"
	seen := map[string]int{}
	r := rand.New(rand.NewPCG(5, 5))
	for range 3000 {
		x := newIDs(r, p)
		switch {
		case strings.Contains(x.nameOnly, "BILL") || strings.Contains(x.nameOnly, "Bill"):
			seen["nickname"]++
		case regexp.MustCompile(`\b[A-Z]\.`).MatchString(x.nameOnly):
			seen["initial"]++
		}
		if x.dob == "" {
			seen["no birth date"]++
		}
		if x.dobOnly == "03/04/1961" { // 3 April printed day first
			seen["day and month swapped"]++
		}
		if x.mrn == "" {
			seen["no MRN"]++
		}
		if x.acct != "" {
			seen["account number"]++
		}
		if x.typoed {
			seen["MRN typo"]++
			if !x.conflict {
				t.Errorf("MRN printed %q with a typo is not flagged", x.mrnOnly)
			}
		}
		if x.otherMRN != "" {
			if x.otherPlain {
				seen["other facility's MRN labelled MRN"]++
				if !x.conflict {
					t.Errorf("other MRN under a bare label %q not flagged", x.other)
				}
			} else {
				seen["outside MRN"]++
			}
			if x.otherMRN == p.mrn {
				t.Errorf("other facility's MRN equals ours")
			}
		}
		if !x.typoed && !x.otherPlain && x.conflict {
			t.Errorf("conflict flagged without cause: %+v", x)
		}
	}
	for _, k := range []string{"nickname", "initial", "no birth date", "day and month swapped", "no MRN", "account number",
		"MRN typo", "other facility's MRN labelled MRN", "outside MRN"} {
		if seen[k] == 0 {
			t.Errorf("no document shows %s: %v", k, seen)
		}
	}
}

// TestLayoutVariety checks over planned batches that every letterhead,
// running header and footer style, fax transmissions, flowing text,
// unsigned documents, SOAP notes and multi-column forms turn up, and that
// fax headers count the pages of their transmission.
func TestLayoutVariety(t *testing.T) {
	t.Parallel()
	seen := map[string]int{}
	faxRe := regexp.MustCompile(`(?:P\.|PAGE|Page) ?0*(\d+)(?:/0*| of )(\d+)`)
	for seed := range uint64(30) {
		opt := Options{Pages: 30, Seed: seed, Format: FormatPDF, DPI: 100}
		if err := opt.normalize(); err != nil {
			t.Fatal(err)
		}
		cp := newContentPlanner(&opt, 100)
		left := opt.Pages
		for n := 1; left > 0; n++ {
			d := cp.document(n, left)
			left -= d.pages
			seen["head "+itoa(d.head)]++
			seen["footer "+itoa(d.footer)]++
			if d.pages > 1 {
				seen["running "+itoa(d.running)]++
			}
			if d.flow && d.pages > 1 {
				seen["flowing text"]++
			}
			if !d.signed {
				seen["unsigned"]++
			}
			if isSOAP(d.sections) {
				seen["S:/O:/A:/P:"]++
			}
			if d.layout == LayoutColumns {
				seen["multi-column form"]++
			}
			if d.pages == 1 {
				seen["one page"]++
			}
			if d.fax == nil {
				continue
			}
			seen["fax"]++
			if d.faxCover {
				seen["fax cover"]++
			}
			for i, pc := range d.built {
				var header string
				for _, b := range pc.blocks {
					if b.faxSlot {
						header = b.lines[0]
					}
				}
				if header == "" {
					t.Fatalf("seed %d document %d page %d of a fax has no header", seed, n, i+1)
				}
				if m := faxRe.FindStringSubmatch(header); m != nil && atoi(m[2]) != d.fax.totalPages {
					t.Errorf("fax header %q counts %s pages, the transmission has %d", header, m[2], d.fax.totalPages)
				}
			}
		}
		if cp.queue != nil && len(cp.queue) > 0 {
			t.Errorf("seed %d: documents drawn beyond the batch", seed)
		}
	}
	for _, k := range []string{"fax", "fax cover", "flowing text", "unsigned", "S:/O:/A:/P:", "multi-column form", "one page"} {
		if seen[k] == 0 {
			t.Errorf("never generated: %s (%v)", k, seen)
		}
	}
	for i := range numHeads {
		if seen["head "+itoa(i)] == 0 {
			t.Errorf("letterhead style %d never generated", i)
		}
	}
	for i := range numFooters {
		if seen["footer "+itoa(i)] == 0 {
			t.Errorf("footer style %d never generated", i)
		}
	}
	for i := range numRunning {
		if seen["running "+itoa(i)] == 0 {
			t.Errorf("running header style %d never generated", i)
		}
	}
}

// TestFlowingText checks that text laid out over page breaks is drawn
// whole (the renderer cuts nothing paginate placed) and runs on from one
// page to the next.
func TestFlowingText(t *testing.T) {
	t.Parallel()
	p := testPatient()
	midSentence := 0
	for seed := uint64(1); seed <= 40; seed++ {
		r := rand.New(rand.NewPCG(seed, 3))
		d := newDocument(r, kindByCode(TypeDischargeSummary), 1, 4, p)
		d.flow, d.pages = true, 3
		trs := renderDoc(t, d, r)
		for i, pc := range d.built {
			for _, b := range pc.blocks {
				for _, l := range b.lines {
					if l != "" && !strings.Contains(trs[i].Text, l) {
						t.Errorf("seed %d page %d: line %q laid out but not drawn", seed, i+1, l)
					}
				}
			}
			if i > 0 {
				if first := strings.SplitN(trs[i].Text, "\n", 2)[0]; first != "" && first[0] >= 'a' && first[0] <= 'z' {
					midSentence++
				}
			}
		}
	}
	if midSentence == 0 {
		t.Error("no page starts in the middle of a sentence")
	}
	// A long text comes out whole and in order, over several pages, at
	// every resolution.
	long, err := os.ReadFile("testdata/bodies/discharge-summary/long.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, dpi := range []int{100, 200, 300} {
		r := rand.New(rand.NewPCG(9, uint64(dpi)))
		d := newDocument(r, kindByCode(TypeDischargeSummary), 1, 1, p)
		d.flow, d.body, d.layout = true, normalizeBody(string(long)), LayoutText
		d.build(r, dpi, 8)
		var words []string
		for i := 1; i <= d.pages; i++ {
			pc := d.page(i)
			_, text, err := render(&pc, dpi)
			if err != nil {
				t.Fatal(err)
			}
			words = append(words, strings.Fields(text)...)
		}
		if d.pages < 2 {
			t.Errorf("%d dpi: the long text fits on %d page", dpi, d.pages)
		}
		if want := strings.Fields(string(long)); !containsRun(words, want) {
			t.Errorf("%d dpi: the text's %d words are not all printed in order over %d pages", dpi, len(want), d.pages)
		}
	}
}

// TestBodies generates batches whose bodies are the texts of a folder and
// checks that the texts are laid out under our headers with the usual
// truth.
func TestBodies(t *testing.T) {
	t.Parallel()
	b, err := LoadBodies("testdata/bodies")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.Types(), ","); got != "discharge-summary,progress-note,correspondence" {
		t.Errorf("types %s", got)
	}
	long, err := os.ReadFile("testdata/bodies/discharge-summary/long.txt")
	if err != nil {
		t.Fatal(err)
	}
	multi := 0
	for seed := uint64(1); seed <= 3; seed++ {
		opt := DefaultOptions()
		opt.Format, opt.Seed, opt.DPI, opt.Pages, opt.Bodies = FormatPDF, seed, 100, 12, b
		tr, err := Generate(context.Background(), io.Discard, opt)
		if err != nil {
			t.Fatal(err)
		}
		byDoc := map[int][]PageTruth{}
		for _, p := range tr.Pages {
			if p.Blank {
				continue
			}
			if p.Layout != LayoutText && !(p.Layout == LayoutForm && p.Type == TypeOther) { // fax covers are ours
				t.Errorf("seed %d page %d: layout %s", seed, p.Number, p.Layout)
			}
			if p.Type != TypeOther && b.Len(p.Type) == 0 {
				t.Errorf("seed %d page %d: type %s has no texts", seed, p.Number, p.Type)
			}
			if p.MRN == "" || p.Patient == "" {
				t.Errorf("seed %d page %d: no patient in the truth", seed, p.Number)
			}
			byDoc[p.Document] = append(byDoc[p.Document], p)
		}
		for _, pages := range byDoc {
			if pages[0].Type != TypeDischargeSummary {
				continue
			}
			var all strings.Builder
			for _, p := range pages {
				all.WriteString(p.Text + "\n")
			}
			if len(pages) > 1 {
				multi++
			}
			// The text's words come out in order, across page breaks (the
			// batch's last document may be cut short by the batch's end).
			words := strings.Fields(all.String())
			want := strings.Fields(string(long))
			last := true // no document after it: the batch's end may have cut it
			for _, q := range tr.Pages[pages[len(pages)-1].Number:] {
				last = last && q.Blank
			}
			if last || pages[len(pages)-1].DocumentPages == maxBodyPages {
				want = want[:120]
			}
			if !containsRun(words, want) {
				t.Errorf("seed %d: the discharge summary's words are not all printed in order", seed)
			}
		}
	}
	if multi == 0 {
		t.Error("the long text never ran over a page")
	}
}

// containsRun reports whether want appears in words in order, other words
// (headers, footers) allowed between.
func containsRun(words, want []string) bool {
	j := 0
	for _, w := range words {
		if j < len(want) && w == want[j] {
			j++
		}
	}
	return j == len(want)
}

func TestLoadBodiesErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mk := func(path, text string) string {
		full := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return filepath.Dir(filepath.Dir(full))
	}
	for _, tc := range []struct {
		name, dir, want string
	}{
		{"unknown type", "testdata/badbodies", "not a document type"},
		{"missing folder", filepath.Join(dir, "nope"), "read bodies folder"},
		{"not txt", mk("a/lab-report/x.doc", "x"), "not a .txt file"},
		{"empty text", mk("b/lab-report/x.txt", " \n"), "lab-report/x.txt"},
		{"no texts", mk("c/lab-report/.hidden", "x"), "no body texts"},
	} {
		_, err := LoadBodies(tc.dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
	if _, err := NewBodies(map[string][]string{"nope": {"x"}}); err == nil {
		t.Error("NewBodies took an unknown type")
	}
	if _, err := NewBodies(map[string][]string{TypeLabReport: {"  "}}); err == nil {
		t.Error("NewBodies took an empty text")
	}
}
