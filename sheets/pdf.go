package sheets

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"io"
)

// writeBilevelPDF writes a one-page US Letter PDF whose page is img, a
// black-and-white page image filling the page, embedded as a 1-bit
// Flate-compressed DeviceGray image. The document information names only
// the producer.
func writeBilevelPDF(w io.Writer, img *image.Gray) error {
	b := img.Bounds()
	var packed bytes.Buffer
	zw := zlib.NewWriter(&packed)
	row := make([]byte, (b.Dx()+7)/8)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		clear(row)
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.Pix[img.PixOffset(x, y)] >= 0x80 { // 1 is white in DeviceGray
				i := x - b.Min.X
				row[i/8] |= 0x80 >> (i % 8)
			}
		}
		if _, err := zw.Write(row); err != nil {
			return fmt.Errorf("sheets: compress page: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("sheets: compress page: %w", err)
	}
	content := fmt.Sprintf("q %d 0 0 %d 0 0 cm /Im0 Do Q", pdfPointsW, pdfPointsH)

	bw := bufio.NewWriter(w)
	var offsets []int
	n := 0
	put := func(s string) {
		k, _ := bw.WriteString(s) // a write error is sticky: Flush reports it
		n += k
	}
	obj := func(body string) {
		offsets = append(offsets, n)
		put(fmt.Sprintf("%d 0 obj\n%s\nendobj\n", len(offsets), body))
	}
	put("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>",
		pdfPointsW, pdfPointsH))
	obj(fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream",
		b.Dx(), b.Dy(), packed.Len(), packed.Bytes()))
	obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	obj("<< /Producer (paperchart) >>")
	xref := n
	put(fmt.Sprintf("xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1))
	for _, o := range offsets {
		put(fmt.Sprintf("%010d 00000 n \n", o))
	}
	put(fmt.Sprintf("trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, len(offsets), xref))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("sheets: write PDF: %w", err)
	}
	return nil
}
