package split

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/image/tiff"
)

const tagNewSubfileType = 254

// tiffPage is one page of a TIFF file, checked.
type tiffPage struct {
	ifd    tiffIFD
	w, h   uint64
	dpi    float64
	rotate int
}

// tiffCopyTags are the tags copied into a single-page TIFF; offsets and byte
// counts are rewritten, everything else (EXIF, XMP, Orientation) dropped.
var tiffCopyTags = map[uint16]bool{
	tagWidth: true, tagHeight: true, tagBitsPerSample: true, tagCompression: true,
	tagPhotometric: true, tagFillOrder: true, tagSamplesPerPixel: true, tagRowsPerStrip: true,
	tagXResolution: true, tagYResolution: true, tagPlanarConfig: true, tagT4Options: true,
	tagT6Options: true, tagResolutionUnit: true, tagPredictor: true, tagColorMap: true,
	tagTileWidth: true, tagTileLength: true, tagExtraSamples: true, tagSampleFormat: true,
}

func runTIFF(ctx context.Context, f *os.File, size int64, outDir string, lim Limits) ([]PageSource, error) {
	bo, ifds, err := readIFDs(f, size, lim.MaxPages)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, reject(CodeTruncated, "The TIFF file is incomplete (it was cut off while being copied or saved); copy or scan it again.", err)
		}
		return nil, reject(CodeCorrupt, "The TIFF file is damaged and cannot be read; scan the paper again.", err)
	}
	var pages []tiffPage
	for _, d := range ifds {
		if d.first(bo, tagNewSubfileType, 0)&1 != 0 {
			continue // a reduced-resolution copy (thumbnail), not a page
		}
		pages = append(pages, tiffPage{ifd: d})
	}
	if len(pages) == 0 {
		return nil, reject(CodeCorrupt, "The TIFF file has no pages; scan the paper again.", nil)
	}
	if len(pages) > lim.MaxPages {
		return nil, reject(CodeTooManyPages, fmt.Sprintf("The TIFF file has more than %d pages, the most allowed in one file; scan the document in smaller parts.", lim.MaxPages), nil)
	}
	for i := range pages {
		if err := checkTIFFPage(bo, &pages[i], i+1, size, lim); err != nil {
			return nil, err
		}
	}
	if outDir == "" {
		return make([]PageSource, len(pages)), nil
	}
	out := make([]PageSource, 0, len(pages))
	for i, pg := range pages {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ps, err := writeTIFFPage(f, bo, pg, i+1, outDir)
		if err != nil {
			return nil, err
		}
		out = append(out, ps)
	}
	return out, nil
}

func checkTIFFPage(bo binary.ByteOrder, pg *tiffPage, no int, size int64, lim Limits) error {
	d := pg.ifd
	corrupt := func(what string) error {
		return reject(CodeCorrupt, fmt.Sprintf("Page %d of the TIFF file is damaged and cannot be read; scan the paper again.", no), errors.New(what))
	}
	unsupported := func(what, err string) error {
		return reject(CodeUnsupported, fmt.Sprintf("Page %d of the TIFF file uses %s, which cannot be read; scan it again as PDF, or as TIFF with CCITT G4, LZW or ZIP compression.", no, what), errors.New(err))
	}
	pg.w, pg.h = d.first(bo, tagWidth, 0), d.first(bo, tagHeight, 0)
	if pg.w == 0 || pg.h == 0 {
		return corrupt("missing or zero image size")
	}
	if pg.w > 1<<20 || pg.h > 1<<20 || int64(pg.w*pg.h) > lim.MaxPagePixels {
		return reject(CodePageTooLarge, fmt.Sprintf("Page %d of the TIFF file is %d×%d pixels, more than the %d megapixels allowed; scan it at a lower resolution.", no, pg.w, pg.h, lim.MaxPagePixels/1_000_000), nil)
	}
	switch c := d.first(bo, tagCompression, 1); c {
	case 1, 4, 5, 8, 32946, 32773:
	case 3:
		if d.first(bo, tagT4Options, 0)&1 != 0 {
			return unsupported("two-dimensional CCITT G3 compression", "T4Options 2D")
		}
	case 6, 7:
		return unsupported("JPEG compression", "compression 6/7")
	default:
		return unsupported(fmt.Sprintf("an unusual compression (%d)", c), "compression")
	}
	for _, b := range d.uints(bo, tagBitsPerSample) {
		if b != 1 && b != 8 && b != 16 {
			return unsupported(fmt.Sprintf("%d bits per sample", b), "bits per sample")
		}
	}
	switch p := d.first(bo, tagPhotometric, 99); p {
	case 0, 1, 2, 3:
	case 5:
		return unsupported("CMYK colour", "photometric CMYK")
	case 6:
		return unsupported("YCbCr colour", "photometric YCbCr")
	default:
		return unsupported("an unusual colour model", fmt.Sprintf("photometric %d", p))
	}
	if d.first(bo, tagPlanarConfig, 1) != 1 {
		return unsupported("separate colour planes", "planar configuration 2")
	}
	offTag, cntTag := uint16(tagStripOffsets), uint16(tagStripByteCounts)
	if d.find(tagTileWidth) != nil {
		offTag, cntTag = tagTileOffsets, tagTileByteCounts
	}
	offs, cnts := d.uints(bo, offTag), d.uints(bo, cntTag)
	if len(offs) == 0 || len(offs) != len(cnts) {
		return corrupt("strip offsets and byte counts missing or mismatched")
	}
	for i := range offs {
		if offs[i]+cnts[i] > uint64(size) {
			return reject(CodeTruncated, "The TIFF file is incomplete (it was cut off while being copied or saved); copy or scan it again.", fmt.Errorf("page %d strip %d past end of file", no, i))
		}
	}
	pg.dpi = d.rational(bo, tagXResolution)
	switch d.first(bo, tagResolutionUnit, 2) {
	case 1:
		pg.dpi = 0 // aspect ratio only
	case 3:
		pg.dpi *= 2.54
	}
	pg.rotate = orientationRotate(d.first(bo, tagOrientation, 1))
	return nil
}

// orientationRotate maps a TIFF/EXIF Orientation to clockwise degrees.
// Mirrored orientations (2, 4, 5, 7) are treated as their nearest rotation:
// scanners do not produce them.
func orientationRotate(o uint64) int {
	switch o {
	case 3, 4:
		return 180
	case 6, 5:
		return 90
	case 8, 7:
		return 270
	}
	return 0
}

func writeTIFFPage(f io.ReaderAt, bo binary.ByteOrder, pg tiffPage, no int, outDir string) (PageSource, error) {
	d := pg.ifd
	offTag, cntTag := uint16(tagStripOffsets), uint16(tagStripByteCounts)
	if d.find(tagTileWidth) != nil {
		offTag, cntTag = tagTileOffsets, tagTileByteCounts
	}
	offs, cnts := d.uints(bo, offTag), d.uints(bo, cntTag)
	blocks := make([][]byte, len(offs))
	for i := range offs {
		blocks[i] = make([]byte, cnts[i])
		if _, err := f.ReadAt(blocks[i], int64(offs[i])); err != nil {
			return PageSource{}, fmt.Errorf("split: read TIFF page %d: %w", no, err)
		}
	}
	var entries []tiffEntry
	for _, e := range d.entries {
		if tiffCopyTags[e.tag] {
			entries = append(entries, e)
		}
	}
	path := filepath.Join(outDir, fmt.Sprintf("page-%05d.tif", no))
	if err := writeTIFFFile(path, bo, entries, blocks); err != nil {
		return PageSource{}, fmt.Errorf("split: write TIFF page %d: %w", no, err)
	}
	// The page must be one golang.org/x/image/tiff can read.
	pf, err := os.Open(path)
	if err != nil {
		return PageSource{}, fmt.Errorf("split: reopen TIFF page %d: %w", no, err)
	}
	_, err = tiff.DecodeConfig(pf)
	pf.Close()
	if err != nil {
		return PageSource{}, reject(CodeUnsupported, fmt.Sprintf("Page %d of the TIFF file is in a form that cannot be read; scan it again as PDF, or as TIFF with CCITT G4, LZW or ZIP compression.", no), err)
	}
	return PageSource{No: no, Path: path, Kind: KindImage, DPI: pg.dpi, Rotate: pg.rotate, Width: float64(pg.w), Height: float64(pg.h)}, nil
}
