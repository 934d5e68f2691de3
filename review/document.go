package review

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"paperchart/audit"
	"paperchart/chart"
	"paperchart/classify"
	"paperchart/patients"
	"paperchart/storage"
	"paperchart/users"
)

// patientView is a patient as a technician sees one.
type patientView struct {
	ID        int64
	MRN       string
	Authority string
	Family    string
	Given     string
	BirthDate string
	Sex       string
	Active    bool
}

func patientOf(p patients.Patient) patientView {
	v := patientView{ID: p.ID, MRN: p.MRN, Authority: p.Authority, Family: p.Family, Given: p.Given, Sex: p.Sex,
		Active: p.Active && p.MergedInto == nil}
	if !p.BirthDate.IsZero() {
		v.BirthDate = p.BirthDate.String()
	}
	return v
}

type candidateView struct {
	N           int // 1-based rank: the key that picks it
	PatientID   int64
	Patient     *patientView // nil when the index no longer has it
	Probability float64
	Pct         string
	Level       string // high, mid, low: the bar's colour
	Weight      string
	Reasons     []chip
	FoundBy     []string
	Selected    bool
}

// chip is a reason with its colour: good (agrees), bad (differs), some.
type chip struct {
	Text, Class string
}

func chips(reasons []string) []chip {
	out := make([]chip, len(reasons))
	for i, r := range reasons {
		c := chip{Text: r, Class: "some"}
		l := strings.ToLower(r)
		switch {
		case strings.Contains(l, "differ") || strings.Contains(l, "disagree") || strings.Contains(l, "conflict"):
			c.Class = "bad"
		case strings.HasSuffix(l, "agrees") || strings.Contains(l, "named by the cover sheet"):
			c.Class = "good"
		}
		out[i] = c
	}
	return out
}

type typeOption struct {
	Code, Name, LOINC string
	Pct               string // the classifier's probability, "" when it gave none
	Selected          bool
}

type pageView struct {
	No     int // page of the batch
	N      int // 1-based position in the document
	URL    string
	Width  int
	Height int
	Blank  bool
	Kind   string
}

type textView struct {
	No       int
	N        int
	Segments []segment
}

type moveTarget struct {
	ID       int64
	Seq      int
	Pages    string
	TypeName string
}

type docData struct {
	Doc          storage.Document
	Open         bool   // in review and claimed by the viewer: actions allowed
	Claimable    bool   // in review, nobody's: the viewer may start working on it
	TypeCheck    bool   // filed, its type preliminary: the type can be confirmed
	Typed        int64  // the document whose type was just confirmed (the flash)
	StateLabel   string // filed, rejected, merged...
	Batch        storage.Batch
	BatchDocs    int
	Pages        []pageView
	Texts        []textView
	IDs          chart.Identifiers
	HasIDs       bool
	Candidates   []candidateView
	Selected     int64 // the patient pre-selected, 0 for none
	Types        []typeOption
	TypeName     string
	TypePct      string
	SplitPct     string
	PatientPct   string
	ServiceDate  string
	Tags         []tag
	Reasons      []string
	Prev         int64  // the document before, when a merge is possible
	PrevBlocked  string // why not, in plain words
	MoveTargets  []moveTarget
	Events       []storage.DocumentEvent
	Filter       queueFilter
	Query        string
	ClaimUntil   time.Time
	RenewSeconds int
	FiledPatient *patientView
	MergedInto   int64
	Flash        string
	FlashLink    string
	FlashLinkTo  string
	// CanMove: the viewer may move this filed document to another patient
	// or type (records staff and up).
	CanMove    bool
	ReplacedBy int64 // a moved document: the one that replaced it
}

// maxCandidates bounds the candidates shown (and looked up) per document.
const maxCandidates = 20

// document shows a document. Looking claims nothing (GET changes no
// state): a document in review that nobody works on shows a button to work
// on it (open, a POST); one claimed by the viewer is open for work; one
// someone else has is a conflict page.
func (a *app) document(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		a.errorPage(w, r, http.StatusNotFound, "Not found", "There is no such document.")
		return
	}
	ctx := r.Context()
	me := user(r)
	d, err := a.DB.Document(ctx, id)
	if err != nil {
		a.fail(w, r, "open document", err)
		return
	}
	if !a.mayRead(w, r, d) {
		return
	}
	live := d.State == storage.DocReview && d.ClaimedBy != "" && d.ClaimedUntil != nil && d.ClaimedUntil.After(time.Now())
	if live && d.ClaimedBy != me {
		a.claimFailed(w, r, id, "open document", &storage.ClaimError{By: d.ClaimedBy, Until: *d.ClaimedUntil})
		return
	}
	open := live
	data, err := a.documentData(ctx, r, d, me)
	if err != nil {
		a.fail(w, r, "read document", err)
		return
	}
	data.Open = open
	data.Claimable = d.State == storage.DocReview && !open
	data.TypeCheck = d.State == storage.DocFiled && d.DocStatus == storage.DocStatusPreliminary
	data.Typed, _ = strconv.ParseInt(r.URL.Query().Get("typed"), 10, 64)
	data.Filter = filterOf(r.URL.Query())
	data.Query = data.Filter.query()
	data.Flash, data.FlashLink, data.FlashLinkTo = flash(r.URL.Query())
	data.CanMove = d.State == storage.DocFiled && role(r).Allows(users.Records)
	if open {
		data.ClaimUntil = *d.ClaimedUntil
		data.RenewSeconds = int(max(a.ttl/3, 10*time.Second) / time.Second)
	}
	title := fmt.Sprintf("Document %d", d.ID)
	a.render(w, r, http.StatusOK, "document.html", a.view(r, title, "queue", "document", data))
}

// open claims a document in review for the person, who then works on it.
func (a *app) open(w http.ResponseWriter, r *http.Request) {
	id, ok := a.actionDoc(w, r)
	if !ok {
		return
	}
	if _, err := a.DB.Claim(r.Context(), id, user(r), a.ttl); err != nil {
		a.claimFailed(w, r, id, "open document", err)
		return
	}
	redirect(w, r, fmt.Sprintf("/review/doc/%d%s", id, filterOf(r.PostForm).query()))
}

// claimFailed answers for a document that could not be claimed or read.
func (a *app) claimFailed(w http.ResponseWriter, r *http.Request, id int64, what string, err error) {
	var ce *storage.ClaimError
	switch {
	case errors.As(err, &ce):
		d := errorData{Title: "Someone else has this document",
			Message: fmt.Sprintf("%s is working on document %d. It is theirs until %s, or until they leave it.",
				ce.By, id, ce.Until.Local().Format("15:04")),
			Holder: ce.By, Until: ce.Until}
		switch what {
		case "open document", "file document", "reject":
			if role(r).Allows(users.Supervisor) {
				d.Release = id
			}
		default:
			// An edit touches other documents of the batch too.
			d.Message = fmt.Sprintf("%s is working on a document this change touches, until %s. Try again later.",
				ce.By, ce.Until.Local().Format("15:04"))
			d.Back = fmt.Sprintf("/review/doc/%d", id)
		}
		a.renderError(w, r, http.StatusConflict, d)
	case errors.Is(err, storage.ErrNotInReview):
		a.renderError(w, r, http.StatusConflict, errorData{Title: "Already decided",
			Message: fmt.Sprintf("Document %d is no longer waiting for review: someone filed, rejected or re-cut it first.", id),
			Back:    fmt.Sprintf("/review/doc/%d", id)})
	default:
		a.fail(w, r, what, err)
	}
}

// documentData reads everything the document view shows, in parallel, and
// records the read in the document's history before anything is served.
func (a *app) documentData(ctx context.Context, r *http.Request, d storage.Document, me string) (docData, error) {
	data := docData{Doc: d, Tags: tags(d), Reasons: d.ReviewReasons,
		SplitPct: pct(d.SplitConfidence), PatientPct: pct(d.PatientConfidence)}
	cands := d.Candidates
	if len(cands) > maxCandidates {
		cands = cands[:maxCandidates]
	}
	data.IDs = d.Identifiers
	data.HasIDs = !d.Identifiers.Empty()

	var (
		pages   []storage.Page
		texts   map[int]string
		docs    []storage.Document
		found   = make([]*patientView, len(cands))
		filedTo *patientView
	)
	// Every read of a patient's document is recorded; the view's audit
	// entry is what its page images' reads point at.
	viewed, err := a.recordEntry(r, audit.Entry{Action: audit.ActionDocumentView, Resource: docResource(d.ID),
		DocumentID: &d.ID, PatientID: d.PatientID})
	if err != nil {
		return data, err
	}
	token := url.QueryEscape(a.viewToken(r, d.ID, viewed.ID))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	g.Go(func() error {
		return a.DB.RecordDocumentEvent(gctx, d.ID, me, "viewed", "")
	})
	g.Go(func() (err error) { data.Batch, err = a.DB.Batch(gctx, d.BatchID); return })
	g.Go(func() (err error) { pages, err = a.DB.Pages(gctx, d.BatchID); return })
	g.Go(func() (err error) { texts, err = a.DB.PageTexts(gctx, d.BatchID); return })
	g.Go(func() (err error) { docs, err = a.DB.BatchDocuments(gctx, d.BatchID); return })
	g.Go(func() (err error) { data.Events, err = a.DB.DocumentEvents(gctx, d.ID); return })
	for i, c := range cands {
		g.Go(func() error {
			p, err := a.Patients.ByID(gctx, c.PatientID)
			if errors.Is(err, patients.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			v := patientOf(p)
			found[i] = &v
			return nil
		})
	}
	if d.PatientID != nil {
		g.Go(func() error {
			p, err := a.Patients.ByID(gctx, *d.PatientID)
			if err != nil {
				return err
			}
			v := patientOf(p)
			filedTo = &v
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return data, err
	}
	data.FiledPatient = filedTo

	// The patient pre-selected: the one filed to; for a document in review
	// only when the patient decision was sure (it waits for its type or
	// boundary). Where the match is in doubt the technician picks.
	switch {
	case d.PatientID != nil:
		data.Selected = *d.PatientID
	case !d.PatientReview && d.PatientSuggested != nil:
		data.Selected = *d.PatientSuggested
	}
	for i, c := range cands {
		cv := candidateView{N: i + 1, PatientID: c.PatientID, Patient: found[i], Probability: c.Probability,
			Pct: pct(c.Probability), Level: level(c.Probability), Weight: fmt.Sprintf("%.1f", c.Weight),
			Reasons: chips(c.Reasons), FoundBy: c.FoundBy, Selected: c.PatientID == data.Selected}
		data.Candidates = append(data.Candidates, cv)
	}

	// Types, with the classifier's probabilities.
	prob := map[string]float64{}
	for _, s := range d.TypeRanked {
		prob[s.Type] = s.Probability
	}
	chosen := d.TypeSuggested
	if d.State == storage.DocFiled && d.Type != "" {
		chosen = d.Type
	}
	for _, t := range classify.Types() {
		o := typeOption{Code: t.Code, Name: t.Name, LOINC: t.LOINC, Selected: t.Code == chosen}
		if p, ok := prob[t.Code]; ok {
			o.Pct = pct(p)
		}
		data.Types = append(data.Types, o)
	}
	if t, ok := classify.Lookup(chosen); ok {
		data.TypeName = t.Name
	}
	data.TypePct = pct(d.TypeConfidence)
	if d.ServiceDate != nil {
		data.ServiceDate = d.ServiceDate.Format("2006-01-02")
	}

	// Pages and their text.
	byNo := make(map[int]storage.Page, len(pages))
	for _, p := range pages {
		byNo[p.No] = p
	}
	for i, no := range d.Pages {
		p := byNo[no]
		data.Pages = append(data.Pages, pageView{No: no, N: i + 1, URL: fmt.Sprintf("/review/doc/%d/page/%d?v=%s", d.ID, no, token),
			Width: p.Width, Height: p.Height, Blank: p.Blank, Kind: p.Kind})
		data.Texts = append(data.Texts, textView{No: no, N: i + 1, Segments: highlight(texts[no], data.IDs)})
	}

	// The batch's other documents: the one before (merge) and those a page
	// may move to.
	// A moved document's old placement is not a document of the batch of
	// its own: its replacement stands in its place.
	for _, o := range docs {
		if o.State != storage.DocMoved {
			data.BatchDocs++
		}
	}
	var prev *storage.Document
	for i := range docs {
		o := &docs[i]
		if o.ID == d.ID || len(o.Pages) == 0 || o.State == storage.DocMerged || o.State == storage.DocDiscarded || o.State == storage.DocMoved {
			continue
		}
		if len(d.Pages) > 0 && o.Pages[0] < d.Pages[0] && (prev == nil || o.Pages[0] > prev.Pages[0]) {
			prev = o
		}
		if o.State == storage.DocReview {
			mt := moveTarget{ID: o.ID, Seq: o.Seq, Pages: pageRange(o.Pages)}
			if t, ok := classify.Lookup(o.TypeSuggested); ok {
				mt.TypeName = t.Name
			}
			data.MoveTargets = append(data.MoveTargets, mt)
		}
	}
	switch {
	case prev == nil:
		data.PrevBlocked = "it is the first document of its batch"
	case prev.State != storage.DocReview:
		data.PrevBlocked = fmt.Sprintf("the document before it (%d) is already %s", prev.ID, prev.State)
	default:
		data.Prev = prev.ID
	}

	switch d.State {
	case storage.DocFiled:
		data.StateLabel = "filed"
		if d.DocStatus == storage.DocStatusPreliminary {
			data.StateLabel = "filed, type unconfirmed"
		}
	case storage.DocDiscarded:
		data.StateLabel = "rejected"
	case storage.DocMerged:
		data.StateLabel = "merged"
		if d.MergedInto != nil {
			data.MergedInto = *d.MergedInto
		}
	case storage.DocReview:
		data.StateLabel = "waiting for review"
	case storage.DocMoved:
		data.StateLabel = "moved (entered in error)"
		to, err := a.DB.ReplacedBy(ctx, d.ID)
		if err != nil {
			return data, err
		}
		data.ReplacedBy = to
	default:
		data.StateLabel = d.State
	}
	return data, nil
}

// flash is the message the page shows after an action redirected to it.
func flash(q url.Values) (msg, link, to string) {
	id := func(k string) int64 {
		n, _ := strconv.ParseInt(q.Get(k), 10, 64)
		return n
	}
	switch {
	case id("filed") > 0:
		return fmt.Sprintf("Document %d filed.", id("filed")), "See it", fmt.Sprintf("/review/doc/%d", id("filed"))
	case id("rejected") > 0:
		return fmt.Sprintf("Document %d rejected.", id("rejected")), "See it", fmt.Sprintf("/review/doc/%d", id("rejected"))
	case id("split") > 0:
		return fmt.Sprintf("Split: the later pages are now document %d.", id("split")), "Open it", fmt.Sprintf("/review/doc/%d", id("split"))
	case id("merged") > 0:
		return fmt.Sprintf("Document %d merged into this one.", id("merged")), "", ""
	case id("moved") > 0:
		return fmt.Sprintf("Page moved to document %d.", id("moved")), "Open it", fmt.Sprintf("/review/doc/%d", id("moved"))
	case id("refiled") > 0:
		return fmt.Sprintf("Document %d moved: this is its new placement. The EHR is told (the old one is entered in error).", id("refiled")),
			"See the old one", fmt.Sprintf("/review/doc/%d", id("refiled"))
	case q.Has("removed"):
		return "Page taken out of the document (it stays in the batch).", "", ""
	}
	return "", "", ""
}

func pageRange(nos []int) string {
	if len(nos) == 0 {
		return ""
	}
	if len(nos) == 1 {
		return "page " + strconv.Itoa(nos[0])
	}
	contiguous := true
	for i := 1; i < len(nos); i++ {
		if nos[i] != nos[i-1]+1 {
			contiguous = false
		}
	}
	if contiguous {
		return fmt.Sprintf("pages %d–%d", nos[0], nos[len(nos)-1])
	}
	s := make([]string, len(nos))
	for i, n := range nos {
		s[i] = strconv.Itoa(n)
	}
	return "pages " + strings.Join(s, ", ")
}

func pct(p float64) string {
	switch {
	case p <= 0:
		return "0%"
	case p >= 0.9995:
		return "100%"
	case p < 0.01:
		return "<1%"
	case p > 0.99:
		return fmt.Sprintf("%.1f%%", 100*p)
	}
	return fmt.Sprintf("%.0f%%", 100*p)
}

func level(p float64) string {
	switch {
	case p >= 0.9:
		return "high"
	case p >= 0.5:
		return "mid"
	}
	return "low"
}
