package storage_test

import (
	"context"
	"testing"

	"paperchart/internal/testenv"
	"paperchart/storage"
)

// TestHold: a batch held up says why once, and the reason goes when its
// work resumes; a finished batch is never held.
func TestHold(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	b, _, err := db.RecordBatch(ctx, newBatch("hold-1", "sha-hold"))
	testenv.Must(t, err, "record batch")
	const why = "waiting for disk space: a worker's disk is full"
	for range 3 { // every retry says it again
		testenv.Must(t, db.Hold(ctx, b.ID, why), "hold")
	}
	got, err := db.Batch(ctx, b.ID)
	testenv.Must(t, err, "batch")
	if got.ReasonCode != storage.ReasonWaiting || got.Reason != why || got.State != storage.StateReceived {
		t.Fatalf("held batch: %s %q %q", got.State, got.ReasonCode, got.Reason)
	}
	count := func(event string) int {
		evs, err := db.Events(ctx, b.ID)
		testenv.Must(t, err, "events")
		n := 0
		for _, e := range evs {
			if e.Event == event {
				n++
			}
		}
		return n
	}
	if n := count("waiting"); n != 1 {
		t.Errorf("%d waiting events, want 1", n)
	}
	testenv.Must(t, db.Unhold(ctx, b.ID), "unhold")
	testenv.Must(t, db.Unhold(ctx, b.ID), "unhold again")
	got, err = db.Batch(ctx, b.ID)
	testenv.Must(t, err, "batch")
	if got.ReasonCode != "" || got.Reason != "" || count("resumed") != 1 {
		t.Errorf("after resuming: %q %q, %d resumed events", got.ReasonCode, got.Reason, count("resumed"))
	}

	// A failed batch keeps its own reason.
	_, err = db.FailBatch(ctx, b.ID, "splitting failed")
	testenv.Must(t, err, "fail")
	testenv.Must(t, db.Hold(ctx, b.ID, why), "hold a failed batch")
	testenv.Must(t, db.Unhold(ctx, b.ID), "unhold a failed batch")
	if got, _ := db.Batch(ctx, b.ID); got.Reason != "splitting failed" {
		t.Errorf("failed batch's reason %q", got.Reason)
	}
}
