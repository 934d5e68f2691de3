package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"paperchart/internal/testenv"
	"paperchart/scangen"
	"paperchart/storage"
	"paperchart/workers"
)

type rig struct {
	w      *Watcher
	db     *storage.DB
	objs   *storage.Objects
	insp   *asynq.Inspector
	prefix string
	drop   string
	clock  time.Time
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{db: testenv.DB(t), objs: testenv.Objects(t), prefix: testenv.Name("ingtest") + ":", drop: t.TempDir()}
	redis := asynq.RedisClientOpt{Addr: testenv.RedisAddr()}
	q := workers.NewQueue(redis, workers.QueueConfig{Prefix: r.prefix})
	t.Cleanup(func() { q.DeleteQueues(); q.Close() })
	r.insp = asynq.NewInspector(redis)
	t.Cleanup(func() { r.insp.Close() })
	w, err := New(Config{Folders: []Folder{{Name: "ward3", Path: r.drop}}, StableFor: time.Second},
		r.db, r.objs, q, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	r.clock = time.Now()
	w.now = func() time.Time { return r.clock }
	r.w = w
	return r
}

// settle scans until files have been stable long enough to be taken, also
// a PDF that never got its end (ten times the wait).
func (r *rig) settle(ctx context.Context) {
	for range 12 {
		r.w.Scan(ctx)
		r.clock = r.clock.Add(1100 * time.Millisecond)
	}
	r.w.Scan(ctx)
}

func (r *rig) batch(t *testing.T, name string) storage.Batch {
	t.Helper()
	bs, err := r.db.ListBatches(context.Background(), storage.BatchFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.Name == name {
			return b
		}
	}
	t.Fatalf("no batch for %s", name)
	return storage.Batch{}
}

func pngBytes(t *testing.T, w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	img.SetGray(w/2, h/2, color.Gray{})
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

// bombPNG is a valid PNG header claiming an absurd size, with no pixels.
func bombPNG() []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 200000)
	binary.BigEndian.PutUint32(ihdr[4:], 200000)
	ihdr[8], ihdr[9] = 8, 0 // 8-bit grey
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func genBatch(t *testing.T, f scangen.Format, pages int) []byte {
	var buf bytes.Buffer
	if _, err := scangen.Generate(context.Background(), &buf, scangen.Options{Pages: pages, Seed: 7, Format: f, Clean: true, DPI: 150}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// encryptedPDF returns pdf locked with a user password, as a PDF saved
// "with a password" would be.
func encryptedPDF(t *testing.T, pdf []byte) []byte {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
	os.WriteFile(in, pdf, 0o600)
	model.ConfigPath = "disable"
	if err := api.EncryptFile(in, out, model.NewAESConfiguration("user-secret", "owner-secret", 256)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIngest(t *testing.T) {
	ctx := context.Background()
	pdf := genBatch(t, scangen.FormatPDF, 2)
	var jpg bytes.Buffer
	jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 300, 400)), nil)
	tests := []struct {
		name     string
		data     []byte
		state    string
		code     string // rejection code
		reasonIn string // words the clerk's reason must contain
	}{
		{"batch.pdf", pdf, storage.StateQueued, "", ""},
		{"batch.tif", genBatch(t, scangen.FormatTIFF, 2), storage.StateQueued, "", ""},
		{"photo.jpg", jpg.Bytes(), storage.StateQueued, "", ""},
		{"page.png", pngBytes(t, 200, 300), storage.StateQueued, "", ""},
		{"really-a-png.pdf", pngBytes(t, 210, 300), storage.StateQueued, "", ""},
		{"empty.pdf", nil, storage.StateRejected, "empty", "empty"},
		{"notes.pdf", []byte("Dear colleague, this is a plain text file.\n"), storage.StateRejected, "unsupported", ""},
		{"truncated.pdf", pdf[:len(pdf)/2], storage.StateRejected, "", ""},
		{"corrupt.pdf", []byte("%PDF-1.4\n" + strings.Repeat("garbage ", 200) + "\n%%EOF\n"), storage.StateRejected, "", ""},
		{"word.pdf", append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0}, 200)...), storage.StateRejected, "unsupported", ""},
		{"bomb.png", bombPNG(), storage.StateRejected, "", ""},
		{"locked.pdf", encryptedPDF(t, pdf), storage.StateRejected, "encrypted", "password"},
	}
	r := newRig(t)
	for _, tc := range tests {
		if err := os.WriteFile(filepath.Join(r.drop, tc.name), tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.settle(ctx)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := r.batch(t, tc.name)
			if b.State != tc.state {
				t.Fatalf("state %s (%s: %s), want %s", b.State, b.ReasonCode, b.Reason, tc.state)
			}
			// The original is stored, whatever became of the file.
			got, err := r.objs.Get(ctx, b.OriginalKey)
			if err != nil || !bytes.Equal(got, tc.data) {
				t.Fatalf("original not stored intact: %v", err)
			}
			if _, err := os.Stat(filepath.Join(r.drop, tc.name)); !os.IsNotExist(err) {
				t.Errorf("file still in the drop folder")
			}
			if tc.state == storage.StateRejected {
				if tc.code != "" && b.ReasonCode != tc.code {
					t.Errorf("reason code %q, want %q", b.ReasonCode, tc.code)
				}
				if b.Reason == "" || !strings.Contains(strings.ToLower(b.Reason), tc.reasonIn) {
					t.Errorf("reason %q", b.Reason)
				}
				kept, err := os.ReadFile(filepath.Join(r.drop, "rejected", tc.name))
				if err != nil || !bytes.Equal(kept, tc.data) {
					t.Fatalf("rejected file not kept intact: %v", err)
				}
				why, err := os.ReadFile(filepath.Join(r.drop, "rejected", tc.name+".reason.txt"))
				if err != nil || !strings.Contains(string(why), b.Reason) {
					t.Fatalf("reason file: %v %q", err, why)
				}
				return
			}
			day := r.clock.Format("2006-01-02")
			if _, err := os.Stat(filepath.Join(r.drop, "processed", day, tc.name)); err != nil {
				t.Errorf("not in processed/%s: %v", day, err)
			}
			info, err := r.insp.GetTaskInfo(r.prefix+"split", "split-"+itoa(b.ID))
			if err != nil || info.State != asynq.TaskStatePending {
				t.Fatalf("split task: %v %v", info, err)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestDuplicateDrop(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	data := pngBytes(t, 100, 100)
	os.WriteFile(filepath.Join(r.drop, "a.png"), data, 0o644)
	r.settle(ctx)
	os.WriteFile(filepath.Join(r.drop, "a.png"), data, 0o644) // the same page scanned... and dropped again
	r.settle(ctx)
	bs, _ := r.db.ListBatches(ctx, storage.BatchFilter{})
	if len(bs) != 2 {
		t.Fatalf("%d batches, want 2", len(bs))
	}
	dup, first := bs[0], bs[1]
	if dup.State != storage.StateDuplicate || dup.DuplicateOf == nil || *dup.DuplicateOf != first.ID {
		t.Fatalf("second drop: %s dup of %v", dup.State, dup.DuplicateOf)
	}
	if _, err := r.insp.GetTaskInfo(r.prefix+"split", "split-"+itoa(dup.ID)); err == nil {
		t.Fatal("the duplicate was queued for processing")
	}
	// Both copies are kept in processed/, the second under another name.
	entries, _ := os.ReadDir(filepath.Join(r.drop, "processed", r.clock.Format("2006-01-02")))
	if len(entries) != 2 {
		t.Fatalf("%d files in processed, want 2", len(entries))
	}
}

func TestWaitsForStableFileAndIgnoresTemporaryNames(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	for _, n := range []string{".hidden.pdf", "~$lock.pdf", "scan.pdf.part", "x.tmp", "Thumbs.db"} {
		os.WriteFile(filepath.Join(r.drop, n), []byte("x"), 0o644)
	}
	growing := filepath.Join(r.drop, "growing.png")
	data := pngBytes(t, 100, 100)
	os.WriteFile(growing, data[:10], 0o644)
	r.w.Scan(ctx)
	r.clock = r.clock.Add(500 * time.Millisecond)
	r.w.Scan(ctx)
	os.WriteFile(growing, data, 0o644) // the scanner is still writing
	r.clock = r.clock.Add(800 * time.Millisecond)
	r.w.Scan(ctx)
	if _, err := os.Stat(growing); err != nil {
		t.Fatal("a file that changed was taken before it was stable")
	}
	r.settle(ctx)
	if b := r.batch(t, "growing.png"); b.State != storage.StateQueued || b.Size != int64(len(data)) {
		t.Fatalf("growing file: %s, %d bytes", b.State, b.Size)
	}
	bs, _ := r.db.ListBatches(ctx, storage.BatchFilter{})
	if len(bs) != 1 {
		t.Fatalf("%d batches: temporary or hidden files were taken", len(bs))
	}
	for _, n := range []string{".hidden.pdf", "~$lock.pdf", "scan.pdf.part", "x.tmp", "Thumbs.db"} {
		if _, err := os.Stat(filepath.Join(r.drop, n)); err != nil {
			t.Errorf("%s was moved", n)
		}
	}
}

func TestObjectStoreDownKeepsFile(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	good := r.w.objs
	// A real client pointed at a port where nothing listens.
	cfg := testenv.ObjectsConfig("nowhere")
	cfg.Endpoint = "127.0.0.1:1"
	down, err := storage.OpenObjects(ctx, cfg)
	if err == nil {
		r.w.objs = down
	} else {
		r.w.objs = unreachable{}
	}
	data := pngBytes(t, 100, 100)
	os.WriteFile(filepath.Join(r.drop, "a.png"), data, 0o644)
	r.settle(ctx)
	kept, err := os.ReadFile(filepath.Join(r.drop, ".processing", "a.png"))
	if err != nil || !bytes.Equal(kept, data) {
		t.Fatalf("file not kept while the store is down: %v", err)
	}
	if bs, _ := r.db.ListBatches(ctx, storage.BatchFilter{}); len(bs) != 0 {
		t.Fatal("a batch was recorded before its original was stored")
	}
	r.w.objs = good
	r.w.Scan(ctx)
	if b := r.batch(t, "a.png"); b.State != storage.StateQueued {
		t.Fatalf("after the store came back: %s", b.State)
	}
}

// unreachable is used only if the client cannot even be built for the dead
// endpoint; the test then still checks that ingest keeps the file.
type unreachable struct{}

func (unreachable) PutOriginalFrom(context.Context, io.ReaderAt, int64, string) (string, error) {
	return "", os.ErrDeadlineExceeded
}

// TestSwappedBeforeClaim puts a symbolic link or a FIFO in place of a
// listed, stable file just before it is claimed: the link's target is
// not stored, the FIFO does not hang the scan, and what was claimed goes
// to rejected/ with a reason.
func TestSwappedBeforeClaim(t *testing.T) {
	ctx := context.Background()
	secret := pngBytes(t, 120, 80) // a valid page: stored and queued, were the link followed
	sum := sha256.Sum256(secret)
	secretSHA := hex.EncodeToString(sum[:])
	outside := filepath.Join(t.TempDir(), "elsewhere.png")
	testenv.Must(t, os.WriteFile(outside, secret, 0o600), "write the file outside the drop folder")

	for _, tc := range []struct {
		name string
		swap func(path string) error
		mode fs.FileMode
	}{
		{"symlink", func(p string) error { return os.Symlink(outside, p) }, fs.ModeSymlink},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }, fs.ModeNamedPipe},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			name := "scan-" + tc.name + ".png"
			testenv.Must(t, os.WriteFile(filepath.Join(r.drop, name), pngBytes(t, 100, 100), 0o644), "drop")
			swapped := false
			r.w.beforeClaim = func(p string) {
				if filepath.Base(p) != name || swapped {
					return
				}
				swapped = true
				testenv.Must(t, os.Remove(p), "remove the listed file")
				testenv.Must(t, tc.swap(p), "put the %s in its place", tc.name)
			}
			done := make(chan struct{})
			go func() { defer close(done); r.settle(ctx) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the scan hangs on what was swapped in")
			}
			if !swapped {
				t.Fatal("the file was never claimed")
			}
			if bs, _ := r.db.ListBatches(ctx, storage.BatchFilter{}); len(bs) != 0 {
				t.Errorf("%d batches recorded, want none", len(bs))
			}
			if _, err := r.objs.Get(ctx, storage.OriginalKey(secretSHA)); err == nil {
				t.Error("the link's target was stored")
			}
			st, err := os.Lstat(filepath.Join(r.drop, "rejected", name))
			if err != nil || st.Mode().Type() != tc.mode {
				t.Fatalf("rejected/%s: %v, %v; want the %s itself", name, st, err, tc.name)
			}
			why, err := os.ReadFile(filepath.Join(r.drop, "rejected", name+".reason.txt"))
			if err != nil || !strings.Contains(string(why), "not an ordinary file") {
				t.Errorf("reason file: %v %q", err, why)
			}
			if entries, _ := os.ReadDir(filepath.Join(r.drop, ".processing")); len(entries) != 0 {
				t.Errorf("%d entries left in .processing", len(entries))
			}
			if got, err := os.ReadFile(outside); err != nil || !bytes.Equal(got, secret) {
				t.Errorf("the link's target was touched: %v", err)
			}
		})
	}
}

// TestStableWaitByEnd: a file that ends as its format ends is taken once
// unchanged for CompleteFor over two looks; one that does not, or whose
// format has no end marker, only after StableFor; a PDF without its %%EOF
// after ten times that.
func TestStableWaitByEnd(t *testing.T) {
	ctx := context.Background()
	pdf := genBatch(t, scangen.FormatPDF, 1)
	pngData := pngBytes(t, 120, 90)
	var jpg bytes.Buffer
	jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 300, 400)), nil)
	tests := []struct {
		name string
		data []byte
		wait string // "complete": CompleteFor; "stable": StableFor; "long": ten times StableFor
	}{
		{"whole.pdf", pdf, "complete"},
		{"whole-crlf.pdf", append(bytes.Clone(pdf), "\r\n"...), "complete"},
		{"trailing-bytes.pdf", append(bytes.Clone(pdf), "\x00garbage appended by a scanner"...), "stable"},
		{"half.pdf", pdf[:len(pdf)/2], "long"},
		{"whole.png", pngData, "complete"},
		{"half.png", pngData[:len(pngData)-12], "stable"},
		{"whole.jpg", jpg.Bytes(), "complete"},
		{"half.jpg", jpg.Bytes()[:jpg.Len()/2], "stable"},
		{"batch.tif", genBatch(t, scangen.FormatTIFF, 1), "stable"},
	}
	r := newRig(t) // StableFor 1 s, so CompleteFor 250 ms
	for _, tc := range tests {
		testenv.Must(t, os.WriteFile(filepath.Join(r.drop, tc.name), tc.data, 0o644), "drop %s", tc.name)
	}
	start := r.clock
	if due := r.w.scan(ctx); !due.Equal(start.Add(250 * time.Millisecond)) {
		t.Errorf("after the first look, next look due at +%v, want +250ms", due.Sub(start))
	}
	taken := func(name string) bool {
		_, err := os.Stat(filepath.Join(r.drop, name))
		return os.IsNotExist(err)
	}
	for _, step := range []struct {
		after time.Duration
		gone  map[string]bool // waits taken by then
	}{
		{200 * time.Millisecond, map[string]bool{}},
		{300 * time.Millisecond, map[string]bool{"complete": true}},
		{900 * time.Millisecond, map[string]bool{"complete": true}},
		{1100 * time.Millisecond, map[string]bool{"complete": true, "stable": true}},
		{9 * time.Second, map[string]bool{"complete": true, "stable": true}},
		{10100 * time.Millisecond, map[string]bool{"complete": true, "stable": true, "long": true}},
	} {
		r.clock = start.Add(step.after)
		r.w.Scan(ctx)
		for _, tc := range tests {
			if got := taken(tc.name); got != step.gone[tc.wait] {
				t.Errorf("%s (%s wait) at +%v: taken %v, want %v", tc.name, tc.wait, step.after, got, step.gone[tc.wait])
			}
		}
	}
	for _, tc := range tests {
		if b := r.batch(t, tc.name); b.Size != int64(len(tc.data)) {
			t.Errorf("%s: batch of %d bytes, want %d", tc.name, b.Size, len(tc.data))
		}
	}
}

// growingStore appends to the claimed file while its original is stored,
// as a writer that paused and went on would.
type growingStore struct {
	Originals
	path string
	more []byte
	done bool
}

func (g *growingStore) PutOriginalFrom(ctx context.Context, r io.ReaderAt, size int64, sha string) (string, error) {
	if !g.done {
		g.done = true
		f, err := os.OpenFile(g.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return "", err
		}
		_, err = f.Write(g.more)
		if err = errors.Join(err, f.Close()); err != nil {
			return "", err
		}
	}
	return g.Originals.PutOriginalFrom(ctx, r, size, sha)
}

// TestChangedWhileRead: a file that changes while ingest reads it is not
// recorded from what was read; it is put back in the drop folder and taken
// whole once stable.
func TestChangedWhileRead(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	pdf := genBatch(t, scangen.FormatPDF, 2)
	// The first part ends like a whole PDF: its writer stopped there.
	cut := bytes.Index(pdf, []byte("%%EOF")) + len("%%EOF\n")
	first, rest := pdf[:cut], pdf[cut:]
	if len(rest) == 0 {
		// One revision only: a second, appended as an incremental update
		// would be, stands in for the rest.
		rest = []byte("% an incremental update\n%%EOF\n")
	}
	whole := slices.Concat(first, rest)
	name := "paused.pdf"
	testenv.Must(t, os.WriteFile(filepath.Join(r.drop, name), first, 0o644), "drop")
	r.w.objs = &growingStore{Originals: r.w.objs, path: filepath.Join(r.drop, ".processing", name), more: rest}
	r.w.Scan(ctx)
	r.clock = r.clock.Add(300 * time.Millisecond)
	r.w.Scan(ctx) // taken, grows while stored, put back
	if bs, _ := r.db.ListBatches(ctx, storage.BatchFilter{}); len(bs) != 0 {
		t.Fatalf("%d batches recorded from a file that changed while it was read", len(bs))
	}
	back, err := os.ReadFile(filepath.Join(r.drop, name))
	if err != nil || !bytes.Equal(back, whole) {
		t.Fatalf("file not put back whole in the drop folder: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(r.drop, ".processing")); len(entries) != 0 {
		t.Errorf("%d entries left in .processing", len(entries))
	}
	r.settle(ctx)
	b := r.batch(t, name)
	if b.Size != int64(len(whole)) {
		t.Fatalf("batch of %d bytes, want the whole file's %d", b.Size, len(whole))
	}
	if got, err := r.objs.Get(ctx, b.OriginalKey); err != nil || !bytes.Equal(got, whole) {
		t.Fatalf("stored original is not the whole file: %v", err)
	}
}
