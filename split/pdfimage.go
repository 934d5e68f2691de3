package split

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"

	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// How a PDF page image is written out.
const (
	modeJPEG   = iota // DCT stream copied unchanged into a .jpg
	modeG4            // CCITT G4 stream copied unchanged into a .tif
	modeFlate         // Flate stream without predictor copied unchanged into a Deflate .tif
	modeDecode        // stream decoded by pdfcpu's filters, pixels written as .png
)

// imagePlan is a PDF page that is one scanned image, and how to write it.
type imagePlan struct {
	sd     *types.StreamDict
	mode   int
	w, h   int
	comps  int // 1 gray, 3 RGB
	bpc    int // 1 or 8
	invert bool
	dpi    float64
	rotate int
}

// planImage decides whether the page whose content draws one XObject sc is a
// scanned image Split can write as an image file. It returns nil when the
// page must be rasterised instead.
func planImage(pctx *model.Context, p int, sc contentScan, box types.Rectangle, lim Limits) *imagePlan {
	var sd *types.StreamDict
	for _, objNr := range pdfcpu.ImageObjNrs(pctx, p) {
		io := pctx.Optimize.ImageObjects[objNr]
		if io != nil && io.ResourceNames[p-1] == sc.name {
			sd = io.ImageDict
			break
		}
	}
	if sd == nil {
		return nil // a form XObject, or an image pdfcpu did not find
	}
	rot, ok := axisRotation(sc.ctm)
	if !ok || !coversPage(sc, box) {
		return nil
	}
	d := sd.Dict
	if b := d.BooleanEntry("ImageMask"); b != nil && *b {
		return nil
	}
	if d.HasEntry("Mask") || d.HasEntry("SMask") || d.HasEntry("SMaskInData") {
		return nil
	}
	w, h := intEntry(pctx, d, "Width"), intEntry(pctx, d, "Height")
	if w <= 0 || h <= 0 || int64(w)*int64(h) > lim.MaxRenderPixels {
		return nil // large images are downscaled by pdftoppm
	}
	plan := &imagePlan{sd: sd, w: w, h: h, rotate: rot, bpc: intEntry(pctx, d, "BitsPerComponent")}

	// Resolution along both image axes; non-square pixels (fax) are left to pdftoppm.
	a, b, c, dd := sc.ctm[0], sc.ctm[1], sc.ctm[2], sc.ctm[3]
	uLen, vLen := math.Hypot(a, b)/72, math.Hypot(c, dd)/72
	xdpi, ydpi := float64(w)/uLen, float64(h)/vLen
	if math.Abs(xdpi-ydpi) > 0.03*xdpi {
		return nil
	}
	plan.dpi = math.Round((xdpi+ydpi)/2*10) / 10

	fp := sd.FilterPipeline
	if len(fp) == 0 {
		return nil // uncompressed images are rare in scans; pdftoppm handles them
	}
	last := fp[len(fp)-1]
	plan.comps = colorComponents(pctx, d, last.Name == filter.CCITTFax)
	invert, ok := decodeInverted(pctx, d, plan.comps)
	if !ok {
		return nil
	}
	plan.invert = invert
	switch {
	case len(fp) == 1 && last.Name == filter.DCT:
		if plan.comps != 1 && plan.comps != 3 || plan.bpc != 8 || invert {
			return nil
		}
		plan.mode = modeJPEG
	case len(fp) == 1 && last.Name == filter.CCITTFax:
		parms := last.DecodeParms
		k := parmInt(parms, "K", 0)
		cols := parmInt(parms, "Columns", 1728)
		rows := parmInt(parms, "Rows", 0)
		if k >= 0 || cols != w || (rows != 0 && rows != h) || parmBool(parms, "EncodedByteAlign") || plan.comps != 1 {
			return nil
		}
		// golang.org/x/image/tiff draws CCITT black runs black whatever the
		// TIFF's photometric says, so an inverted image (BlackIs1 true or
		// /Decode [1 0]) cannot be expressed: pdftoppm draws those.
		if invert != parmBool(parms, "BlackIs1") {
			return nil
		}
		plan.bpc = 1
		plan.mode = modeG4
	case len(fp) == 1 && last.Name == filter.Flate && parmInt(last.DecodeParms, "Predictor", 1) <= 1:
		if !(plan.comps == 1 && (plan.bpc == 1 || plan.bpc == 8) || plan.comps == 3 && plan.bpc == 8 && !invert) {
			return nil
		}
		plan.mode = modeFlate
	default:
		for _, f := range fp {
			switch f.Name {
			case filter.Flate, filter.LZW, filter.RunLength, filter.ASCII85, filter.ASCIIHex:
			default:
				return nil
			}
		}
		if !(plan.comps == 1 && (plan.bpc == 1 || plan.bpc == 8) || plan.comps == 3 && plan.bpc == 8 && !invert) {
			return nil
		}
		plan.mode = modeDecode
	}
	return plan
}

// coversPage reports whether the image drawn by sc fills the page box: its
// visible part (after clipping) covers at least 90% of the page and it does
// not stick out by more than 2% on any side.
func coversPage(sc contentScan, box types.Rectangle) bool {
	pb := [4]float64{box.LL.X, box.LL.Y, box.UR.X, box.UR.Y}
	ib := sc.ctm.bbox(0, 0, 1, 1)
	tx, ty := 0.02*box.Width(), 0.02*box.Height()
	if ib[0] < pb[0]-tx || ib[1] < pb[1]-ty || ib[2] > pb[2]+tx || ib[3] > pb[3]+ty {
		return false
	}
	vis := rectAnd(ib, pb)
	for _, c := range sc.clips {
		vis = rectAnd(vis, c)
	}
	area := func(r [4]float64) float64 { return max(0, r[2]-r[0]) * max(0, r[3]-r[1]) }
	return area(vis) >= 0.9*area(pb)
}

func rectAnd(a, b [4]float64) [4]float64 {
	return [4]float64{max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])}
}

func intEntry(pctx *model.Context, d types.Dict, key string) int {
	o, err := pctx.DereferenceDictEntry(d, key)
	if err != nil || o == nil {
		return 0
	}
	switch v := o.(type) {
	case types.Integer:
		return v.Value()
	case types.Float:
		return int(v.Value())
	}
	return 0
}

func parmInt(d types.Dict, key string, def int) int {
	if d == nil {
		return def
	}
	if i := d.IntEntry(key); i != nil {
		return *i
	}
	return def
}

func parmBool(d types.Dict, key string) bool {
	if d == nil {
		return false
	}
	b := d.BooleanEntry(key)
	return b != nil && *b
}

// colorComponents returns 1 or 3 for gray and RGB-like colour spaces, 0 for
// anything Split does not write itself (Indexed, CMYK, Lab, DeviceN...).
func colorComponents(pctx *model.Context, d types.Dict, ccitt bool) int {
	if o, found := d.Find("ColorSpace"); !found || o == nil {
		if ccitt {
			return 1
		}
		return 0
	}
	o, err := pctx.DereferenceDictEntry(d, "ColorSpace")
	if err != nil || o == nil {
		return 0
	}
	switch cs := o.(type) {
	case types.Name:
		switch cs.Value() {
		case model.DeviceGrayCS, model.CalGrayCS:
			return 1
		case model.DeviceRGBCS, model.CalRGBCS:
			return 3
		}
	case types.Array:
		if len(cs) == 0 {
			return 0
		}
		switch nameOf(cs[0]) {
		case model.CalGrayCS:
			return 1
		case model.CalRGBCS:
			return 3
		case model.ICCBasedCS:
			if len(cs) < 2 {
				return 0
			}
			icc, _, err := pctx.DereferenceStreamDict(cs[1])
			if err != nil || icc == nil {
				return 0
			}
			if n := intEntry(pctx, icc.Dict, "N"); n == 1 || n == 3 {
				return n
			}
		}
	}
	return 0
}

// decodeInverted reads an image's /Decode array: absent or [0 1 ...] is
// normal, [1 0] on a gray image is inverted, anything else is not handled.
func decodeInverted(pctx *model.Context, d types.Dict, comps int) (inverted, ok bool) {
	if o, found := d.Find("Decode"); !found || o == nil {
		return false, true
	}
	o, err := pctx.DereferenceDictEntry(d, "Decode")
	if err != nil || o == nil {
		return false, false
	}
	arr, isArr := o.(types.Array)
	if !isArr || len(arr) != 2*comps {
		return false, false
	}
	vals := make([]float64, len(arr))
	for i, v := range arr {
		switch n := v.(type) {
		case types.Integer:
			vals[i] = float64(n.Value())
		case types.Float:
			vals[i] = n.Value()
		default:
			return false, false
		}
	}
	for i := 0; i < len(vals); i += 2 {
		if vals[i] != 0 || vals[i+1] != 1 {
			if comps == 1 && vals[0] == 1 && vals[1] == 0 {
				return true, true
			}
			return false, false
		}
	}
	return false, true
}

// TIFF tags used when writing single-page TIFFs.
const (
	tagWidth           = 256
	tagHeight          = 257
	tagBitsPerSample   = 258
	tagCompression     = 259
	tagPhotometric     = 262
	tagStripOffsets    = 273
	tagSamplesPerPixel = 277
	tagRowsPerStrip    = 278
	tagStripByteCounts = 279
	tagXResolution     = 282
	tagYResolution     = 283
	tagResolutionUnit  = 296
)

// write writes the page image into outDir and returns its path.
func (pl *imagePlan) write(outDir string, no int) (string, error) {
	base := filepath.Join(outDir, fmt.Sprintf("page-%05d", no))
	switch pl.mode {
	case modeJPEG:
		if len(pl.sd.Raw) < 4 || pl.sd.Raw[0] != 0xFF || pl.sd.Raw[1] != 0xD8 {
			return "", errors.New("DCT stream is not a JPEG")
		}
		path := base + ".jpg"
		return path, writeFile(path, bytes.NewReader(pl.sd.Raw))
	case modeG4, modeFlate:
		comp, photo := uint16(4), uint16(0) // G4, WhiteIsZero as usual for CCITT
		if pl.mode == modeFlate {
			comp, photo = 8, 1 // Deflate, BlackIsZero: PDF gray 0 is black
			if pl.comps == 3 {
				photo = 2
			}
		}
		if pl.invert {
			photo = 1 - photo
		}
		bps := make([]uint16, pl.comps)
		for i := range bps {
			bps[i] = uint16(pl.bpc)
		}
		entries := []tiffEntry{
			longEntry(tagWidth, uint32(pl.w)),
			longEntry(tagHeight, uint32(pl.h)),
			shortEntry(tagBitsPerSample, bps...),
			shortEntry(tagCompression, comp),
			shortEntry(tagPhotometric, photo),
			shortEntry(tagSamplesPerPixel, uint16(pl.comps)),
			longEntry(tagRowsPerStrip, uint32(pl.h)),
			rationalEntry(tagXResolution, pl.dpi),
			rationalEntry(tagYResolution, pl.dpi),
			shortEntry(tagResolutionUnit, 2),
		}
		path := base + ".tif"
		return path, writeTIFFFile(path, binary.LittleEndian, entries, [][]byte{pl.sd.Raw})
	case modeDecode:
		saved := pl.sd.Content
		defer func() { pl.sd.Content = saved }() // do not keep decoded pixels in the document
		if err := pl.sd.Decode(); err != nil {
			return "", fmt.Errorf("decode image: %w", err)
		}
		img, err := pl.pixels(pl.sd.Content)
		if err != nil {
			return "", err
		}
		path := base + ".png"
		return path, writePNG(path, img)
	}
	return "", errors.New("unknown image mode")
}

// pixels wraps decoded PDF samples as an image.
func (pl *imagePlan) pixels(b []byte) (image.Image, error) {
	stride := (pl.w*pl.comps*pl.bpc + 7) / 8
	if len(b) < stride*pl.h {
		return nil, fmt.Errorf("image data has %d bytes, want %d", len(b), stride*pl.h)
	}
	r := image.Rect(0, 0, pl.w, pl.h)
	switch {
	case pl.comps == 3:
		img := image.NewNRGBA(r)
		for y := 0; y < pl.h; y++ {
			src, dst := b[y*stride:], img.Pix[y*img.Stride:]
			for x := 0; x < pl.w; x++ {
				dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = src[3*x], src[3*x+1], src[3*x+2], 0xFF
			}
		}
		return img, nil
	case pl.bpc == 8:
		img := image.NewGray(r)
		for y := 0; y < pl.h; y++ {
			copy(img.Pix[y*img.Stride:y*img.Stride+pl.w], b[y*stride:])
		}
		if pl.invert {
			for i, v := range img.Pix {
				img.Pix[i] = 255 - v
			}
		}
		return img, nil
	default: // 1 bit: a two-colour palette keeps the PNG 1 bit deep
		black, white := uint8(0), uint8(1)
		if pl.invert {
			black, white = 1, 0
		}
		img := image.NewPaletted(r, color.Palette{color.Gray{0}, color.Gray{255}})
		for y := 0; y < pl.h; y++ {
			row, dst := b[y*stride:], img.Pix[y*img.Stride:]
			for x := 0; x < pl.w; x++ {
				if row[x>>3]&(0x80>>(x&7)) != 0 {
					dst[x] = white
				} else {
					dst[x] = black
				}
			}
		}
		return img, nil
	}
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(bw, img); err != nil {
		f.Close()
		return fmt.Errorf("encode PNG: %w", err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
