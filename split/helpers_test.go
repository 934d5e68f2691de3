package split

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// pageImage draws a gray page with dark "text" bars, distinct per seed, so
// that rotations and page order are visible in tests.
func pageImage(w, h, seed int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 250
	}
	// A black block in the top-left corner marks "up".
	for y := h / 20; y < h/8; y++ {
		for x := w / 20; x < w/4; x++ {
			img.Pix[y*img.Stride+x] = 0
		}
	}
	for line := 0; line < 10+seed%5; line++ {
		y0 := h/6 + line*h/20
		for y := y0; y < y0+h/60 && y < h; y++ {
			for x := w / 10; x < w*(5+seed%4)/10; x++ {
				img.Pix[y*img.Stride+x] = 30
			}
		}
	}
	return img
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// scannedPDF builds a PDF with one full-page image per entry of imgs
// (encoded JPEG or PNG bytes), using pdfcpu's image import.
func scannedPDF(t testing.TB, imgs ...[]byte) []byte {
	t.Helper()
	pdfcpuConfig(DefaultLimits()) // sets ConfigPath once
	rs := make([]io.Reader, len(imgs))
	for i, b := range imgs {
		rs[i] = bytes.NewReader(b)
	}
	imp := pdfcpu.DefaultImportConfig()
	var out bytes.Buffer
	if err := api.ImportImages(nil, &out, rs, imp, model.NewDefaultConfiguration()); err != nil {
		t.Fatalf("import images: %v", err)
	}
	return out.Bytes()
}

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pngHeader returns a PNG signature and IHDR chunk (valid CRC) claiming w×h,
// followed by an IEND, with no image data worth decoding.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0 // 8-bit gray
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

// rawTIFF builds a TIFF by hand: one IFD per page with the given entries
// (tag -> SHORT/LONG values), each page's strip holding stripLen zero bytes.
// It is independent of the package's writer so that tests check the reader.
func rawTIFF(bo binary.ByteOrder, pages []map[uint16]uint32, stripLen int, cycle bool) []byte {
	return rawTIFFData(bo, pages, nil, stripLen, cycle)
}

// rawTIFFData is rawTIFF with given strip contents (one strip per page).
func rawTIFFData(bo binary.ByteOrder, pages []map[uint16]uint32, strips [][]byte, stripLen int, cycle bool) []byte {
	var b bytes.Buffer
	if bo == binary.LittleEndian {
		b.WriteString("II*\x00")
	} else {
		b.WriteString("MM\x00*")
	}
	binary.Write(&b, bo, uint32(8))
	var ifdOffs []int
	var nextFixups []int
	for pi, tags := range pages {
		data := make([]byte, stripLen)
		if strips != nil {
			data = strips[pi]
		}
		ifdOffs = append(ifdOffs, b.Len())
		keys := make([]int, 0, len(tags)+2)
		for k := range tags {
			keys = append(keys, int(k))
		}
		keys = append(keys, tagStripOffsets, tagStripByteCounts)
		sortInts(keys)
		binary.Write(&b, bo, uint16(len(keys)))
		stripAt := b.Len() + 12*len(keys) + 4
		for _, k := range keys {
			binary.Write(&b, bo, uint16(k))
			binary.Write(&b, bo, uint16(tLong))
			binary.Write(&b, bo, uint32(1))
			switch k {
			case tagStripOffsets:
				binary.Write(&b, bo, uint32(stripAt))
			case tagStripByteCounts:
				binary.Write(&b, bo, uint32(len(data)))
			default:
				binary.Write(&b, bo, tags[uint16(k)])
			}
		}
		nextFixups = append(nextFixups, b.Len())
		binary.Write(&b, bo, uint32(0))
		b.Write(data)
		if b.Len()%2 == 1 {
			b.WriteByte(0)
		}
	}
	out := b.Bytes()
	for i := 0; i+1 < len(ifdOffs); i++ {
		bo.PutUint32(out[nextFixups[i]:], uint32(ifdOffs[i+1]))
	}
	if cycle {
		bo.PutUint32(out[nextFixups[len(nextFixups)-1]:], uint32(ifdOffs[0]))
	}
	return out
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func needTool(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
}

// meanGray returns the mean of a gray image's pixels.
func meanGray(img image.Image) float64 {
	g := toGray(img)
	var s int64
	for _, v := range g.Pix {
		s += int64(v)
	}
	return float64(s) / float64(len(g.Pix))
}

// pdftoppmPage renders page no of a PDF with pdftoppm directly, as a reference.
func pdftoppmPage(t testing.TB, path string, no, dpi int) *image.Gray {
	t.Helper()
	src := PageSource{No: no, Path: path, Kind: KindPDF}
	dir := t.TempDir()
	out := filepath.Join(dir, "ref")
	args := []string{"-r", itoa(dpi), "-gray", "-singlefile", "-f", itoa(no), "-l", itoa(no), src.Path, out}
	if b, err := exec.CommandContext(context.Background(), "pdftoppm", args...).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, b)
	}
	f, err := os.Open(out + ".pgm")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := readPGM(bufioReader(f), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

var _ = color.Gray{}

func itoa(i int) string { return strconv.Itoa(i) }

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

func execCommand(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}

// bilevelTIFF writes img (thresholded at 128) as an uncompressed 1-bit TIFF
// (WhiteIsZero, the usual for fax data).
func bilevelTIFF(img *image.Gray, path string) error {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	stride := (w + 7) / 8
	bits := make([]byte, stride*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if img.Pix[y*img.Stride+x] < 128 {
				bits[y*stride+x/8] |= 0x80 >> (x % 8)
			}
		}
	}
	tags := map[uint16]uint32{tagWidth: uint32(w), tagHeight: uint32(h), tagBitsPerSample: 1, tagCompression: 1, tagPhotometric: 0, tagSamplesPerPixel: 1, tagRowsPerStrip: uint32(h)}
	return os.WriteFile(path, rawTIFFData(binary.LittleEndian, []map[uint16]uint32{tags}, [][]byte{bits}, 0, false), 0o600)
}
