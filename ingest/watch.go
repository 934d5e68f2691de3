package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"paperchart/split"
	"paperchart/storage"
)

// Folder is one drop folder.
type Folder struct {
	Name string // shown as the batch's source; default: the folder's base name
	Path string
}

// ParseFolder reads "NAME=PATH" or "PATH".
func ParseFolder(s string) Folder {
	if name, path, ok := strings.Cut(s, "="); ok && name != "" && !strings.ContainsAny(name, `/\`) {
		return Folder{Name: name, Path: path}
	}
	return Folder{Name: filepath.Base(filepath.Clean(s)), Path: s}
}

// Config sets how the watcher behaves.
type Config struct {
	Folders []Folder
	// StableFor is how long a file's size and modification time must stay
	// unchanged before it is taken. Default 2 s.
	StableFor time.Duration
	// CompleteFor is how long they must stay unchanged for a file that
	// ends as its format ends (a PDF with %%EOF, a JPEG with its EOI
	// marker, a PNG with its IEND chunk): such a file is whole unless its
	// writer stops exactly there and goes on after. Default StableFor/4.
	CompleteFor time.Duration
	// ScanEvery is the period of the scan. Default 2 s.
	ScanEvery time.Duration
	// Retention is how long processed files stay in processed/. 0 keeps
	// them forever. Default 30 days.
	Retention time.Duration
	// Limits bound what a file may contain.
	Limits split.Limits
}

// The defaults of Config.StableFor and Config.ScanEvery.
const (
	DefaultStableFor = 2 * time.Second
	DefaultScanEvery = 2 * time.Second
)

func (c Config) withDefaults() Config {
	if c.StableFor <= 0 {
		c.StableFor = DefaultStableFor
	}
	if c.ScanEvery <= 0 {
		c.ScanEvery = DefaultScanEvery
	}
	if c.CompleteFor <= 0 || c.CompleteFor > c.StableFor {
		c.CompleteFor = c.StableFor / 4
	}
	if c.Retention < 0 {
		c.Retention = 0
	} else if c.Retention == 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	return c
}

// Store is what ingest needs of the database.
type Store interface {
	RecordBatch(ctx context.Context, nb storage.NewBatch) (storage.Batch, bool, error)
	Batch(ctx context.Context, id int64) (storage.Batch, error)
	MarkQueued(ctx context.Context, id int64, format string) (bool, error)
	Reject(ctx context.Context, id int64, code, reason string) (bool, error)
}

// Originals is what ingest needs of the object store: the original is
// stored from the descriptor ingest opened and checked (bytes 0 to size).
type Originals interface {
	PutOriginalFrom(ctx context.Context, r io.ReaderAt, size int64, sha string) (string, error)
}

// Enqueuer queues a batch's split.
type Enqueuer interface {
	EnqueueSplit(ctx context.Context, batch int64) error
}

// Watcher ingests the files dropped in its folders.
type Watcher struct {
	cfg   Config
	store Store
	objs  Originals
	queue Enqueuer
	log   *slog.Logger
	seen  map[string]observation // by path; touched only by the Run goroutine
	now   func() time.Time
	// beforeClaim, when set, runs just before a listed file is claimed
	// (renamed into .processing): tests use it to change the file in the
	// window between the listing and the claim.
	beforeClaim func(path string)
}

type observation struct {
	size        int64
	mtime       time.Time
	stableSince time.Time
}

// New returns a watcher. It creates the folders' subfolders.
func New(cfg Config, store Store, objs Originals, queue Enqueuer, log *slog.Logger) (*Watcher, error) {
	cfg = cfg.withDefaults()
	if len(cfg.Folders) == 0 {
		return nil, errors.New("no drop folder configured")
	}
	for _, f := range cfg.Folders {
		for _, sub := range []string{"", processingDir, processedDir, rejectedDir} {
			if err := os.MkdirAll(filepath.Join(f.Path, sub), 0o750); err != nil {
				return nil, fmt.Errorf("drop folder %s: %w", f.Name, err)
			}
		}
	}
	return &Watcher{cfg: cfg, store: store, objs: objs, queue: queue, log: log,
		seen: map[string]observation{}, now: time.Now}, nil
}

const (
	processingDir = ".processing"
	processedDir  = "processed"
	rejectedDir   = "rejected"
)

// Run watches until ctx is done. Files left in .processing by a previous
// run are finished first.
func (w *Watcher) Run(ctx context.Context) error {
	events := make(chan struct{}, 1)
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		w.log.Warn("no filesystem events; scanning only", "err", err)
	} else {
		defer fsw.Close()
		for _, f := range w.cfg.Folders {
			if err := fsw.Add(f.Path); err != nil {
				w.log.Warn("no filesystem events for folder; scanning only", "folder", f.Name, "err", err)
			}
		}
		go func() {
			for {
				select {
				case _, ok := <-fsw.Events:
					if !ok {
						return
					}
					select {
					case events <- struct{}{}:
					default:
					}
				case err, ok := <-fsw.Errors:
					if !ok {
						return
					}
					w.log.Warn("filesystem events", "err", err)
				}
			}
		}()
	}
	w.log.Info("watching drop folders", "folders", len(w.cfg.Folders), "stable_for", w.cfg.StableFor)
	lastPrune := time.Time{}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		due := w.scan(ctx)
		scanned := time.Now()
		if w.now().Sub(lastPrune) > time.Hour {
			w.prune()
			lastPrune = w.now()
		}
		// The next scan: when a waiting file may have become stable, else
		// after ScanEvery (network shares send no events). An event (a file
		// appeared or changed) makes it come sooner: a new file is first
		// looked at at once, since its quiet time runs from that look.
		wait := w.cfg.ScanEvery
		if !due.IsZero() {
			wait = min(wait, max(due.Sub(w.now()), w.minGap()))
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-events:
			timer.Stop() // Go 1.23 timers: nothing stale to drain
			// Writes come in bursts: let a burst pass, and never scan more
			// often than minGap.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(max(eventSettle, w.minGap()-time.Since(scanned))):
			}
		}
	}
}

// eventSettle is how long a scan waits after a filesystem event.
const eventSettle = 20 * time.Millisecond

// minGap is the shortest time between two scans: a fifth of CompleteFor
// (100 ms by default), so that a file is taken within that of becoming
// stable, and a folder being written to is not listed continuously.
func (w *Watcher) minGap() time.Duration { return w.cfg.CompleteFor / 5 }

// Scan looks at every folder once: it finishes claimed files and takes the
// dropped files that are stable.
func (w *Watcher) Scan(ctx context.Context) { w.scan(ctx) }

// scan is Scan; it returns the earliest time a file it saw but did not
// take may be stable (zero if none waits).
func (w *Watcher) scan(ctx context.Context) (due time.Time) {
	present := map[string]bool{}
	for _, f := range w.cfg.Folders {
		// Files claimed earlier and not finished (a crash, the database or
		// object store down) are retried every scan until they succeed.
		if claimed, err := os.ReadDir(filepath.Join(f.Path, processingDir)); err == nil {
			for _, e := range claimed {
				if ctx.Err() != nil {
					return due
				}
				if !e.IsDir() { // a link or a FIFO here is rejected, not left
					w.finish(ctx, f, e.Name())
				}
			}
		}
		entries, err := os.ReadDir(f.Path)
		if err != nil {
			w.log.Error("read drop folder", "folder", f.Name, "err", err)
			continue
		}
		for _, e := range entries {
			if ctx.Err() != nil {
				return due
			}
			name := e.Name()
			if !e.Type().IsRegular() || ignored(name) {
				continue
			}
			path := filepath.Join(f.Path, name)
			present[path] = true
			if ok, at := w.stable(path); !ok {
				if !at.IsZero() && (due.IsZero() || at.Before(due)) {
					due = at
				}
				continue
			}
			delete(w.seen, path)
			if w.beforeClaim != nil {
				w.beforeClaim(path)
			}
			// What is renamed may no longer be what was listed (a link or a
			// FIFO put in its place): ingest checks the claimed file itself.
			if err := os.Rename(path, filepath.Join(f.Path, processingDir, name)); err != nil {
				if !errors.Is(err, fs.ErrNotExist) { // another watcher took it
					w.log.Error("claim dropped file", "folder", f.Name, "err", err)
				}
				continue
			}
			w.finish(ctx, f, name)
		}
	}
	for p := range w.seen {
		if !present[p] {
			delete(w.seen, p)
		}
	}
	return due
}

// ignored reports names that are never taken: hidden files, temporary files
// of scanners and copy tools, and the reason files paperchart writes.
func ignored(name string) bool {
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(name, "."), strings.HasPrefix(name, "~"), strings.HasPrefix(name, "_tmp"):
		return true
	case lower == "thumbs.db", lower == "desktop.ini":
		return true
	}
	for _, suf := range []string{".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", ".lock", ".reason.txt", "~"} {
		if strings.HasSuffix(lower, suf) {
			return true
		}
	}
	return false
}

// stable reports whether a file's size and mtime have not changed over
// at least two looks for long enough to take it: CompleteFor when the file
// ends as its format ends, StableFor otherwise; a PDF that does not end
// with %%EOF yet waits ten times StableFor (a scanner may pause mid-file
// longer than StableFor; a truncated file is then taken, and rejected with
// a reason, rather than left waiting forever). When it is not stable, due
// is when it may be, if it stays unchanged.
func (w *Watcher) stable(path string) (ok bool, due time.Time) {
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() {
		return false, time.Time{}
	}
	now := w.now()
	o, seen := w.seen[path]
	if !seen || o.size != st.Size() || !o.mtime.Equal(st.ModTime()) {
		w.seen[path] = observation{size: st.Size(), mtime: st.ModTime(), stableSince: now}
		return false, now.Add(w.cfg.CompleteFor)
	}
	quiet := now.Sub(o.stableSince)
	if quiet < w.cfg.CompleteFor {
		return false, o.stableSince.Add(w.cfg.CompleteFor)
	}
	wait := w.cfg.StableFor
	switch fileEnd(path) {
	case endComplete:
		return true, time.Time{}
	case endIncompletePDF:
		wait = 10 * w.cfg.StableFor
	}
	if quiet < wait {
		return false, o.stableSince.Add(wait)
	}
	return true, time.Time{}
}

// How a file ends, as fileEnd reads it.
type end int

const (
	endUnknown       end = iota // no end marker to go by (TIFF, other types), or one followed by more bytes
	endComplete                 // ends exactly as its format ends
	endIncompletePDF            // a PDF with no %%EOF near its end: still being written, or truncated
)

// pngEnd is a PNG's last chunk: IEND, empty, and its CRC.
var pngEnd = []byte{0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82}

// fileEnd reads how the file at path ends: a PDF must end with %%EOF
// (and at most end-of-line white space), a JPEG with its EOI marker, a
// PNG with its IEND chunk. A PDF whose %%EOF is followed by other bytes
// (some scanners append a few) is whole too, but is given the full wait.
func fileEnd(path string) end {
	f, st, err := openRegular(path)
	if err != nil {
		return endUnknown
	}
	defer f.Close()
	head := make([]byte, 8)
	if _, err := f.ReadAt(head, 0); err != nil {
		return endUnknown
	}
	n := min(st.Size(), 2048)
	tail := make([]byte, n)
	if _, err := f.ReadAt(tail, st.Size()-n); err != nil && !errors.Is(err, io.EOF) {
		return endUnknown
	}
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		if !bytes.Contains(tail, []byte("%%EOF")) {
			return endIncompletePDF
		}
		if bytes.HasSuffix(bytes.TrimRight(tail, "\r\n\t \x00"), []byte("%%EOF")) {
			return endComplete
		}
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		if bytes.HasSuffix(tail, []byte{0xFF, 0xD9}) {
			return endComplete
		}
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		if bytes.HasSuffix(tail, pngEnd) {
			return endComplete
		}
	}
	return endUnknown
}

// errChanged is returned by ingest when the claimed file changed while it
// was read: it is still being written.
var errChanged = errors.New("file changed while it was read")

// errNotRegular is returned by openRegular for a link, a FIFO, a device,
// a socket or a directory.
var errNotRegular = errors.New("not a regular file")

// openRegular opens path for reading without following a symbolic link
// and without blocking (a FIFO would wait for a writer), and returns the
// descriptor's own Fstat, which must be a regular file's.
func openRegular(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENXIO) {
		return nil, nil, errNotRegular // a symbolic link; a socket
	}
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, errNotRegular
	}
	return f, st, nil
}

// notRegularReason is what the clerk reads about a claimed file that is
// not a regular file.
const notRegularReason = "This is not an ordinary file (a shortcut/link, a pipe or a device): " +
	"paperchart only takes files saved into the drop folder. Save or copy the scan itself into the folder."

// finish ingests one claimed file. On any error the file stays in
// .processing and is retried on the next scan: nothing is lost.
func (w *Watcher) finish(ctx context.Context, f Folder, name string) {
	path := filepath.Join(f.Path, processingDir, name)
	res, err := w.ingest(ctx, f, path, name)
	if errors.Is(err, errNotRegular) {
		// Nothing to store: the link's target or the pipe's data is not the
		// clerk's file. It goes to rejected/ as it is, with the reason.
		dst, err := w.moveRejected(f, path, name, result{batch: storage.Batch{Reason: notRegularReason}})
		if err != nil {
			w.log.Error("move rejected file", "folder", f.Name, "err", err)
			return
		}
		w.log.Warn("file rejected: not a regular file", "folder", f.Name, "to", filepath.Base(dst))
		return
	}
	if errors.Is(err, errChanged) {
		// Put it back where it was dropped, to be taken once stable: linked
		// there (which never replaces a file dropped since under that name),
		// then unlinked here. Should the name be taken, it stays claimed and
		// is read again on the next scan.
		if err := os.Link(path, filepath.Join(f.Path, name)); err == nil {
			if err := os.Remove(path); err != nil {
				w.log.Error("put back a file still being written", "folder", f.Name, "err", err)
			}
			w.log.Warn("file changed while it was read, still being written: put back until it is stable", "folder", f.Name)
			return
		}
		w.log.Warn("file changed while it was read, still being written; will read it again", "folder", f.Name)
		return
	}
	if err != nil {
		w.log.Error("ingest failed; will retry", "folder", f.Name, "err", err)
		return
	}
	log := w.log.With("folder", f.Name, "batch", res.batch.ID)
	switch {
	case res.rejected:
		dst, err := w.moveRejected(f, path, name, res)
		if err != nil {
			log.Error("move rejected file", "err", err)
			return
		}
		log.Warn("file rejected", "code", res.batch.ReasonCode, "to", filepath.Base(dst))
	default:
		if _, err := w.moveProcessed(f, path, name, res.batch.ID); err != nil {
			log.Error("move processed file", "err", err)
			return
		}
		if res.batch.State == storage.StateDuplicate {
			log.Info("duplicate file, not processed again", "duplicate_of", *res.batch.DuplicateOf)
		} else {
			log.Info("batch queued", "format", res.format)
		}
	}
}

type result struct {
	batch    storage.Batch
	format   string
	rejected bool
	firstOf  *storage.Batch // for a duplicate: the first batch with these bytes
}

// ingest does the work in the order that loses nothing: checksum, store the
// original (read back), record the batch, validate, queue. It is safe to
// run again on the same file.
//
// The file is opened once, not following links and not blocking, checked
// to be a regular file (errNotRegular otherwise), and everything after —
// checksum, upload, inspection — reads that descriptor, never the path.
func (w *Watcher) ingest(ctx context.Context, f Folder, path, name string) (result, error) {
	file, st, err := openRegular(path)
	if errors.Is(err, errNotRegular) {
		return result{}, err
	}
	if err != nil {
		return result{}, fmt.Errorf("open claimed file: %w", err)
	}
	defer file.Close()
	sha, err := readerSHA256(file, st.Size())
	if err != nil {
		return result{}, err
	}
	key, err := w.objs.PutOriginalFrom(ctx, file, st.Size(), sha)
	if err != nil {
		return result{}, err
	}
	// A writer that paused long enough for the file to look stable, and
	// went on while it was read: what was stored is not the whole file.
	if now, err := file.Stat(); err != nil {
		return result{}, fmt.Errorf("stat claimed file: %w", err)
	} else if now.Size() != st.Size() || !now.ModTime().Equal(st.ModTime()) {
		return result{}, errChanged
	}
	// The key names this drop of this file: a re-run after a crash finds
	// the same batch; the same bytes dropped again later get a new key and
	// are recorded as a duplicate.
	ingestKey := fmt.Sprintf("%s/%s/%s/%d", f.Name, name, sha, st.ModTime().UnixNano())
	b, _, err := w.store.RecordBatch(ctx, storage.NewBatch{
		Source: f.Name, Name: name, IngestKey: ingestKey, SHA256: sha, Size: st.Size(), OriginalKey: key,
	})
	if err != nil {
		return result{}, err
	}
	res := result{batch: b}
	switch b.State {
	case storage.StateDuplicate:
		first, err := w.store.Batch(ctx, *b.DuplicateOf)
		if err != nil {
			return result{}, err
		}
		res.firstOf = &first
		// A copy of a rejected file is as bad as the first: the clerk should
		// see it among the rejected files.
		res.rejected = first.State == storage.StateRejected
		return res, nil
	case storage.StateRejected:
		res.rejected = true
		return res, nil
	case storage.StateReceived:
	default:
		return res, nil // queued before; only the move was left to do
	}
	info, err := split.InspectFile(ctx, file, w.cfg.Limits)
	if rej, ok := split.IsRejection(err); ok {
		if _, err := w.store.Reject(ctx, b.ID, rej.Code, rej.Reason); err != nil {
			return result{}, err
		}
		b.State, b.ReasonCode, b.Reason = storage.StateRejected, rej.Code, rej.Reason
		res.batch, res.rejected = b, true
		return res, nil
	}
	if err != nil {
		return result{}, fmt.Errorf("inspect batch %d: %w", b.ID, err)
	}
	res.format = string(info.Format)
	if err := w.queue.EnqueueSplit(ctx, b.ID); err != nil {
		return result{}, err
	}
	if _, err := w.store.MarkQueued(ctx, b.ID, string(info.Format)); err != nil {
		return result{}, err
	}
	return res, nil
}

// readerSHA256 hashes the first size bytes of r.
func readerSHA256(r io.ReaderAt, size int64) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		return "", fmt.Errorf("checksum claimed file: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// freeName returns a path in dir for name that does not exist yet, adding
// the batch ID when name is taken.
func freeName(dir, name string, batch int64) string {
	p := filepath.Join(dir, name)
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return p
	}
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 0; ; i++ {
		cand := fmt.Sprintf("%s.batch%d%s", stem, batch, ext)
		if i > 0 {
			cand = fmt.Sprintf("%s.batch%d-%d%s", stem, batch, i, ext)
		}
		p = filepath.Join(dir, cand)
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return p
		}
	}
}

func (w *Watcher) moveProcessed(f Folder, path, name string, batch int64) (string, error) {
	dir := filepath.Join(f.Path, processedDir, w.now().Format("2006-01-02"))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("make processed folder: %w", err)
	}
	dst := freeName(dir, name, batch)
	if err := os.Rename(path, dst); err != nil {
		return "", fmt.Errorf("move to processed: %w", err)
	}
	return dst, nil
}

func (w *Watcher) moveRejected(f Folder, path, name string, res result) (string, error) {
	dir := filepath.Join(f.Path, rejectedDir)
	dst := freeName(dir, name, res.batch.ID)
	reason := res.batch.Reason
	if res.firstOf != nil {
		reason = fmt.Sprintf("This file is identical to %q, batch %d, which was rejected: %s",
			res.firstOf.Name, res.firstOf.ID, res.firstOf.Reason)
	}
	text := fmt.Sprintf("File:     %s\nBatch:    %d\nRejected: %s\n\nWhy: %s\n\n"+
		"The original is kept here and in paperchart's storage. Fix the problem (usually: scan the paper again),\n"+
		"then drop the new file into the drop folder. See `paperchart batches show %d` for details.\n",
		name, res.batch.ID, w.now().Format(time.RFC1123), reason, res.batch.ID)
	if res.batch.ID == 0 { // not a file at all: nothing was stored or recorded
		text = fmt.Sprintf("File:     %s\nRejected: %s\n\nWhy: %s\n\nNothing was stored or recorded for it.\n",
			name, w.now().Format(time.RFC1123), reason)
	}
	// The reason is written first: a clerk who sees the file sees why.
	if err := os.WriteFile(dst+".reason.txt", []byte(text), 0o640); err != nil {
		return "", fmt.Errorf("write reason file: %w", err)
	}
	if err := os.Rename(path, dst); err != nil {
		return "", fmt.Errorf("move to rejected: %w", err)
	}
	return dst, nil
}

// prune deletes processed day folders older than Retention, judged by the
// folder's date (a moved file keeps the modification time it was dropped
// with). Their originals are in object storage: a file only reaches
// processed/ after it is stored.
func (w *Watcher) prune() {
	if w.cfg.Retention <= 0 {
		return
	}
	cutoff := w.now().Add(-w.cfg.Retention)
	for _, f := range w.cfg.Folders {
		root := filepath.Join(f.Path, processedDir)
		days, err := os.ReadDir(root)
		if err != nil {
			continue
		}
		for _, d := range days {
			day, err := time.ParseInLocation("2006-01-02", d.Name(), time.Local)
			if !d.IsDir() || err != nil || !day.AddDate(0, 0, 1).Before(cutoff) {
				continue
			}
			if err := os.RemoveAll(filepath.Join(root, d.Name())); err != nil {
				w.log.Warn("prune processed files", "folder", f.Name, "day", d.Name(), "err", err)
			}
		}
	}
}
