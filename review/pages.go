package review

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"paperchart/audit"
	"paperchart/storage"
)

// pageImage serves a page image of a document from object storage, to a
// person who may read the document. Every image read is in the audit trail,
// tied to the view whose signed token its URL carries ("page 3 of view
// 812"), or recorded as not from a view (and then in the document's history
// too): the server never infers a view from the Referer.
func (a *app) pageImage(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	no, err := strconv.Atoi(r.PathValue("no"))
	if !ok || err != nil {
		http.NotFound(w, r)
		return
	}
	ctx := r.Context()
	d, err := a.DB.Document(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !slices.Contains(d.Pages, no)) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		a.fail(w, r, "read document", err)
		return
	}
	if !a.mayRead(w, r, d) {
		return
	}
	p, err := a.DB.Page(ctx, d.BatchID, no)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && p.ImageKey == "") {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		a.fail(w, r, "read page", err)
		return
	}
	detail := fmt.Sprintf("page %d, not from a view", no)
	if view := a.viewOf(r, id); view > 0 {
		detail = fmt.Sprintf("page %d of view %d", no, view)
	} else if err := a.DB.RecordDocumentEvent(ctx, id, user(r), "viewed", fmt.Sprintf("image of page %d", no)); err != nil {
		a.fail(w, r, "record page read", err)
		return
	}
	if err := a.record(r, audit.Entry{Action: audit.ActionDocumentPage, Resource: docResource(id), DocumentID: &id,
		PatientID: d.PatientID, Detail: detail}); err != nil {
		a.fail(w, r, "audit page read", err)
		return
	}
	rc, size, err := a.Objects.Open(ctx, p.ImageKey)
	if err != nil {
		a.fail(w, r, "open page image", err)
		return
	}
	defer rc.Close()
	ctype := "image/jpeg"
	switch {
	case strings.HasSuffix(p.ImageKey, ".png"):
		ctype = "image/png"
	case strings.HasSuffix(p.ImageKey, ".tif"), strings.HasSuffix(p.ImageKey, ".tiff"):
		ctype = "image/tiff"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	if _, err := io.Copy(w, rc); err != nil {
		a.log.Warn("send page image", "document", id, "page", no, "err", err)
	}
}

// renewClaim keeps the open document's claim while the person works on it
// (the page's script calls it).
func (a *app) renewClaim(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such document"})
		return
	}
	d, err := a.DB.Claim(r.Context(), id, user(r), a.ttl)
	var ce *storage.ClaimError
	switch {
	case errors.As(err, &ce):
		writeJSON(w, http.StatusConflict, map[string]any{"error": "someone else has this document", "by": ce.By, "until": ce.Until})
	case errors.Is(err, storage.ErrNotInReview):
		writeJSON(w, http.StatusConflict, map[string]string{"error": "the document is no longer waiting for review"})
	case err != nil:
		a.fail(w, r, "renew claim", err)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"id": d.ID, "claimed_until": d.ClaimedUntil})
	}
}
