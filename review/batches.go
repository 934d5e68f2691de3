package review

import (
	"context"
	"net/http"
	"time"

	"paperchart/storage"
)

// batchRow is one batch as the progress page shows it. It carries no
// patient data: the drop folder, the file name, counts and the reason a
// batch was refused.
type batchRow struct {
	ID         int64      `json:"id"`
	Source     string     `json:"source"`
	Name       string     `json:"name"`
	State      string     `json:"state"`
	StateLabel string     `json:"state_label"`
	Finished   bool       `json:"finished"`
	Trouble    bool       `json:"trouble"` // failed or rejected
	Reason     string     `json:"reason,omitempty"`
	Pages      int        `json:"pages"`
	PagesDone  int        `json:"pages_done"`
	PagesBlank int        `json:"pages_blank"`
	Failed     int        `json:"pages_failed"`
	Filed      int        `json:"documents_filed"`
	Review     int        `json:"documents_review"`
	Discarded  int        `json:"documents_rejected"`
	Documents  int        `json:"documents"`
	Created    time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

var stateLabels = map[string]string{
	storage.StateReceived:   "received",
	storage.StateQueued:     "waiting to start",
	storage.StateSplitting:  "splitting into pages",
	storage.StateOCR:        "reading pages",
	storage.StateAssembling: "building the PDF",
	storage.StateFiling:     "filing",
	storage.StateDone:       "done",
	storage.StateFailed:     "failed",
	storage.StateRejected:   "rejected",
	storage.StateDuplicate:  "duplicate (already scanned)",
}

// batchLimit is how many recent batches the page follows.
const batchLimit = 50

func (a *app) batchRows(ctx context.Context) ([]batchRow, error) {
	bs, err := a.DB.BatchProgress(ctx, batchLimit)
	if err != nil {
		return nil, err
	}
	out := make([]batchRow, 0, len(bs))
	for _, b := range bs {
		row := batchRow{ID: b.ID, Source: b.Source, Name: b.Name, State: b.State, StateLabel: stateLabels[b.State],
			Finished: b.Finished(), Trouble: b.State == storage.StateFailed || b.State == storage.StateRejected,
			Reason: b.Reason, Pages: b.Pages, PagesDone: b.PagesDone, PagesBlank: b.PagesBlank, Failed: b.PagesFailed,
			Filed: b.Filed, Review: b.Review, Discarded: b.Discarded, Documents: b.Filed + b.Review + b.Discarded,
			Created: b.CreatedAt, FinishedAt: b.FinishedAt}
		if row.StateLabel == "" {
			row.StateLabel = b.State
		}
		if b.State == storage.StateDuplicate && b.DuplicateOf != nil {
			row.Reason = "the same file as batch " + itoa64(*b.DuplicateOf)
		}
		out = append(out, row)
	}
	return out, nil
}

// batches is the progress page for scanning staff; its script refreshes
// it from batchesJSON every few seconds.
func (a *app) batches(w http.ResponseWriter, r *http.Request) {
	rows, err := a.batchRows(r.Context())
	if err != nil {
		a.fail(w, r, "read batch progress", err)
		return
	}
	a.render(w, r, http.StatusOK, "batches.html", a.view(r, "Batches", "batches", "batches", rows))
}

func (a *app) batchesJSON(w http.ResponseWriter, r *http.Request) {
	rows, err := a.batchRows(r.Context())
	if err != nil {
		a.fail(w, r, "read batch progress", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"batches": rows, "at": time.Now()})
}
