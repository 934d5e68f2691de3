// Package split turns one input file (PDF, multi-page TIFF, JPEG or PNG) into
// page sources, one small file per page, and rejects files that can never be
// processed with a *Rejection whose Reason a scanning clerk can act on.
//
// The format is sniffed from the file's first bytes, never from its name.
// Inspect checks a file without writing anything; Split writes one file per
// page into a caller-owned directory; Render turns one page source into a
// grayscale image for OCR, rasterising PDF pages with poppler's pdftoppm.
//
// Memory: PDFs up to Limits.StreamPDFBytes are read whole into memory by
// pdfcpu; larger ones are separated into pages by poppler a few at a time
// and each page read alone; TIFF, JPEG and PNG files are read with ReadAt and
// only the page being written is held. Pixel counts are checked from headers before any
// pixel buffer is allocated.
package split

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// Format is the container format of an input file, as sniffed from its bytes.
type Format string

// Supported input formats.
const (
	FormatPDF  Format = "pdf"
	FormatTIFF Format = "tiff"
	FormatJPEG Format = "jpeg"
	FormatPNG  Format = "png"
)

// Page source kinds.
const (
	// KindImage: PageSource.Path is a JPEG, PNG or single-page TIFF that
	// image decoders (image/jpeg, image/png, golang.org/x/image/tiff) read as is.
	KindImage = "image"
	// KindPDF: PageSource.Path is a single-page PDF to rasterise (Render uses pdftoppm).
	KindPDF = "pdf"
)

// Limits bounds what an input may cost. A zero field means its default.
type Limits struct {
	// MaxBytes is the largest accepted file. Default 512 MiB.
	MaxBytes int64
	// StreamPDFBytes is the largest PDF read whole: pdfcpu holds every
	// stream of a PDF it reads in memory. A larger PDF is read page by page:
	// its page count, encryption and page sizes from poppler's pdfinfo, its
	// pages separated a few at a time by poppler's pdfseparate, each of them
	// then read alone. Default 32 MiB (a hundred or so scanned pages).
	StreamPDFBytes int64
	// MaxPages is the largest accepted page count. Default 2000.
	MaxPages int
	// MaxPagePixels is the most pixels (width*height) one scanned page may
	// have at its own resolution; larger images are rejected as
	// "page-too-large" before decoding. Default 120 megapixels (a 36×48 in
	// drawing at 190 dpi, an A3 page at 600 dpi needs 70).
	MaxPagePixels int64
	// MaxPageInches is the longest accepted side of a PDF page. Default 100.
	MaxPageInches float64
	// MaxRenderPixels caps the images Render returns: PDF pages are
	// rasterised at a lower dpi and image pages are downscaled so that
	// width*height stays below it. Default 40 megapixels (a letter page at
	// 600 dpi is 34). Split also sends PDF page images larger than this to
	// pdftoppm instead of extracting them, so that they are downscaled there.
	MaxRenderPixels int64
	// RejectRestricted rejects PDFs that are encrypted with an owner password
	// only (they open without a password; a viewer merely disallows copying
	// or printing). Default false: such files are accepted, since the
	// hospital owns the records and rescanning them only loses quality.
	// PDFs needing a user password are always rejected.
	RejectRestricted bool
}

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:        512 << 20,
		StreamPDFBytes:  32 << 20,
		MaxPages:        2000,
		MaxPagePixels:   120_000_000,
		MaxPageInches:   100,
		MaxRenderPixels: 40_000_000,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxPages <= 0 {
		l.MaxPages = d.MaxPages
	}
	if l.StreamPDFBytes <= 0 {
		l.StreamPDFBytes = d.StreamPDFBytes
	}
	if l.MaxPagePixels <= 0 {
		l.MaxPagePixels = d.MaxPagePixels
	}
	if l.MaxPageInches <= 0 {
		l.MaxPageInches = d.MaxPageInches
	}
	if l.MaxRenderPixels <= 0 {
		l.MaxRenderPixels = d.MaxRenderPixels
	}
	if l.MaxRenderPixels > l.MaxPagePixels {
		l.MaxRenderPixels = l.MaxPagePixels
	}
	return l
}

// Info describes an accepted input.
type Info struct {
	Format Format
	Pages  int
}

// PageSource is one page of an input, written by Split as its own file.
type PageSource struct {
	No   int    // 1-based page number in the input
	Path string // a file in Split's outDir holding just this page
	Kind string // KindImage or KindPDF
	// DPI is the scan resolution when known: image pixels per inch of the
	// PDF page, or the TIFF/JPEG/PNG resolution tags; 0 when unknown.
	DPI float64
	// Rotate is how many degrees clockwise the file at Path must still be
	// turned to look as a viewer shows the page (PDF /Rotate and the way the
	// image is drawn, TIFF/EXIF Orientation): 0, 90, 180 or 270. Render
	// applies it. For KindPDF it is always 0: the single-page PDF keeps its
	// /Rotate, which pdftoppm honours.
	Rotate int
	// Width and Height are the image's pixels for KindImage (before Rotate),
	// and for KindPDF the page size in points (1/72 in) as pdftoppm draws it
	// (after /Rotate); Render uses them to cap the dpi.
	Width, Height float64
	// Limits are the limits Split ran with; Render enforces their pixel caps.
	Limits Limits
}

// Rejection codes: short, stable slugs for an input that can never be processed.
const (
	CodeEmpty        = "empty"
	CodeTruncated    = "truncated"
	CodeCorrupt      = "corrupt"
	CodeEncrypted    = "encrypted"
	CodeUnsupported  = "unsupported"
	CodeTooManyPages = "too-many-pages"
	CodePageTooLarge = "page-too-large"
	CodeTooLarge     = "too-large"
)

// Rejection reports an input that can never be processed: retrying will not
// help (callers should not retry, e.g. return asynq.SkipRetry). Code is one
// of the Code constants; Reason is one plain-English sentence for the
// scanning clerk; Err is the underlying cause, if any. Neither Reason nor
// Error contains page text.
type Rejection struct {
	Code   string
	Reason string
	Err    error
}

func (r *Rejection) Error() string {
	if r.Err != nil {
		return fmt.Sprintf("rejected (%s): %s: %v", r.Code, r.Reason, r.Err)
	}
	return fmt.Sprintf("rejected (%s): %s", r.Code, r.Reason)
}

func (r *Rejection) Unwrap() error { return r.Err }

// IsRejection reports whether err is, or wraps, a *Rejection and returns it.
func IsRejection(err error) (*Rejection, bool) {
	var r *Rejection
	ok := errors.As(err, &r)
	return r, ok
}

func reject(code, reason string, err error) *Rejection {
	return &Rejection{Code: code, Reason: reason, Err: err}
}

// Inspect sniffs the file at path by its content, checks it against lim and
// validates it far enough that Split will not find it broken: page count,
// page sizes, encryption, image headers, and for PDFs that pdfcpu can parse
// every page. It returns a *Rejection for input that can never be
// processed and other errors for I/O trouble or a cancelled ctx.
func Inspect(ctx context.Context, path string, lim Limits) (Info, error) {
	pages, format, err := run(ctx, path, "", lim.withDefaults())
	if err != nil {
		return Info{}, err
	}
	return Info{Format: format, Pages: len(pages)}, nil
}

// InspectFile is Inspect for a file already open: it reads f with ReadAt
// only (its offset is left alone) and does not close it. Ingest inspects
// the descriptor it checked and hashed, never the path again.
func InspectFile(ctx context.Context, f *os.File, lim Limits) (Info, error) {
	pages, format, err := runFile(ctx, f, "", lim.withDefaults())
	if err != nil {
		return Info{}, err
	}
	return Info{Format: format, Pages: len(pages)}, nil
}

// Split writes every page of the file at path into outDir (which must exist;
// the caller owns it and removes it) and returns what Inspect would, with the
// pages in order. It does everything Inspect does, reading the input once. Rejections and errors are
// as for Inspect.
func Split(ctx context.Context, path, outDir string, lim Limits) (Info, []PageSource, error) {
	if outDir == "" {
		return Info{}, nil, errors.New("split: empty output directory")
	}
	if st, err := os.Stat(outDir); err != nil {
		return Info{}, nil, fmt.Errorf("split: output directory: %w", err)
	} else if !st.IsDir() {
		return Info{}, nil, fmt.Errorf("split: output %s is not a directory", outDir)
	}
	pages, format, err := run(ctx, path, outDir, lim.withDefaults())
	if err != nil {
		return Info{}, nil, err
	}
	return Info{Format: format, Pages: len(pages)}, pages, nil
}

// run does Inspect's work, and Split's when outDir is not empty.
func run(ctx context.Context, path, outDir string, lim Limits) ([]PageSource, Format, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("split: open input: %w", err)
	}
	defer f.Close()
	return runFile(ctx, f, outDir, lim)
}

// runFile is run on an open file.
func runFile(ctx context.Context, f *os.File, outDir string, lim Limits) ([]PageSource, Format, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, "", fmt.Errorf("split: stat input: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, "", errors.New("split: input is not a regular file")
	}
	size := st.Size()
	if size == 0 {
		return nil, "", reject(CodeEmpty, "The file is empty (0 bytes); scan the paper again.", nil)
	}
	if size > lim.MaxBytes {
		return nil, "", reject(CodeTooLarge, fmt.Sprintf("The file is %d MiB, more than the %d MiB allowed; scan the document in smaller parts.", size>>20, lim.MaxBytes>>20), nil)
	}
	head := make([]byte, 1024)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, "", fmt.Errorf("split: read input header: %w", err)
	}
	head = head[:n]
	format, what := sniff(head)
	var pages []PageSource
	switch format {
	case FormatPDF:
		pages, err = runPDF(ctx, f, size, outDir, lim)
	case FormatTIFF:
		pages, err = runTIFF(ctx, f, size, outDir, lim)
	case FormatJPEG:
		pages, err = runJPEG(ctx, f, size, outDir, lim)
	case FormatPNG:
		pages, err = runPNG(ctx, f, size, outDir, lim)
	default:
		return nil, "", reject(CodeUnsupported, fmt.Sprintf("The file looks like %s, not a PDF, TIFF, JPEG or PNG; save or scan it as a PDF.", what), nil)
	}
	if err != nil {
		return nil, format, err
	}
	for i := range pages {
		pages[i].Limits = lim
	}
	return pages, format, nil
}

// sniff names the format of a file from its first bytes. For unsupported
// files it returns "" and a description of what the bytes look like.
func sniff(b []byte) (Format, string) {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG, ""
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return FormatJPEG, ""
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return FormatTIFF, ""
	case bytes.HasPrefix(b, []byte("II+\x00")), bytes.HasPrefix(b, []byte("MM\x00+")):
		return "", "a BigTIFF image (not supported)"
	case bytes.Contains(b, []byte("%PDF-")):
		// PDF readers accept junk before the header within the first 1024 bytes.
		return FormatPDF, ""
	case bytes.HasPrefix(b, []byte("PK\x03\x04")), bytes.HasPrefix(b, []byte("PK\x05\x06")):
		switch {
		case bytes.Contains(b, []byte("word/")):
			return "", "a Word document (DOCX)"
		case bytes.Contains(b, []byte("xl/")):
			return "", "an Excel workbook (XLSX)"
		case bytes.Contains(b, []byte("ppt/")):
			return "", "a PowerPoint file (PPTX)"
		}
		return "", "a ZIP archive or Office document"
	case bytes.HasPrefix(b, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return "", "an old Microsoft Office document (DOC/XLS)"
	case bytes.HasPrefix(b, []byte("GIF8")):
		return "", "a GIF image"
	case bytes.HasPrefix(b, []byte("BM")):
		return "", "a BMP image"
	case len(b) >= 12 && bytes.HasPrefix(b, []byte("RIFF")) && string(b[8:12]) == "WEBP":
		return "", "a WebP image"
	case len(b) >= 12 && string(b[4:8]) == "ftyp" && (bytes.Contains(b[8:12], []byte("hei")) || bytes.Contains(b[8:12], []byte("mif1"))):
		return "", "a HEIC photo"
	case bytes.HasPrefix(b, []byte{0x00, 0x00, 0x00, 0x0C, 'j', 'P'}), bytes.HasPrefix(b, []byte{0xFF, 0x4F, 0xFF, 0x51}):
		return "", "a JPEG 2000 image"
	case bytes.HasPrefix(b, []byte("%!PS")):
		return "", "a PostScript file"
	case bytes.HasPrefix(b, []byte("{\\rtf")):
		return "", "an RTF document"
	case bytes.HasPrefix(b, []byte("\x1f\x8b")):
		return "", "a gzip archive"
	case looksLikeText(b):
		if bytes.Contains(bytes.ToLower(b), []byte("<html")) {
			return "", "a web page (HTML)"
		}
		return "", "a text file"
	}
	return "", "an unknown kind of file"
}

func looksLikeText(b []byte) bool {
	if len(b) > 4 {
		// Do not fail on a rune cut at the end of the sample.
		b = b[:len(b)-3]
	}
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' {
			return false
		}
	}
	return true
}
