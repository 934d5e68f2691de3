package pagesource_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"paperchart/internal/testenv"
	"paperchart/ocr"
	"paperchart/pagesource"
	"paperchart/storage"
)

func TestLoad(t *testing.T) {
	ctx := context.Background()
	objs := testenv.Objects(t)
	const batch = 41
	put := func(key string, data []byte) {
		testenv.Must(t, objs.Put(ctx, key, data, "application/octet-stream"), "put %s", key)
	}
	row := func(no int, withOCR bool) storage.Page {
		p := storage.Page{BatchID: batch, No: no, ImageKey: storage.PageImageKey(batch, no), Width: 85, Height: 110, DPI: 10}
		if withOCR {
			p.OCRKey = storage.PageOCRKey(batch, no)
		}
		return p
	}
	words := []ocr.Word{{Text: "DISCHARGE", Confidence: 91, X0: 1, Y0: 1, X1: 9, Y1: 3, Block: 1, Par: 1, Line: 1}}
	js, err := json.Marshal(ocr.Result{Words: words, Width: 85, Height: 110, DPI: 10})
	testenv.Must(t, err, "encode")
	for no := 1; no <= 3; no++ {
		put(storage.PageImageKey(batch, no), []byte{0xff, 0xd8, byte(no)})
		put(storage.PageOCRKey(batch, no), js)
	}
	put(storage.PageOCRKey(batch, 4), []byte("{not json"))
	put(storage.PageImageKey(batch, 4), []byte{0xff, 0xd8, 4})

	tests := []struct {
		name    string
		rows    []storage.Page
		want    []int  // the pages loaded, in order
		wantErr string // a part of the error, when Load fails
	}{
		{"pages in the order given", []storage.Page{row(3, true), row(1, true), row(2, true)}, []int{3, 1, 2}, ""},
		{"a page stored without OCR result", []storage.Page{row(2, false)}, []int{2}, ""},
		{"no pages", nil, []int{}, ""},
		{"a page not through OCR", []storage.Page{row(1, true), {BatchID: batch, No: 2}}, nil, "page 2: no stored image"},
		{"a page of another batch", []storage.Page{{BatchID: batch + 1, No: 1, ImageKey: "x"}}, nil, "is of batch 42"},
		{"a page twice", []storage.Page{row(1, true), row(1, true)}, nil, "page 1 given twice"},
		{"an image missing", []storage.Page{row(9, true)}, nil, "page 9"},
		{"an OCR result that is not JSON", []storage.Page{row(4, true)}, nil, "page 4: decode OCR result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := pagesource.Load(ctx, objs, batch, tt.rows, t.TempDir())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load: %v, want an error saying %q", err, tt.wantErr)
				}
				return
			}
			testenv.Must(t, err, "load")
			defer p.Close()
			if got := p.Nos(); !slices.Equal(got, tt.want) {
				t.Fatalf("loaded %v, want %v", got, tt.want)
			}
			in, err := p.Assemble(tt.want)
			testenv.Must(t, err, "assemble")
			for i, no := range tt.want {
				pg, _ := p.Page(no)
				if in[i].Image[2] != byte(no) {
					t.Errorf("page %d: image of page %d", no, in[i].Image[2])
				}
				if in[i].Width != 85 || in[i].Height != 110 || in[i].DPI != 10 {
					t.Errorf("page %d: size %dx%d at %d dpi", no, in[i].Width, in[i].Height, in[i].DPI)
				}
				wantWords := words
				if pg.OCRKey == "" {
					wantWords = nil
				}
				if !slices.Equal(in[i].Words, wantWords) {
					t.Errorf("page %d: words %v, want %v", no, in[i].Words, wantWords)
				}
			}
		})
	}
}

func TestAssembleNotLoaded(t *testing.T) {
	p, err := pagesource.Load(context.Background(), testenv.Objects(t), 1, nil, t.TempDir())
	testenv.Must(t, err, "load nothing")
	if _, err := p.Assemble([]int{1}); err == nil {
		t.Fatalf("Assemble of a page not loaded: %v, want an error", err)
	}
	if p.Has(1) {
		t.Fatal("Has(1) of an empty set")
	}
}

// TestWritePDF: the pages are kept in a folder of the set's own, not in
// memory; WritePDF writes the searchable PDF of the pages asked for, in
// that order, reading them from there; Close removes the folder, and a
// failed Load leaves none behind.
func TestWritePDF(t *testing.T) {
	ctx := context.Background()
	objs := testenv.Objects(t)
	const batch = 43
	var rows []storage.Page
	for no := 1; no <= 3; no++ {
		img := image.NewGray(image.Rect(0, 0, 60+10*no, 80))
		var buf bytes.Buffer
		testenv.Must(t, jpeg.Encode(&buf, img, nil), "encode")
		testenv.Must(t, objs.Put(ctx, storage.PageImageKey(batch, no), buf.Bytes(), "image/jpeg"), "put image")
		js, err := json.Marshal(ocr.Result{Words: []ocr.Word{{Text: fmt.Sprintf("WORD%d", no), Confidence: 90, X0: 2, Y0: 2, X1: 30, Y1: 10}}})
		testenv.Must(t, err, "encode OCR")
		testenv.Must(t, objs.Put(ctx, storage.PageOCRKey(batch, no), js, "application/json"), "put OCR")
		rows = append(rows, storage.Page{BatchID: batch, No: no, ImageKey: storage.PageImageKey(batch, no), OCRKey: storage.PageOCRKey(batch, no),
			Width: 60 + 10*no, Height: 80, DPI: 10})
	}
	dir := t.TempDir()
	p, err := pagesource.Load(ctx, objs, batch, rows, dir)
	testenv.Must(t, err, "load")
	kept, _ := os.ReadDir(dir)
	if len(kept) != 1 {
		t.Fatalf("%d entries in the work folder, want the set's own folder", len(kept))
	}
	var pdf bytes.Buffer
	testenv.Must(t, p.WritePDF(ctx, &pdf, []int{3, 1}), "write PDF")
	body := pdf.String()
	if got := strings.Count(body, "/Type /Page "); got != 2 {
		t.Errorf("%d pages in the PDF, want 2", got)
	}
	if i3, i1 := strings.Index(body, "/Width 90"), strings.Index(body, "/Width 70"); i3 < 0 || i1 < 0 || i3 > i1 {
		t.Errorf("pages not written in the order asked (3, then 1)")
	}
	if err := p.WritePDF(ctx, io.Discard, []int{1, 7}); err == nil || !strings.Contains(err.Error(), "page 7: not loaded") {
		t.Errorf("WritePDF of a page not loaded: %v", err)
	}
	testenv.Must(t, p.Close(), "close")
	if kept, _ := os.ReadDir(dir); len(kept) != 0 {
		t.Errorf("%d entries left after Close", len(kept))
	}
	if _, err := p.Read(1); err == nil {
		t.Error("read after Close")
	}
	bad := append(slices.Clone(rows), storage.Page{BatchID: batch, No: 9, ImageKey: "missing", Width: 1, Height: 1, DPI: 1})
	if _, err := pagesource.Load(ctx, objs, batch, bad, dir); err == nil {
		t.Fatal("load with a missing image")
	}
	if kept, _ := os.ReadDir(dir); len(kept) != 0 {
		t.Errorf("a failed Load left %d entries", len(kept))
	}
}
