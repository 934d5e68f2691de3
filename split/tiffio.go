package split

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// TIFF field types and their sizes.
const (
	tByte      = 1
	tASCII     = 2
	tShort     = 3
	tLong      = 4
	tRational  = 5
	tSByte     = 6
	tUndefined = 7
	tSShort    = 8
	tSLong     = 9
	tSRational = 10
	tFloat     = 11
	tDouble    = 12
	tIFD       = 13
)

func typeSize(t uint16) int {
	switch t {
	case tByte, tASCII, tSByte, tUndefined:
		return 1
	case tShort, tSShort:
		return 2
	case tLong, tSLong, tFloat, tIFD:
		return 4
	case tRational, tSRational, tDouble:
		return 8
	}
	return 0
}

// tiffEntry is one IFD entry with its value bytes in the file's byte order.
type tiffEntry struct {
	tag   uint16
	typ   uint16
	count uint32
	val   []byte
}

func shortEntry(tag uint16, vals ...uint16) tiffEntry {
	b := make([]byte, 2*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return tiffEntry{tag: tag, typ: tShort, count: uint32(len(vals)), val: b}
}

func longEntry(tag uint16, vals ...uint32) tiffEntry {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return tiffEntry{tag: tag, typ: tLong, count: uint32(len(vals)), val: b}
}

func rationalEntry(tag uint16, v float64) tiffEntry {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint32(b, uint32(math.Round(v*100)))
	binary.LittleEndian.PutUint32(b[4:], 100)
	return tiffEntry{tag: tag, typ: tRational, count: 1, val: b}
}

// writeTIFFFile writes a single-image TIFF in byte order bo (entries' values
// must already be in bo) whose strips (or tiles, when entries hold
// TileWidth) are blocks. Offset and byte-count entries are added here.
func writeTIFFFile(path string, bo binary.ByteOrder, entries []tiffEntry, blocks [][]byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := writeTIFF(bw, bo, entries, blocks); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeTIFF(w io.Writer, bo binary.ByteOrder, entries []tiffEntry, blocks [][]byte) error {
	offTag, cntTag := uint16(tagStripOffsets), uint16(tagStripByteCounts)
	for _, e := range entries {
		if e.tag == tagTileWidth {
			offTag, cntTag = tagTileOffsets, tagTileByteCounts
		}
	}
	put := func(tag uint16, vals []uint32) tiffEntry {
		b := make([]byte, 4*len(vals))
		for i, v := range vals {
			bo.PutUint32(b[4*i:], v)
		}
		return tiffEntry{tag: tag, typ: tLong, count: uint32(len(vals)), val: b}
	}
	counts := make([]uint32, len(blocks))
	for i, b := range blocks {
		counts[i] = uint32(len(b))
	}
	all := make([]tiffEntry, 0, len(entries)+2)
	for _, e := range entries {
		if e.tag != offTag && e.tag != cntTag {
			all = append(all, e)
		}
	}
	all = append(all, put(offTag, make([]uint32, len(blocks))), put(cntTag, counts))
	sort.Slice(all, func(i, j int) bool { return all[i].tag < all[j].tag })

	// Layout: header, IFD, out-of-line values, blocks.
	pos := int64(8 + 2 + 12*len(all) + 4)
	valOff := make([]int64, len(all))
	for i, e := range all {
		if len(e.val) > 4 {
			valOff[i] = pos
			pos += int64(len(e.val) + len(e.val)&1)
		}
	}
	offs := make([]uint32, len(blocks))
	for i, b := range blocks {
		if pos > math.MaxUint32 {
			return errors.New("TIFF page larger than 4 GiB")
		}
		offs[i] = uint32(pos)
		pos += int64(len(b))
	}
	for i := range all {
		if all[i].tag == offTag {
			all[i] = put(offTag, offs)
			// The offsets array has the same length as before, so the layout holds.
		}
	}

	var hdr [8]byte
	if bo == binary.LittleEndian {
		copy(hdr[:], "II*\x00")
	} else {
		copy(hdr[:], "MM\x00*")
	}
	bo.PutUint32(hdr[4:], 8)
	ab, ok := bo.(binary.AppendByteOrder)
	if !ok {
		return errors.New("unsupported byte order")
	}
	buf := append([]byte{}, hdr[:]...)
	buf = ab.AppendUint16(buf, uint16(len(all)))
	for i, e := range all {
		buf = ab.AppendUint16(buf, e.tag)
		buf = ab.AppendUint16(buf, e.typ)
		buf = ab.AppendUint32(buf, e.count)
		if len(e.val) > 4 {
			buf = ab.AppendUint32(buf, uint32(valOff[i]))
		} else {
			var v [4]byte
			copy(v[:], e.val)
			buf = append(buf, v[:]...)
		}
	}
	buf = ab.AppendUint32(buf, 0) // no next IFD
	for _, e := range all {
		if len(e.val) > 4 {
			buf = append(buf, e.val...)
			if len(e.val)&1 == 1 {
				buf = append(buf, 0)
			}
		}
	}
	if _, err := w.Write(buf); err != nil {
		return err
	}
	for _, b := range blocks {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// More TIFF tags read by the splitter.
const (
	tagFillOrder      = 266
	tagOrientation    = 274
	tagPlanarConfig   = 284
	tagT4Options      = 292
	tagT6Options      = 293
	tagPredictor      = 317
	tagColorMap       = 320
	tagTileWidth      = 322
	tagTileLength     = 323
	tagTileOffsets    = 324
	tagTileByteCounts = 325
	tagExtraSamples   = 338
	tagSampleFormat   = 339
)

// tiffIFD is one parsed image file directory.
type tiffIFD struct {
	entries []tiffEntry
}

func (d tiffIFD) find(tag uint16) *tiffEntry {
	for i := range d.entries {
		if d.entries[i].tag == tag {
			return &d.entries[i]
		}
	}
	return nil
}

// uints returns an entry's values as integers (SHORT, LONG, BYTE).
func (d tiffIFD) uints(bo binary.ByteOrder, tag uint16) []uint64 {
	e := d.find(tag)
	if e == nil {
		return nil
	}
	out := make([]uint64, 0, e.count)
	sz := typeSize(e.typ)
	for i := 0; i < int(e.count) && (i+1)*sz <= len(e.val); i++ {
		switch e.typ {
		case tByte, tUndefined:
			out = append(out, uint64(e.val[i]))
		case tShort:
			out = append(out, uint64(bo.Uint16(e.val[2*i:])))
		case tLong, tIFD:
			out = append(out, uint64(bo.Uint32(e.val[4*i:])))
		default:
			return nil
		}
	}
	return out
}

func (d tiffIFD) first(bo binary.ByteOrder, tag uint16, def uint64) uint64 {
	if v := d.uints(bo, tag); len(v) > 0 {
		return v[0]
	}
	return def
}

// rational returns the first RATIONAL value of tag, 0 when absent.
func (d tiffIFD) rational(bo binary.ByteOrder, tag uint16) float64 {
	e := d.find(tag)
	if e == nil || e.typ != tRational || len(e.val) < 8 {
		return 0
	}
	num, den := bo.Uint32(e.val), bo.Uint32(e.val[4:])
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

var errTIFFCycle = errors.New("TIFF directory chain loops")

// readIFDs walks the IFD chain of the TIFF held in r (of size bytes),
// stopping after maxIFDs directories (the caller rejects more). Values are
// read into memory; pixel data is not. It guards against loops and offsets
// outside the file.
func readIFDs(r io.ReaderAt, size int64, maxIFDs int) (binary.ByteOrder, []tiffIFD, error) {
	var hdr [8]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, nil, fmt.Errorf("TIFF header: %w", err)
	}
	var bo binary.ByteOrder
	switch string(hdr[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return nil, nil, errors.New("not a TIFF header")
	}
	off := int64(bo.Uint32(hdr[4:]))
	seen := map[int64]bool{}
	var ifds []tiffIFD
	for off != 0 {
		if len(ifds) > maxIFDs {
			break
		}
		if seen[off] {
			return bo, ifds, errTIFFCycle
		}
		seen[off] = true
		if off < 8 || off+2 > size {
			return bo, ifds, fmt.Errorf("IFD offset %d outside the file: %w", off, io.ErrUnexpectedEOF)
		}
		var nb [2]byte
		if _, err := r.ReadAt(nb[:], off); err != nil {
			return bo, ifds, fmt.Errorf("IFD entry count: %w", err)
		}
		n := int64(bo.Uint16(nb[:]))
		if n == 0 {
			return bo, ifds, errors.New("empty IFD")
		}
		if off+2+12*n+4 > size {
			return bo, ifds, fmt.Errorf("IFD at %d runs past the end of the file: %w", off, io.ErrUnexpectedEOF)
		}
		raw := make([]byte, 12*n+4)
		if _, err := r.ReadAt(raw, off+2); err != nil {
			return bo, ifds, fmt.Errorf("IFD: %w", err)
		}
		var d tiffIFD
		for i := int64(0); i < n; i++ {
			e := raw[12*i:]
			ent := tiffEntry{tag: bo.Uint16(e), typ: bo.Uint16(e[2:]), count: bo.Uint32(e[4:])}
			sz := int64(typeSize(ent.typ))
			if sz == 0 {
				continue // unknown type: readers skip it
			}
			total := sz * int64(ent.count)
			if total > 16<<20 {
				return bo, ifds, fmt.Errorf("tag %d holds %d bytes", ent.tag, total)
			}
			if total <= 4 {
				ent.val = append([]byte(nil), e[8:8+total]...)
			} else {
				vo := int64(bo.Uint32(e[8:]))
				if vo+total > size {
					return bo, ifds, fmt.Errorf("tag %d value outside the file: %w", ent.tag, io.ErrUnexpectedEOF)
				}
				ent.val = make([]byte, total)
				if _, err := r.ReadAt(ent.val, vo); err != nil {
					return bo, ifds, fmt.Errorf("tag %d value: %w", ent.tag, err)
				}
			}
			d.entries = append(d.entries, ent)
		}
		ifds = append(ifds, d)
		off = int64(bo.Uint32(raw[12*n:]))
	}
	return bo, ifds, nil
}
