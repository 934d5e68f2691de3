package hl7

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// MLLP framing bytes: <VT> message <FS><CR>.
const (
	startBlock = 0x0b
	endBlock   = 0x1c
	endCR      = 0x0d
)

// ErrNotMLLP is returned when a peer sends bytes other than white space
// between frames: it does not speak MLLP.
var ErrNotMLLP = errors.New("bytes outside an MLLP frame: the peer does not speak MLLP")

// ErrTooLarge is returned for a frame longer than the limit; the frame was
// read to its end, and its beginning returned, so that the connection goes
// on and the sender can be told.
var ErrTooLarge = errors.New("message larger than the limit")

// readFrame reads the next MLLP frame's message from r, at most max bytes
// of it (0: no limit). started, when not nil, runs once the start block is
// read, before the rest (to set a deadline for the whole frame). At a clean
// end of stream between frames it returns io.EOF.
func readFrame(r *bufio.Reader, max int, started func()) ([]byte, error) {
	for {
		c, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		if c == startBlock {
			break
		}
		if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
			return nil, ErrNotMLLP
		}
	}
	if started != nil {
		started()
	}
	var msg []byte
	tooLarge := false
	for {
		chunk, err := r.ReadSlice(endBlock)
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("read MLLP frame: %w", err)
		}
		if err == nil {
			chunk = chunk[:len(chunk)-1] // the end block
		}
		if max > 0 && len(msg)+len(chunk) > max {
			chunk = chunk[:max-len(msg)]
			tooLarge = true
		}
		msg = append(msg, chunk...)
		if err == nil {
			break
		}
	}
	// The end block is followed by a carriage return. Only a buffered one
	// is taken here, so as not to wait for it: one that comes later, or
	// none from a sender that leaves it out, is white space before the
	// next frame.
	if r.Buffered() > 0 {
		if b, err := r.Peek(1); err == nil && b[0] == endCR {
			r.Discard(1)
		}
	}
	if tooLarge {
		return msg, ErrTooLarge
	}
	return msg, nil
}

// writeFrame writes msg in one MLLP frame.
func writeFrame(w io.Writer, msg []byte) error {
	buf := make([]byte, 0, len(msg)+3)
	buf = append(buf, startBlock)
	buf = append(buf, msg...)
	buf = append(buf, endBlock, endCR)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write MLLP frame: %w", err)
	}
	return nil
}
