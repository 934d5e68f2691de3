package separate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"paperchart/classify"
	"paperchart/extract"
	"paperchart/sheets"
)

// Page is what separation knows of one page of a batch, in batch order.
type Page struct {
	No      int          // 1-based page number in the batch
	Text    string       // OCR text of the page (may be noisy), "" for blank pages and sheets
	Blank   bool         // blank sheet (detected by the OCR stage)
	Sheet   sheets.Sheet // what sheets.Classify said, when IsSheet
	IsSheet bool         // the page is a cover or separator sheet
	Labels  []string     // MRNs read from patient-label barcodes on the page (may be empty)
}

// Document is one document cut from a batch.
type Document struct {
	// Pages are the batch page numbers of the document's pages, in order;
	// blank pages and sheets are never included, and never empty.
	Pages []int
	// Findings are what separation read on each of Pages, in the same
	// order, for the stages after it.
	Findings []Findings
	// Cover is the cover sheet that opened the document, if any.
	Cover *sheets.Sheet
	// By is what started it: "cover", "separator", "content", or "first"
	// (the pages of a batch before its first sheet, or the first document
	// of a batch without sheets).
	By string
	// Confidence is the probability that both boundaries of the document
	// are right: that it starts where it starts, that no other document
	// starts inside it, and that the next one starts where it ends.
	Confidence float64
	// Reasons say in plain words, without patient data, why the document
	// starts where it does and what casts doubt on it.
	Reasons []string
	// StartConfidence is the probability that the document starts where it
	// does, EndConfidence that the next one starts where it ends (1 at a
	// sheet, at the batch's ends and after a person's edit), and
	// InnerConfidence that no other starts inside it: Confidence is their
	// product.
	StartConfidence, InnerConfidence, EndConfidence float64
	// BeforeFirstSheet marks the pages of a batch before its first sheet,
	// which a person always checks.
	BeforeFirstSheet bool
	// Doubts are the Reasons that cast doubt on the document's boundaries,
	// in plain words ("page 4 may start another document"), for the person
	// who checks the split.
	Doubts []string
	// FaxNext says that the document's last page and the next document's
	// first page are consecutive pages of one fax transmission: sent
	// together, most likely about the same patient. Pages behind a fax
	// cover sheet that announces their count are one transmission too,
	// with or without a header.
	FaxNext bool
	// Review is set when Confidence is under the separator's threshold, and
	// for documents found before the first cover sheet of a batch: a person
	// must check the split.
	Review bool
}

// What started a document (Document.By).
const (
	ByCover     = "cover"
	BySeparator = "separator"
	ByContent   = "content"
	ByFirst     = "first"
)

// DefaultThreshold is the confidence under which a document goes to review
// unless Config.Threshold says otherwise.
const DefaultThreshold = 0.9

// sheetMissPrior is the prior probability that a given page inside a
// sheet-delimited segment starts a document the operator gave no sheet (a
// forgotten separator). Content evidence is weighed against it, so only
// strong evidence casts doubt on a sheet's document.
const sheetMissPrior = 0.005

// Config sets up a Separator.
type Config struct {
	// Extractor reads patient identifiers; nil means extract.New with the
	// zero Config.
	Extractor *extract.Extractor
	// Classifier gives page types and recognises titles; nil means
	// classify.Default() (about a tenth of a second to load: pass the one
	// the process already holds).
	Classifier *classify.Model
	// Threshold is the confidence under which a document is flagged for
	// review, in (0, 1]; 0 means DefaultThreshold.
	Threshold float64
}

// Separator cuts batches into documents. It is safe for concurrent use.
type Separator struct {
	ext       *extract.Extractor
	cls       *classify.Model
	types     map[string]int
	codes     []string
	threshold float64
	w         vector
	prior     float64 // share of pages starting a document in training data
}

// ErrInvalidPages is wrapped by Split's error when its input is malformed.
var ErrInvalidPages = errors.New("separate: invalid pages")

// New returns a Separator.
func New(cfg Config) (*Separator, error) {
	s := &Separator{ext: cfg.Extractor, cls: cfg.Classifier, threshold: cfg.Threshold}
	if s.threshold == 0 {
		s.threshold = DefaultThreshold
	}
	if !(s.threshold > 0 && s.threshold <= 1) {
		return nil, fmt.Errorf("separate: threshold %g out of range (0, 1]", cfg.Threshold)
	}
	if s.ext == nil {
		x, err := extract.New(extract.Config{})
		if err != nil {
			return nil, fmt.Errorf("separate: identifier extractor: %w", err)
		}
		s.ext = x
	}
	if s.cls == nil {
		m, err := classify.Default()
		if err != nil {
			return nil, fmt.Errorf("separate: document classifier: %w", err)
		}
		s.cls = m
	}
	s.types = typeIndex(s.cls)
	s.codes = s.cls.Types()
	s.w, s.prior = trainedModel()
	return s, nil
}

// Threshold is the confidence under which a document is flagged for review.
func (s *Separator) Threshold() float64 { return s.threshold }

// segment is the pages between two sheets (or the batch's ends).
type segment struct {
	opener  *Page // the sheet before it; nil at the start of the batch
	leading bool  // before the first sheet of a batch that has sheets
	pages   []Page
}

// Split cuts a batch into documents, in batch order. pages must be the
// whole batch in order: page numbers positive and increasing. Blank pages
// and sheets are never pages of a document; a sheet followed by no content
// page before the next sheet or the end of the batch yields no document.
// It returns ctx's error if ctx ends while pages are being read.
func (s *Separator) Split(ctx context.Context, pages []Page) ([]Document, error) {
	if err := validate(pages); err != nil {
		return nil, err
	}
	var segs []segment
	cur := segment{}
	var firstSheet *Page
	for i := range pages {
		p := &pages[i]
		if !p.IsSheet {
			cur.pages = append(cur.pages, *p)
			continue
		}
		segs = append(segs, cur)
		if firstSheet == nil {
			firstSheet = p
		}
		cur = segment{opener: p}
	}
	segs = append(segs, cur)
	if firstSheet != nil {
		segs[0].leading = true
	}
	var docs []Document
	for _, sg := range segs {
		// Content rules cut a segment only when no sheet delimits it: in a
		// batch without sheets, and before the first sheet when that is a
		// cover (every document was meant to have one).
		cut := firstSheet == nil || sg.leading && firstSheet.Sheet.Kind == sheets.Cover
		d, err := s.segment(ctx, sg, cut)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d...)
	}
	return docs, nil
}

func validate(pages []Page) error {
	last := 0
	for i, p := range pages {
		if p.No <= last {
			return fmt.Errorf("%w: page %d (position %d) does not follow page %d", ErrInvalidPages, p.No, i+1, last)
		}
		last = p.No
		if p.IsSheet && p.Sheet.Kind != sheets.Cover && p.Sheet.Kind != sheets.Separator {
			return fmt.Errorf("%w: page %d is a sheet of kind %s, not a cover or separator", ErrInvalidPages, p.No, p.Sheet.Kind)
		}
	}
	return nil
}

// scored is one content page of a segment with its boundary evidence.
type scored struct {
	sig   signals
	find  Findings
	blank bool     // a blank page lies between it and the previous content page (or the segment start)
	x     vector   // features (zero for the segment's first page)
	ev    evidence // sufficient evidence beside the features
	p     float64  // probability that it starts a document (1 for the segment's first page)
	start bool     // it starts a document
}

// score reads a segment's content pages and scores each as a boundary
// against the document it would continue. Pages are decided in order:
// starts says whether a page after the first starts a document, given it
// and the page before, so that each page is compared with the pages of its
// own document only.
func (s *Separator) score(ctx context.Context, pages []Page, starts func(prev, cur *scored) bool) ([]scored, error) {
	var out []scored
	var sigs []signals
	docStart := 0
	blank := false
	classOf := func(i int) string { return s.codes[i] }
	for _, p := range pages {
		if p.Blank {
			blank = true
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("separate: %w", err)
		}
		sig, find := s.read(p.No, p.Text, p.Labels)
		sc := scored{sig: sig, find: find, blank: blank, p: 1, start: len(out) == 0}
		blank = false
		if len(sigs) > 0 {
			sc.x, sc.ev = features(sigs[docStart:], &sc.sig, sc.blank, classOf)
			sc.p = sigmoid(logit(&s.w, &sc.x))
			for _, f := range []struct {
				on    bool
				floor float64
			}{{sc.ev.labelDiff, labelFloor}, {sc.ev.mrnDiff, mrnFloor}, {sc.ev.nameDOB, nameDOBFloor}} {
				if f.on && sc.p < f.floor {
					sc.p = f.floor
				}
			}
			sc.start = starts(&out[len(out)-1], &sc)
			if sc.start {
				docStart = len(sigs)
			}
		}
		sigs = append(sigs, sc.sig)
		out = append(out, sc)
	}
	return out, nil
}

// segment cuts one segment into documents: by content when cut, else as
// one document whose confidence content evidence can only lower.
func (s *Separator) segment(ctx context.Context, sg segment, cut bool) ([]Document, error) {
	// q is the probability that a page starts a document: the content
	// model's, or inside a sheet's document the content odds weighed
	// against the prior of a forgotten sheet instead of the model's own.
	q := func(p float64) float64 {
		if cut {
			return p
		}
		shift := logOdds(sheetMissPrior) - logOdds(s.prior)
		return sigmoid(logOdds(math.Min(math.Max(p, 1e-12), 1-1e-12)) + shift)
	}
	// Even between sheets, content cuts where it is sure despite that
	// prior: the operator forgot a sheet.
	sc, err := s.score(ctx, sg.pages, func(_, p *scored) bool { return q(p.p) >= 0.5 })
	if err != nil || len(sc) == 0 {
		return nil, err
	}
	var starts []int // indices into sc
	for i := range sc {
		if sc[i].start {
			starts = append(starts, i)
		}
	}
	// reach[i] is the last page of the fax transmission that page i is in,
	// as the last cover sheet before it announced its page count; -1 when
	// none. Pages sent behind a cover need not carry the fax header.
	reach := make([]int, len(sc))
	last := -1
	for i := range sc {
		if n := sc[i].sig.faxPages; n > 0 {
			last = i + n - 1
		}
		reach[i] = last
	}
	var docs []Document
	for di, a := range starts {
		b := len(sc)
		if di+1 < len(starts) {
			b = starts[di+1]
		}
		d := Document{Confidence: 1, StartConfidence: 1, InnerConfidence: 1, EndConfidence: 1}
		for i := a; i < b; i++ {
			d.Pages = append(d.Pages, sc[i].sig.no)
			d.Findings = append(d.Findings, sc[i].find)
		}
		switch {
		case a > 0:
			d.By = ByContent
			d.StartConfidence = q(sc[a].p)
			d.Reasons = s.startReasons(sc, a)
			if !cut {
				d.Reasons = append(d.Reasons, "no sheet before it")
			}
			if q(sc[a].p) < s.threshold {
				d.doubt(fmt.Sprintf("page %d may belong to the document before", sc[a].sig.no))
			}
		case sg.opener == nil:
			d.By = ByFirst
			if sg.leading {
				d.Reasons = append(d.Reasons, "pages before the first sheet")
			} else {
				d.Reasons = append(d.Reasons, "first page of the batch")
			}
		case sg.opener.Sheet.Kind == sheets.Cover:
			d.By = ByCover
			c := sg.opener.Sheet
			d.Cover = &c
			d.Reasons = append(d.Reasons, "cover sheet")
			if c.MRN == "" {
				d.Reasons = append(d.Reasons, "cover sheet names no patient")
			}
		default:
			d.By = BySeparator
			d.Reasons = append(d.Reasons, "separator sheet")
		}
		for i := a + 1; i < b; i++ {
			qi := q(sc[i].p)
			d.InnerConfidence *= 1 - qi
			// A doubt that alone would send the document to review is named.
			if 1-qi < s.threshold {
				d.doubt(fmt.Sprintf("page %d may start another document", sc[i].sig.no))
			}
		}
		if b < len(sc) {
			d.FaxNext = sc[b].sig.fax.follows(sc[b-1].sig.fax) || reach[b-1] >= b
			d.EndConfidence = q(sc[b].p)
			if q(sc[b].p) < s.threshold {
				d.doubt(fmt.Sprintf("page %d may continue it", sc[b].sig.no))
			}
		}
		d.Confidence = d.StartConfidence * d.InnerConfidence * d.EndConfidence
		d.Review = d.Confidence < s.threshold
		if cut && sg.leading {
			d.Review, d.BeforeFirstSheet = true, true
			d.doubt("no cover sheet before it")
		}
		docs = append(docs, d)
	}
	return docs, nil
}

// doubt records a reason that casts doubt on the document's boundaries.
func (d *Document) doubt(why string) {
	d.Reasons = append(d.Reasons, why)
	d.Doubts = append(d.Doubts, why)
}

// startReasons describes the evidence for a document starting at sc[i],
// strongest first.
func (s *Separator) startReasons(sc []scored, i int) []string {
	cur, prev := &sc[i], &sc[i-1]
	type ev struct {
		w    float64
		text string
	}
	var evs []ev
	idsDone := false
	for f := range numFeatures {
		c := s.w[f] * cur.x[f]
		if f == fBias || c <= 0.25 {
			continue
		}
		no := cur.sig.no
		var t string
		switch f {
		case fTitle:
			t = fmt.Sprintf("title on top of page %d", no)
		case fPageOne:
			t = fmt.Sprintf("%s on page %d", cur.sig.num, no)
		case fPrevEnded:
			t = fmt.Sprintf("%s on page %d", prev.sig.num, prev.sig.no)
		case fMRNDiff, fNameDiff, fDOBDiff:
			if idsDone {
				continue
			}
			idsDone = true
			t = fmt.Sprintf("patient identifiers change on page %d", no)
		case fServiceDiff:
			t = fmt.Sprintf("date of service changes on page %d", no)
		case fHasDOB, fIDsTop, fNameSame, fDOBSame, fMRNSame:
			t = fmt.Sprintf("patient block on top of page %d", no)
		case fLetterhead:
			t = fmt.Sprintf("letterhead on top of page %d", no)
		case fPrevSigned:
			t = fmt.Sprintf("signature at the end of page %d", prev.sig.no)
		case fBlankBefore:
			t = "blank page before"
		case fTypeChange, fTitleTypeChange:
			t = "type changes"
		default:
			continue
		}
		if k := slices.IndexFunc(evs, func(e ev) bool { return e.text == t }); k >= 0 {
			evs[k].w += c
			continue
		}
		evs = append(evs, ev{c, t})
	}
	if cur.ev.labelDiff {
		evs = append(evs, ev{100, fmt.Sprintf("patient label changes on page %d", cur.sig.no)})
	}
	if (cur.ev.mrnDiff || cur.ev.nameDOB) && !idsDone {
		evs = append(evs, ev{50, fmt.Sprintf("patient identifiers change on page %d", cur.sig.no)})
	}
	slices.SortStableFunc(evs, func(a, b ev) int {
		switch {
		case a.w > b.w:
			return -1
		case a.w < b.w:
			return 1
		}
		return 0
	})
	out := make([]string, len(evs))
	for k, e := range evs {
		out[k] = e.text
	}
	return out
}
