package audit

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"paperchart/internal/testenv"
	"paperchart/storage"
)

// anchorStore is an anchor store on a bucket of the test's own, with object
// lock; governance mode, so that the bucket can be removed afterwards.
func anchorStore(t *testing.T) *Anchors {
	t.Helper()
	objs := testenv.Objects(t)
	a, err := OpenAnchors(context.Background(), testenv.ObjectsConfig(objs.Bucket()), AnchorOptions{Mode: ModeGovernance, Days: 1})
	testenv.Must(t, err, "open anchors")
	if !a.Locked() {
		t.Fatal("test bucket has no object lock; the S3 server started by deploy/setup.sh supports it")
	}
	return a
}

func mustAnchor(t *testing.T, l *Log, a *Anchors) (Anchor, bool) {
	t.Helper()
	an, wrote, err := l.Anchor(context.Background(), a)
	testenv.Must(t, err, "anchor")
	return an, wrote
}

func mustVerifyAnchors(t *testing.T, l *Log, a *Anchors) AnchorReport {
	t.Helper()
	rep, err := l.VerifyAnchors(context.Background(), a)
	testenv.Must(t, err, "verify anchors")
	return rep
}

func TestAnchorVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, pool := newLog(t)
	a := anchorStore(t)

	if an, wrote := mustAnchor(t, l, a); wrote || an.EntryID != 0 {
		t.Fatalf("an empty log anchored: %+v", an)
	}
	if rep := mustVerifyAnchors(t, l, a); !rep.Intact || rep.Anchors != 0 || rep.Latest != nil {
		t.Fatalf("no anchors yet: %+v", rep)
	}
	record := func(from, to int) {
		for i := from; i < to; i++ {
			_, err := l.Record(ctx, entry(i))
			testenv.Must(t, err, "record")
		}
	}
	record(0, 5)
	first, wrote := mustAnchor(t, l, a)
	if !wrote || first.EntryID != 5 || first.Type != AnchorType || !first.Locked() || first.Mode != ModeGovernance ||
		first.RetainUntil.Before(time.Now().Add(23*time.Hour)) {
		t.Fatalf("first anchor %+v (written %v)", first, wrote)
	}
	if first.Key != storage.AuditAnchorKey(5, first.Hash) {
		t.Errorf("anchor key %s", first.Key)
	}
	record(5, 10)
	last, _ := mustAnchor(t, l, a)
	if again, wrote := mustAnchor(t, l, a); wrote || again.Key != last.Key || !again.At.Equal(last.At) {
		t.Errorf("the same head anchored again: %+v, wrote %v; want %+v kept", again, wrote, last)
	}
	good := mustVerify(t, l)
	if last.EntryID != 10 || last.Hash != good.Head {
		t.Fatalf("last anchor %+v, chain head %s", last, good.Head)
	}
	rep := mustVerifyAnchors(t, l, a)
	if !rep.Intact || rep.Anchors != 2 || rep.Latest == nil || rep.Latest.EntryID != 10 || rep.Latest.Hash != good.Head ||
		rep.LatestLock != ModeGovernance || rep.LatestRetainUntil.Before(time.Now()) {
		t.Fatalf("untampered: %+v", rep)
	}
	// The anchor is under retention: it cannot be overwritten away.
	info, err := a.c.StatObject(ctx, a.bucket, last.Key, minio.StatObjectOptions{})
	testenv.Must(t, err, "stat")
	if err := a.c.RemoveObject(ctx, a.bucket, last.Key, minio.RemoveObjectOptions{VersionID: info.VersionID}); err == nil {
		t.Error("removed an anchor under retention")
	}

	_, err = pool.Exec(ctx, `CREATE TABLE audit_saved AS SELECT * FROM audit_log`)
	testenv.Must(t, err, "save")
	restore := []string{`DELETE FROM audit_log`, `INSERT INTO audit_log SELECT * FROM audit_saved`,
		fmt.Sprintf(`UPDATE audit_chain SET last_id = 10, last_hash = '%s'`, good.Head)}
	var hash7 string
	testenv.Must(t, pool.QueryRow(ctx, `SELECT hash FROM audit_log WHERE id = 7`).Scan(&hash7), "hash of 7")

	for _, tc := range []struct {
		name string
		sql  []string
		want []string // each must be in one problem
	}{
		// The chain recomputed from entry 3 on verifies on its own; both
		// anchors show the rewrite.
		{"an early entry rewritten, the chain recomputed", rehash(t, l, pool, 3, func(e *Entry) { e.Actor = "user:mallory" }),
			[]string{"anchor " + first.Key, "entry 5 has hash", "anchor " + last.Key, "entry 10 has hash", "rewritten"}},
		{"a late entry rewritten, the chain recomputed", rehash(t, l, pool, 8, func(e *Entry) { e.Detail = "nothing" }),
			[]string{"anchor " + last.Key, "entry 10 has hash"}},
		{"the last entries deleted, the head moved back", []string{`DELETE FROM audit_log WHERE id > 7`,
			fmt.Sprintf(`UPDATE audit_chain SET last_id = 7, last_hash = '%s'`, hash7)},
			[]string{"anchor " + last.Key, "entry 10 is not in the log"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asOwner(t, pool, tc.sql...)
			if rep := mustVerify(t, l); !rep.Intact {
				t.Fatalf("the forged chain does not verify on its own, so the anchors are not what catches it: %+v", rep)
			}
			rep := mustVerifyAnchors(t, l, a)
			all := strings.Join(rep.Problems, "\n")
			if rep.Intact {
				t.Errorf("anchors intact after tampering: %+v", rep)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems do not say %q:\n%s", w, all)
				}
			}
			asOwner(t, pool, restore...)
			if rep := mustVerifyAnchors(t, l, a); !rep.Intact {
				t.Fatalf("after restoring: %+v", rep)
			}
		})
	}

	// An anchor deleted from the versioned bucket leaves a delete marker:
	// it is reported, and its version is still checked.
	t.Run("an anchor deleted", func(t *testing.T) {
		testenv.Must(t, a.c.RemoveObject(ctx, a.bucket, first.Key, minio.RemoveObjectOptions{}), "delete")
		asOwner(t, pool, rehash(t, l, pool, 2, func(e *Entry) { e.Detail = "gone" })...)
		rep := mustVerifyAnchors(t, l, a)
		all := strings.Join(rep.Problems, "\n")
		if rep.Intact || !strings.Contains(all, "anchor "+first.Key+" was deleted") || !strings.Contains(all, "entry 5 has hash") {
			t.Errorf("after deleting an anchor and rewriting: %+v", rep)
		}
		asOwner(t, pool, restore...)
	})
}

func TestAnchorWithoutObjectLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, _ := newLog(t)
	locked := anchorStore(t)
	bucket := strings.ReplaceAll(testenv.Name("pctest-nolock-"), "_", "-")
	testenv.Must(t, locked.c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}), "make bucket")
	a, err := OpenAnchors(ctx, testenv.ObjectsConfig(bucket), AnchorOptions{})
	testenv.Must(t, err, "open anchors")
	t.Cleanup(func() {
		for obj := range a.c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
			_ = a.c.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{VersionID: obj.VersionID})
		}
		if err := a.c.RemoveBucket(ctx, bucket); err != nil {
			t.Logf("remove bucket %s: %v", bucket, err)
		}
	})
	if a.Locked() {
		t.Fatal("a bucket made without object lock has it")
	}
	_, err = l.Record(ctx, entry(1))
	testenv.Must(t, err, "record")
	an, wrote := mustAnchor(t, l, a)
	if !wrote || an.Locked() || !an.RetainUntil.IsZero() {
		t.Fatalf("anchor %+v", an)
	}
	if rep := mustVerifyAnchors(t, l, a); !rep.Intact || rep.Anchors != 1 || rep.LatestLock != "" {
		t.Fatalf("report %+v", rep)
	}
}

func TestAnchorerRuns(t *testing.T) {
	t.Parallel()
	l, _ := newLog(t)
	a := anchorStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := l.Record(ctx, entry(1))
	testenv.Must(t, err, "record")
	done := make(chan error, 1)
	go func() { done <- (&Anchorer{Log: l, Store: a, Every: 20 * time.Millisecond}).Run(ctx) }()
	// It anchors at start, and then the entries written since.
	wait := func(want int64) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			rep := mustVerifyAnchors(t, l, a)
			if rep.Latest != nil && rep.Latest.EntryID == want {
				return
			}
		}
		t.Fatalf("no anchor of entry %d within 10 s", want)
	}
	wait(1)
	_, err = l.Record(ctx, entry(2))
	testenv.Must(t, err, "record")
	wait(2)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
