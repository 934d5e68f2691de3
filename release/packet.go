package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"paperchart/assemble"
	"paperchart/audit"
	"paperchart/chart"
	"paperchart/internal/fastjpeg"
	"paperchart/ocr"
	"paperchart/pagesource"
	"paperchart/storage"
)

// Objects is the object store a Releaser reads pages from and writes
// packets to; *storage.Objects has it.
type Objects interface {
	Get(ctx context.Context, key string) ([]byte, error)
	PutFile(ctx context.Context, key, path, contentType string) error
}

// Releaser selects a request's documents, builds its packet and releases
// it. Every field but WorkDir and Log is required.
type Releaser struct {
	Requests *Store
	DB       *storage.DB
	Objects  Objects
	Audit    *audit.Log
	// WorkDir is where pages and the packet are kept while it is built
	// (the system's temporary folder when "").
	WorkDir string
	Log     *slog.Logger
}

// Documents returns the documents the request selects, as they are now,
// excluded ones included, oldest date of service first: the explicit list
// (only those filed to the request's patient), or the patient's filed
// documents in the date range of the types.
func (x *Releaser) Documents(ctx context.Context, r Request) ([]storage.Document, error) {
	all, err := x.DB.PatientDocuments(ctx, r.PatientID)
	if err != nil {
		return nil, err
	}
	var out []storage.Document
	sel := r.Selection
	for _, d := range all {
		if sel.Explicit() {
			if slices.Contains(sel.Documents, d.ID) {
				out = append(out, d)
			}
			continue
		}
		var sd chart.Date
		if d.ServiceDate != nil {
			sd = chart.DateOf(d.ServiceDate.UTC())
		}
		if (!sel.From.IsZero() || !sel.To.IsZero()) && sd.IsZero() {
			continue
		}
		if !sel.From.IsZero() && sd.Before(sel.From) || !sel.To.IsZero() && sel.To.Before(sd) {
			continue
		}
		if len(sel.Types) > 0 && !slices.Contains(sel.Types, d.Type) {
			continue
		}
		out = append(out, d)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].ServiceDate, out[j].ServiceDate
		switch {
		case a == nil || b == nil:
			return a != nil && b == nil
		case !a.Equal(*b):
			return a.Before(*b)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Released returns the documents the request releases: selected and not
// excluded.
func (x *Releaser) Released(ctx context.Context, r Request) ([]storage.Document, error) {
	docs, err := x.Documents(ctx, r)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(docs, func(d storage.Document) bool { return r.IsExcluded(d.ID) }), nil
}

// Packet writes the request's packet, as released by the user by at the
// time at, to w, and returns what is in it. It reads every page image from
// the object store once.
func (x *Releaser) Packet(ctx context.Context, w io.Writer, r Request, by string, at time.Time) ([]PacketDocument, int, error) {
	docs, err := x.Released(ctx, r)
	if err != nil {
		return nil, 0, err
	}
	if len(docs) == 0 {
		return nil, 0, ErrNothingToRelease
	}
	return x.packet(ctx, w, r, docs, by, at)
}

// packetPage is one page of the packet after the cover letter.
type packetPage struct {
	set *pagesource.Pages
	doc int64
	no  int
}

func (x *Releaser) packet(ctx context.Context, w io.Writer, r Request, docs []storage.Document, by string, at time.Time) (_ []PacketDocument, _ int, err error) {
	// Each batch's pages are fetched once, into one set.
	byBatch := map[int64][]int{}
	var batches []int64
	for _, d := range docs {
		if _, ok := byBatch[d.BatchID]; !ok {
			batches = append(batches, d.BatchID)
		}
		byBatch[d.BatchID] = append(byBatch[d.BatchID], d.Pages...)
	}
	sets := map[int64]*pagesource.Pages{}
	defer func() {
		for _, s := range sets {
			s.Close()
		}
	}()
	for _, b := range batches {
		rows, err := x.DB.Pages(ctx, b)
		if err != nil {
			return nil, 0, err
		}
		want := byBatch[b]
		rows = slices.DeleteFunc(rows, func(p storage.Page) bool { return !slices.Contains(want, p.No) })
		set, err := pagesource.Load(ctx, x.Objects, b, rows, x.WorkDir)
		if err != nil {
			return nil, 0, fmt.Errorf("release %s: load pages: %w", r.Number, err)
		}
		sets[b] = set
	}

	var pages []packetPage
	contents := make([]PacketDocument, 0, len(docs))
	for _, d := range docs {
		pd := PacketDocument{Document: d.ID, Type: d.Type, Title: d.Title, Pages: len(d.Pages)}
		if d.ServiceDate != nil {
			pd.ServiceDate = chart.DateOf(d.ServiceDate.UTC())
		}
		for _, no := range d.Pages {
			pd.Redactions += len(r.BoxesOn(d.ID, no))
			pages = append(pages, packetPage{set: sets[d.BatchID], doc: d.ID, no: no})
		}
		contents = append(contents, pd)
	}
	cover := coverLetter(r, contents, by, at)
	total := len(cover) + len(pages)
	for i := range contents {
		if i == 0 {
			contents[i].FirstPage = len(cover) + 1
		} else {
			contents[i].FirstPage = contents[i-1].FirstPage + contents[i-1].Pages
		}
	}
	finalCover := coverLetter(r, contents, by, at) // with first pages
	if len(finalCover) != len(cover) {
		return nil, 0, errors.New("release: the cover letter changed length")
	}
	blank, err := blankPage()
	if err != nil {
		return nil, 0, err
	}
	err = assemble.SearchablePDFFrom(ctx, w, total, func(i int) (assemble.Page, error) {
		var pg assemble.Page
		if i < len(finalCover) {
			pg = assemble.Page{Image: blank, Width: blankW, Height: blankH, DPI: blankDPI, Visible: finalCover[i]}
		} else {
			p := pages[i-len(finalCover)]
			var err error
			if pg, err = p.set.Read(p.no); err != nil {
				return pg, err
			}
			if pg, err = redact(pg, r.BoxesOn(p.doc, p.no)); err != nil {
				return pg, fmt.Errorf("release %s: document %d page %d: %w", r.Number, p.doc, p.no, err)
			}
		}
		pg.Visible = append(pg.Visible, stamp(pg, fmt.Sprintf("%s page %d of %d", r.Number, i+1, total)))
		return pg, nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("release %s: write packet: %w", r.Number, err)
	}
	return contents, total, nil
}

// stamp is the request number and page counter at the foot of a page.
func stamp(pg assemble.Page, text string) assemble.Text {
	hPt := float64(pg.Height) / float64(pg.DPI) * 72
	return assemble.Text{X: 18, Y: hPt - 10, Size: 9, Text: text, Backed: true}
}

// redact burns the boxes into the page image (the pixels become black
// before the image is encoded into the PDF) and drops every OCR word whose
// box touches one from the text layer. A page without boxes is returned as
// it is.
func redact(pg assemble.Page, boxes []Box) (assemble.Page, error) {
	if len(boxes) == 0 {
		return pg, nil
	}
	dst, err := decode(pg.Image)
	if err != nil {
		return pg, err
	}
	if b := dst.Bounds(); b.Dx() != pg.Width || b.Dy() != pg.Height {
		return pg, fmt.Errorf("page image is %dx%d, its row says %dx%d", b.Dx(), b.Dy(), pg.Width, pg.Height)
	}
	var rects []image.Rectangle
	for _, bx := range boxes {
		x0, y0, x1, y1 := bx.Pixels(pg.Width, pg.Height)
		rc := image.Rect(x0, y0, x1, y1)
		rects = append(rects, rc)
		draw.Draw(dst, rc, image.Black, image.Point{}, draw.Src)
	}
	// The burnt raster goes into the PDF as it is (lossless); the stored
	// image is not used for this page.
	pg.Raster, pg.Image = dst, nil
	pg.Words = slices.DeleteFunc(slices.Clone(pg.Words), func(w ocr.Word) bool {
		wr := image.Rect(w.X0, w.Y0, w.X1, w.Y1)
		for _, rc := range rects {
			if wr.Overlaps(rc) || (wr.Empty() && wr.Min.In(rc)) {
				return true
			}
		}
		return false
	})
	return pg, nil
}

// decode returns a page image as a raster that can be drawn on, from its
// top-left corner: grey JPEG (the stored page images) through
// libjpeg-turbo, anything else through image.Decode.
func decode(b []byte) (draw.Image, error) {
	if bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}) {
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(b)); err == nil && cfg.ColorModel == color.GrayModel {
			g, _, err := fastjpeg.Decode(b)
			if err != nil {
				return nil, fmt.Errorf("decode page image: %w", err)
			}
			return g, nil
		}
	}
	src, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode page image: %w", err)
	}
	bd := src.Bounds()
	var dst draw.Image
	if src.ColorModel() == color.GrayModel {
		dst = image.NewGray(image.Rect(0, 0, bd.Dx(), bd.Dy()))
	} else {
		dst = image.NewRGBA(image.Rect(0, 0, bd.Dx(), bd.Dy()))
	}
	draw.Draw(dst, dst.Bounds(), src, bd.Min, draw.Src)
	return dst, nil
}

// The cover letter's page: US letter, white, as a tiny image.
const (
	blankDPI = 2
	blankW   = 17 // 8.5 in
	blankH   = 22 // 11 in
)

func blankPage() ([]byte, error) {
	img := image.NewGray(image.Rect(0, 0, blankW, blankH))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode cover page: %w", err)
	}
	return buf.Bytes(), nil
}

// coverLines is how many lines of the cover letter fit on one page.
const coverLines = 44

// coverLetter lays out the cover letter: one page, or more when the list
// of documents is long, each a list of lines.
func coverLetter(r Request, docs []PacketDocument, by string, at time.Time) [][]assemble.Text {
	type line struct {
		text string
		size float64
	}
	var ls []line
	add := func(size float64, format string, a ...any) { ls = append(ls, line{fmt.Sprintf(format, a...), size}) }
	add(16, "Release of information")
	add(12, "Request %s", r.Number)
	add(10, "")
	add(10, "Date: %s", chart.DateOf(at).String())
	add(10, "Requester: %s", r.Requester.Name)
	if r.Requester.Organisation != "" {
		add(10, "    %s", r.Requester.Organisation)
	}
	for _, a := range strings.Split(strings.ReplaceAll(r.Requester.Address, "\r", ""), "\n") {
		if a = strings.TrimSpace(a); a != "" {
			add(10, "    %s", a)
		}
	}
	purpose := r.Purpose.Label()
	if r.PurposeText != "" {
		purpose += ": " + r.PurposeText
	}
	add(10, "Purpose: %s", purpose)
	pat := fmt.Sprintf("Patient: %s, MRN %s", r.PatientName, r.MRN)
	if !r.PatientBirth.IsZero() {
		pat += ", born " + r.PatientBirth.String()
	}
	add(10, "%s", pat)
	auth := "no"
	if r.AuthorizationOnFile {
		auth = "yes"
		if r.AuthorizationDocument != nil {
			auth = fmt.Sprintf("yes (document %d)", *r.AuthorizationDocument)
		}
	}
	add(10, "Authorisation on file: %s", auth)
	pages := 0
	for _, d := range docs {
		pages += d.Pages
	}
	add(10, "")
	add(11, "Documents released: %d, %d %s", len(docs), pages, plural(pages, "page", "pages"))
	for i, d := range docs {
		what := d.Type
		if d.Title != "" {
			what = d.Title
		}
		date := d.ServiceDate.String()
		if date == "" {
			date = "no date of service"
		}
		txt := fmt.Sprintf("%d. %s, %s, document %d: %d %s", i+1, what, date, d.Document, d.Pages, plural(d.Pages, "page", "pages"))
		if d.FirstPage > 0 {
			txt += fmt.Sprintf(" (packet pages %d-%d)", d.FirstPage, d.FirstPage+d.Pages-1)
		}
		if d.Redactions > 0 {
			txt += ", redacted"
		}
		add(10, "    %s", txt)
	}
	add(10, "")
	add(10, "Released by: %s", by)
	add(9, "Every page of this packet is stamped with the request number and its page number.")
	add(9, "Redacted regions are blacked out in the page images.")

	var out [][]assemble.Text
	for i := 0; i < len(ls); i += coverLines {
		var pg []assemble.Text
		y := 72.0
		for _, l := range ls[i:min(i+coverLines, len(ls))] {
			if l.text != "" {
				pg = append(pg, assemble.Text{X: 72, Y: y, Size: l.size, Text: l.text})
			}
			y += l.size * 1.5
		}
		out = append(out, pg)
	}
	return out
}

func plural(n int, one, more string) string {
	if n == 1 {
		return one
	}
	return more
}

// Release releases the request, once: it builds the packet, stores it
// under storage.ReleasePacketKey, marks the request released by the user
// by and, in the same transaction, writes one disclosure per document to
// the audit trail (actor, from remote). The request row stays locked while
// the packet is built, so two releases at once release once. Releasing a
// released request returns it as it is, with false; a denied one is
// ErrTransition; one with nothing left to release is ErrNothingToRelease.
func (x *Releaser) Release(ctx context.Context, id int64, by, actor, remote string) (Request, bool, error) {
	return x.ReleaseAsOf(ctx, id, time.Time{}, by, actor, remote)
}

// ReleaseAsOf is Release of the request as it was at its last change
// asOf (Request.UpdatedAt, as the confirmation screen showed it): a
// request changed since is ErrChanged, checked under the row lock, so
// nothing is released that the person did not confirm. A zero asOf checks
// nothing.
func (x *Releaser) ReleaseAsOf(ctx context.Context, id int64, asOf time.Time, by, actor, remote string) (Request, bool, error) {
	var out Request
	var did bool
	err := pgx.BeginFunc(ctx, x.Requests.pool, func(tx pgx.Tx) error {
		r, err := scanRequest(tx.QueryRow(ctx, `SELECT `+requestColumns+requestFrom+` WHERE r.id = $1 FOR UPDATE OF r`, id))
		if err != nil {
			return err
		}
		out = r
		switch r.Status {
		case StatusReleased:
			return nil
		case StatusDenied:
			return fmt.Errorf("release %s: it was denied: %w", r.Number, ErrTransition)
		}
		if !asOf.IsZero() && !r.UpdatedAt.Equal(asOf) {
			return fmt.Errorf("release %s: %w", r.Number, ErrChanged)
		}
		docs, err := x.Released(ctx, r)
		if err != nil {
			return err
		}
		if len(docs) == 0 {
			return ErrNothingToRelease
		}
		dir, err := os.MkdirTemp(x.WorkDir, fmt.Sprintf("release-%d-", id))
		if err != nil {
			return fmt.Errorf("release %s: work folder: %w", r.Number, err)
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "packet.pdf")
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("release %s: %w", r.Number, err)
		}
		h := sha256.New()
		cw := &countWriter{w: io.MultiWriter(f, h)}
		contents, total, err := x.packet(ctx, cw, r, docs, by, x.Requests.now())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		key := storage.ReleasePacketKey(id)
		if err := x.Objects.PutFile(ctx, key, path, "application/pdf"); err != nil {
			return fmt.Errorf("release %s: store packet: %w", r.Number, err)
		}
		js, err := json.Marshal(contents)
		if err != nil {
			return fmt.Errorf("release %s: encode contents: %w", r.Number, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE release_requests SET status = 'released', decided_by = $2, decided_at = now(), updated_at = now(),
			packet_key = $3, packet_sha256 = $4, packet_size = $5, packet_pages = $6, packet_documents = $7 WHERE id = $1`,
			id, by, key, hex.EncodeToString(h.Sum(nil)), cw.n, total, js); err != nil {
			return fmt.Errorf("release %s: mark released: %w", r.Number, err)
		}
		for _, d := range contents {
			doc, pat := d.Document, r.PatientID
			if _, err := x.Audit.RecordTx(ctx, tx, audit.Entry{Actor: actor, Action: audit.ActionDisclosure,
				Resource: Resource(id), PatientID: &pat, DocumentID: &doc, Remote: remote, Outcome: audit.OutcomeOK,
				Detail: DisclosureDetail(r, d.Pages)}); err != nil {
				return fmt.Errorf("release %s: account for the disclosure of document %d: %w", r.Number, doc, err)
			}
		}
		did = true
		return nil
	})
	if err != nil {
		return out, false, err
	}
	if did {
		if x.Log != nil {
			x.Log.Info("release request released", "request", id, "by", by)
		}
		out, err = x.Requests.Get(ctx, id)
	}
	return out, did, err
}

// Resource is the audit Resource of a disclosure: the request.
func Resource(id int64) string { return fmt.Sprintf("ReleaseRequest/%d", id) }

// ResourceID reads the request ID back from a disclosure's Resource.
func ResourceID(resource string) (int64, bool) {
	rest, ok := strings.CutPrefix(resource, "ReleaseRequest/")
	if !ok {
		return 0, false
	}
	id, err := ParseNumber(rest)
	return id, err == nil
}

// DisclosureDetail is the Detail of a disclosure entry: the request
// number, the purpose, a digest of the requester (Requester.Digest; the
// name is in the request, kept unchanged once released) and the pages.
func DisclosureDetail(r Request, pages int) string {
	return fmt.Sprintf("%s purpose=%s requester=%s pages=%d", r.Number, r.Purpose, r.Requester.Digest(), pages)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
