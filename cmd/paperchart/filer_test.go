package main

import (
	"log/slog"
	"sync"
	"testing"

	"github.com/hibiken/asynq"

	"paperchart/filing"
	"paperchart/internal/testenv"
	"paperchart/workers"
)

// TestOneFiler checks that the roles of one process share one filing
// stage (one classifier load): however many ask for it, at once, and the
// web handlers too, get the same Filer.
func TestOneFiler(t *testing.T) {
	db, _ := migratedDB(t)
	s := &services{db: db, objs: testenv.Objects(t),
		queue: workers.NewQueue(asynq.RedisClientOpt{Addr: testenv.RedisAddr()}, workers.QueueConfig{Prefix: testenv.Name("filer") + ":"})}
	t.Cleanup(func() { s.queue.Close() })
	c := &config{Authority: "MRN", MRNWidth: 8}
	var got [4]*filing.Filer
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			f, err := s.filing(c, nil)
			if err != nil {
				t.Error(err)
			}
			got[i] = f
		})
	}
	wg.Wait()
	for i, f := range got {
		if f == nil || f != got[0] {
			t.Fatalf("caller %d got filer %p, caller 0 %p: want one and the same", i, f, got[0])
		}
	}
	if _, err := webHandler(c, s, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if s.filer != got[0] {
		t.Fatal("the web handlers made a filer of their own")
	}
}
