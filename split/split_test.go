package split

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"paperchart/scangen"
)

func zipBytes(t *testing.T) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("word/document.xml")
	w.Write([]byte("<w:document/>"))
	zw.Close()
	return b.Bytes()
}

func encryptedPDF(t *testing.T, userPW, ownerPW string) []byte {
	t.Helper()
	in := writeTemp(t, "plain.pdf", scannedPDF(t, jpegBytes(t, pageImage(200, 260, 1))))
	out := filepath.Join(t.TempDir(), "enc.pdf")
	conf := model.NewAESConfiguration(userPW, ownerPW, 256)
	if err := api.EncryptFile(in, out, conf); err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInspect(t *testing.T) {
	ctx := context.Background()
	page := pageImage(300, 400, 1)
	jpg, pngb := jpegBytes(t, page), pngBytes(t, page)
	pdf := scannedPDF(t, jpg, pngb)
	fivePages := scannedPDF(t, jpg, jpg, jpg, jpg, jpg)
	le, be := binary.ByteOrder(binary.LittleEndian), binary.ByteOrder(binary.BigEndian)
	tiffPage := map[uint16]uint32{tagWidth: 16, tagHeight: 8, tagBitsPerSample: 8, tagCompression: 1, tagPhotometric: 1, tagSamplesPerPixel: 1, tagRowsPerStrip: 8}
	with := func(m map[uint16]uint32, k uint16, v uint32) map[uint16]uint32 {
		c := map[uint16]uint32{}
		for a, b := range m {
			c[a] = b
		}
		c[k] = v
		return c
	}
	garbage := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0x13, 0x37, 0xA5, 0x5A}, 500)...)
	garbage = append(garbage, "\n%%EOF\n"...)

	tests := []struct {
		name     string
		file     string
		data     []byte
		lim      Limits
		code     string // "" = accepted
		format   Format
		pages    int
		reasonIn string
	}{
		{name: "empty", file: "a.pdf", data: nil, code: CodeEmpty},
		{name: "scanned pdf", file: "a.pdf", data: pdf, format: FormatPDF, pages: 2},
		{name: "truncated pdf", file: "a.pdf", data: pdf[:len(pdf)/2], code: CodeTruncated},
		{name: "garbage after header", file: "a.pdf", data: garbage, code: CodeCorrupt},
		{name: "png named pdf", file: "scan.pdf", data: pngb, format: FormatPNG, pages: 1},
		{name: "jpeg named tif", file: "scan.tif", data: jpg, format: FormatJPEG, pages: 1},
		{name: "text named pdf", file: "a.pdf", data: []byte("Patient notes, typed\nline two\n"), code: CodeUnsupported, reasonIn: "text file"},
		{name: "docx named pdf", file: "a.pdf", data: zipBytes(t), code: CodeUnsupported, reasonIn: "Word document"},
		{name: "gif", file: "a.gif", data: []byte("GIF89a\x01\x00\x01\x00"), code: CodeUnsupported, reasonIn: "GIF"},
		{name: "user password", file: "a.pdf", data: encryptedPDF(t, "secret", "owner"), code: CodeEncrypted, reasonIn: "password"},
		{name: "owner password only accepted", file: "a.pdf", data: encryptedPDF(t, "", "owner"), format: FormatPDF, pages: 1},
		{name: "owner password only, restricted rejected", file: "a.pdf", data: encryptedPDF(t, "", "owner"), lim: Limits{RejectRestricted: true}, code: CodeEncrypted},
		{name: "too many pdf pages", file: "a.pdf", data: fivePages, lim: Limits{MaxPages: 3}, code: CodeTooManyPages},
		{name: "pdf too large", file: "a.pdf", data: fivePages, lim: Limits{MaxBytes: 1000}, code: CodeTooLarge},
		{name: "png bomb", file: "a.png", data: pngHeader(100000, 100000), code: CodePageTooLarge},
		{name: "png truncated", file: "a.png", data: pngb[:len(pngb)-20], code: CodeTruncated},
		{name: "png bad ihdr crc", file: "a.png", data: func() []byte { b := bytes.Clone(pngb); b[20] ^= 1; return b }(), code: CodeCorrupt},
		{name: "jpeg truncated", file: "a.jpg", data: jpg[:len(jpg)*2/3], code: CodeTruncated},
		{name: "jpeg header only", file: "a.jpg", data: jpg[:40], code: CodeTruncated},
		{name: "tiff le 3 pages", file: "a.tif", data: rawTIFF(le, []map[uint16]uint32{tiffPage, tiffPage, tiffPage}, 128, false), format: FormatTIFF, pages: 3},
		{name: "tiff be 2 pages", file: "a.tif", data: rawTIFF(be, []map[uint16]uint32{tiffPage, tiffPage}, 128, false), format: FormatTIFF, pages: 2},
		{name: "tiff thumbnail skipped", file: "a.tif", data: rawTIFF(le, []map[uint16]uint32{tiffPage, with(tiffPage, tagNewSubfileType, 1)}, 128, false), format: FormatTIFF, pages: 1},
		{name: "tiff ifd cycle", file: "a.tif", data: rawTIFF(le, []map[uint16]uint32{tiffPage, tiffPage}, 128, true), code: CodeCorrupt},
		{name: "tiff huge page", file: "a.tif", data: rawTIFF(le, []map[uint16]uint32{with(with(tiffPage, tagWidth, 200000), tagHeight, 200000)}, 128, false), code: CodePageTooLarge},
		{name: "tiff old jpeg", file: "a.tif", data: rawTIFF(le, []map[uint16]uint32{with(tiffPage, tagCompression, 6)}, 128, false), code: CodeUnsupported, reasonIn: "JPEG compression"},
		{name: "tiff cmyk", file: "a.tif", data: rawTIFF(be, []map[uint16]uint32{with(tiffPage, tagPhotometric, 5)}, 128, false), code: CodeUnsupported, reasonIn: "CMYK"},
		{name: "tiff strip past end", file: "a.tif", data: rawTIFF(le, []map[uint16]uint32{tiffPage}, 128, false)[:100], code: CodeTruncated},
		{name: "tiff too many pages", file: "a.tif", data: rawTIFF(le, []map[uint16]uint32{tiffPage, tiffPage, tiffPage, tiffPage}, 16, false), lim: Limits{MaxPages: 3}, code: CodeTooManyPages},
		{name: "bigtiff", file: "a.tif", data: []byte("II+\x00\x08\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00"), code: CodeUnsupported, reasonIn: "BigTIFF"},
	}
	// Every PDF again, read page by page (poppler) as a big PDF is: the
	// same verdicts.
	for _, tc := range tests {
		if bytes.HasPrefix(tc.data, []byte("%PDF-")) && tc.lim.MaxBytes == 0 {
			tc.name += ", streamed"
			tc.lim.StreamPDFBytes = 1
			tests = append(tests, tc)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, tc.file, tc.data)
			info, err := Inspect(ctx, path, tc.lim)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("want accepted, got %v", err)
				}
				if info.Format != tc.format || info.Pages != tc.pages {
					t.Errorf("got %+v, want %s with %d pages", info, tc.format, tc.pages)
				}
				// Split must then succeed and every page must render.
				_, pages, err := Split(ctx, path, t.TempDir(), tc.lim)
				if err != nil {
					t.Fatalf("Inspect accepted but Split failed: %v", err)
				}
				if len(pages) != tc.pages {
					t.Fatalf("Split gave %d pages, want %d", len(pages), tc.pages)
				}
				for _, p := range pages {
					if _, _, err := Render(ctx, p, 150); err != nil {
						t.Errorf("render page %d: %v", p.No, err)
					}
				}
				return
			}
			r, ok := IsRejection(err)
			if !ok {
				t.Fatalf("want rejection %q, got %v", tc.code, err)
			}
			if r.Code != tc.code {
				t.Errorf("code %q (%s), want %q", r.Code, r.Reason, tc.code)
			}
			if !strings.Contains(r.Reason, tc.reasonIn) || !strings.HasSuffix(r.Reason, ".") {
				t.Errorf("reason %q should be a sentence mentioning %q", r.Reason, tc.reasonIn)
			}
			if strings.Contains(r.Error(), "Patient notes") {
				t.Errorf("error carries file content: %v", r)
			}
		})
	}
}

func TestInspectIOErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Inspect(ctx, filepath.Join(t.TempDir(), "missing.pdf"), Limits{}); err == nil || errors.As(err, new(*Rejection)) {
		t.Errorf("missing file: want a plain error, got %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	path := writeTemp(t, "a.png", pngBytes(t, pageImage(10, 10, 1)))
	if _, err := Inspect(cctx, path, Limits{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v", err)
	}
	if _, _, err := Split(ctx, path, filepath.Join(t.TempDir(), "nope"), Limits{}); err == nil {
		t.Error("missing outDir: want an error")
	}
}

func TestSplitScannedPDF(t *testing.T) {
	ctx := context.Background()
	needTool(t, "pdftoppm")
	a, b := pageImage(850, 1100, 1), pageImage(850, 1100, 2)
	pdf := scannedPDF(t, jpegBytes(t, a), pngBytes(t, b))
	path := writeTemp(t, "scan.pdf", pdf)
	_, pages, err := Split(ctx, path, t.TempDir(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 2 {
		t.Fatalf("%d pages", len(pages))
	}
	if pages[0].Kind != KindImage || filepath.Ext(pages[0].Path) != ".jpg" {
		t.Errorf("JPEG page: kind %s path %s, want the JPEG passed through", pages[0].Kind, pages[0].Path)
	}
	jb, _ := os.ReadFile(pages[0].Path)
	if !bytes.Equal(jb, jpegBytes(t, a)) {
		t.Error("JPEG page was not passed through unchanged")
	}
	for _, p := range pages {
		img, dpi, err := Render(ctx, p, 300)
		if err != nil {
			t.Fatalf("render %d: %v", p.No, err)
		}
		ref := pdftoppmPage(t, path, p.No, dpi)
		// Same picture as poppler draws: size within a pixel or two, same ink.
		if d := img.Bounds().Size().Sub(ref.Bounds().Size()); abs(d.X) > 2 || abs(d.Y) > 2 {
			t.Errorf("page %d: %v at %d dpi, pdftoppm %v", p.No, img.Bounds().Size(), dpi, ref.Bounds().Size())
		}
		if m, r := meanGray(img), meanGray(ref); m < r-6 || m > r+6 {
			t.Errorf("page %d: mean gray %.1f, pdftoppm %.1f", p.No, m, r)
		}
	}
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

func TestSplitRotatedPDFPage(t *testing.T) {
	ctx := context.Background()
	in := writeTemp(t, "scan.pdf", scannedPDF(t, jpegBytes(t, pageImage(400, 600, 1))))
	out := filepath.Join(t.TempDir(), "rot.pdf")
	if err := api.RotateFile(in, out, 90, nil, nil); err != nil {
		t.Fatal(err)
	}
	_, pages, err := Split(ctx, out, t.TempDir(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	p := pages[0]
	if p.Kind != KindImage || p.Rotate != 90 {
		t.Fatalf("got kind %s rotate %d, want image rotated 90", p.Kind, p.Rotate)
	}
	img, _, err := Render(ctx, p, 300)
	if err != nil {
		t.Fatal(err)
	}
	if s := img.Bounds().Size(); s.X != 600 || s.Y != 400 {
		t.Errorf("rendered %v, want 600x400 (landscape)", s)
	}
	// The "up" marker block (top-left of the unrotated page) is now top-right.
	g := img.(*image.Gray)
	if v := g.GrayAt(600-40, 40).Y; v > 50 {
		t.Errorf("marker not at top right after rotation: %d", v)
	}
}

func TestSplitTIFF(t *testing.T) {
	needTool(t, "tiffcp")
	ctx := context.Background()
	// Single pages written by x/image/tiff, merged by libtiff into G4 and LZW files.
	var singles []string
	dir := t.TempDir()
	for i := 0; i < 3; i++ {
		tp := filepath.Join(dir, "p"+itoa(i)+".tif")
		if err := bilevelTIFF(pageImage(200+i*10, 300, i), tp); err != nil {
			t.Fatal(err)
		}
		singles = append(singles, tp)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"g4 little endian", []string{"-L", "-c", "g4"}},
		{"g4 big endian", []string{"-B", "-c", "g4"}},
		{"lzw", []string{"-c", "lzw"}},
		{"zip", []string{"-c", "zip"}},
		{"packbits", []string{"-c", "packbits"}},
		{"g3 1d", []string{"-c", "g3:1d"}},
		{"g4 lsb fill order", []string{"-c", "g4", "-f", "lsb2msb"}},
		{"tiled lzw", []string{"-c", "lzw", "-t", "-w", "64", "-l", "64"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "multi.tif")
			args := append(append(append([]string{}, tc.args...), singles...), out)
			if b, err := execCommand("tiffcp", args...); err != nil {
				t.Fatalf("tiffcp: %v %s", err, b)
			}
			_, pages, err := Split(ctx, out, t.TempDir(), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(pages) != 3 {
				t.Fatalf("%d pages, want 3", len(pages))
			}
			for i, p := range pages {
				img, _, err := Render(ctx, p, 300)
				if err != nil {
					t.Fatalf("render page %d: %v", p.No, err)
				}
				if s := img.Bounds().Size(); s.X != 200+i*10 || s.Y != 300 {
					t.Errorf("page %d is %v, want %dx300", p.No, s, 200+i*10)
				}
				if v := img.(*image.Gray).GrayAt(20, 25).Y; v != 0 {
					t.Errorf("page %d: marker pixel %d, want black (inverted?)", p.No, v)
				}
			}
		})
	}
}

// TestSplitStreamedPDF: a PDF split page by page (poppler separates the
// pages, as for a PDF over Limits.StreamPDFBytes) gives the same page
// sources, byte for byte, as one read whole: scanned JPEG and CCITT G4
// pages, a page turned by /Rotate, born-digital text pages.
func TestSplitStreamedPDF(t *testing.T) {
	needTool(t, "pdfinfo", "pdfseparate")
	ctx := context.Background()
	var gen bytes.Buffer
	if _, err := scangen.Generate(ctx, &gen, scangen.Options{Pages: 20, Seed: 5, Format: scangen.FormatPDF, DPI: 100, Bilevel: 0.4, BlankProb: 0.1}); err != nil {
		t.Fatal(err)
	}
	rotIn := writeTemp(t, "scan.pdf", scannedPDF(t, jpegBytes(t, pageImage(400, 600, 1)), pngBytes(t, pageImage(300, 200, 2))))
	rotated := filepath.Join(t.TempDir(), "rot.pdf")
	if err := api.RotateFile(rotIn, rotated, 90, []string{"1"}, nil); err != nil {
		t.Fatal(err)
	}
	rot, err := os.ReadFile(rotated)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"generated scans", gen.Bytes()},
		{"rotated page", rot},
		{"born-digital", scangen.BornDigitalPDF(612, 792, 12, "DISCHARGE SUMMARY", "Seen and examined.")},
	}
	for _, name := range []string{"ccitt.pdf", "jbig2.pdf", "epson.pdf", "cardinal.pdf", "c02-22.pdf"} {
		if data, err := os.ReadFile(filepath.Join(sharedPDFs, name)); err == nil {
			cases = append(cases, struct {
				name string
				data []byte
			}{name, data})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, "in.pdf", tc.data)
			wholeDir, streamDir := t.TempDir(), t.TempDir()
			_, whole, err := Split(ctx, path, wholeDir, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			info, err := Inspect(ctx, path, Limits{StreamPDFBytes: 1})
			if err != nil || info.Pages != len(whole) {
				t.Fatalf("streamed inspect: %+v, %v; want %d pages", info, err, len(whole))
			}
			_, streamed, err := Split(ctx, path, streamDir, Limits{StreamPDFBytes: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(streamed) != len(whole) {
				t.Fatalf("%d pages streamed, %d read whole", len(streamed), len(whole))
			}
			for i, w := range whole {
				s := streamed[i]
				if s.No != w.No || s.Kind != w.Kind || s.DPI != w.DPI || s.Rotate != w.Rotate || s.Width != w.Width || s.Height != w.Height ||
					filepath.Base(s.Path) != filepath.Base(w.Path) {
					t.Errorf("page %d: streamed %+v, whole %+v", w.No, s, w)
					continue
				}
				if w.Kind == KindImage {
					a, _ := os.ReadFile(w.Path)
					b, _ := os.ReadFile(s.Path)
					if !bytes.Equal(a, b) {
						t.Errorf("page %d: image differs", w.No)
					}
				}
				wi, _, err1 := Render(ctx, w, 72)
				si, _, err2 := Render(ctx, s, 72)
				if err1 != nil || err2 != nil || wi.Bounds() != si.Bounds() {
					t.Errorf("page %d renders %v (%v) streamed, %v (%v) whole", w.No, si.Bounds(), err2, wi.Bounds(), err1)
				}
			}
			if left, _ := os.ReadDir(streamDir); len(left) != len(streamed) {
				t.Errorf("%d files in the output folder for %d pages: separated pages left behind", len(left), len(streamed))
			}
		})
	}
}
