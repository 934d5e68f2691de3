package split

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimits keep one input cheap: small files, few pages, small pages.
func fuzzLimits() Limits {
	return Limits{MaxBytes: 1 << 20, MaxPages: 20, MaxPagePixels: 4_000_000, MaxPageInches: 100, MaxRenderPixels: 4_000_000}.withDefaults()
}

// FuzzInspect reads any bytes as a dropped file: no panic, every refusal a
// *Rejection with a reason, and whatever Inspect accepts Split can split
// into as many pages, of the format the bytes were sniffed as.
func FuzzInspect(f *testing.F) {
	page := pageImage(60, 80, 1)
	jpg, pngb := jpegBytes(f, page), pngBytes(f, page)
	le, be := binary.ByteOrder(binary.LittleEndian), binary.ByteOrder(binary.BigEndian)
	tiffPage := map[uint16]uint32{tagWidth: 16, tagHeight: 8, tagBitsPerSample: 8, tagCompression: 1, tagPhotometric: 1, tagSamplesPerPixel: 1, tagRowsPerStrip: 8}
	for _, b := range [][]byte{
		jpg, pngb, scannedPDF(f, jpg, pngb), pngHeader(70000, 70000),
		rawTIFF(le, []map[uint16]uint32{tiffPage, tiffPage}, 128, false),
		rawTIFF(be, []map[uint16]uint32{tiffPage}, 128, true),
		rawTIFF(le, []map[uint16]uint32{tiffPage}, 16, false),
		[]byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"),
		[]byte("II+\x00"), []byte("PK\x03\x04word/"), []byte("plain text\n"), {0xFF, 0xD8, 0xFF, 0xE0}, {},
	} {
		f.Add(b)
	}
	lim := fuzzLimits()
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		dir := t.TempDir()
		path := filepath.Join(dir, "in")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		file, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		info, err := InspectFile(ctx, file, lim)
		if err != nil {
			rej, ok := IsRejection(err)
			if !ok {
				t.Fatalf("Inspect: %v, want a *Rejection", err)
			}
			if rej.Code == "" || rej.Reason == "" {
				t.Fatalf("rejection without code or reason: %+v", rej)
			}
			return
		}
		if format, _ := sniff(data[:min(len(data), 1024)]); info.Format != format {
			t.Fatalf("Inspect says %s, the bytes sniff as %q", info.Format, format)
		}
		if info.Pages < 1 || info.Pages > lim.MaxPages {
			t.Fatalf("%d pages accepted", info.Pages)
		}
		out := filepath.Join(dir, "pages")
		if err := os.Mkdir(out, 0o700); err != nil {
			t.Fatal(err)
		}
		got, pages, err := Split(ctx, path, out, lim)
		if err != nil {
			t.Fatalf("Inspect accepted %d %s pages, Split fails: %v", info.Pages, info.Format, err)
		}
		if got != info || len(pages) != info.Pages {
			t.Fatalf("Split: %+v with %d pages, Inspect: %+v", got, len(pages), info)
		}
		for i, p := range pages {
			if p.No != i+1 || (p.Kind != KindImage && p.Kind != KindPDF) {
				t.Fatalf("page %d: %+v", i+1, p)
			}
			if st, err := os.Stat(p.Path); err != nil || st.Size() == 0 || filepath.Dir(p.Path) != out {
				t.Fatalf("page %d written as %s: %v", i+1, p.Path, err)
			}
		}
	})
}

// FuzzSniff: the sniffer names a format or says in words what the bytes
// look like, for any bytes.
func FuzzSniff(f *testing.F) {
	for _, s := range []string{"\x89PNG\r\n\x1a\n", "\xff\xd8\xff", "II*\x00", "MM\x00+", "junk %PDF-1.7", "PK\x05\x06xl/", "<html>", "RIFF0000WEBP", "\x00\x00\x00\x0cjP", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		format, what := sniff(b)
		if (format == "") == (what == "") {
			t.Fatalf("sniff(%q) = %q, %q: want a format or a description", b, format, what)
		}
	})
}
