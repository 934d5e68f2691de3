package workers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"
)

// What asynq offers to recover from a dead worker or a Redis that lost its
// data is slow: a dead worker's tasks stay active until their 30 s lease
// expires, and a server's recoverer looks for them once a minute (measured:
// 76 s from a SIGKILL to the last batch done). The sweep below finds both
// sooner through asynq's own records: every live server writes the tasks
// it runs to Redis every 5 s (kept 10 s), so an active task that no live
// server has listed for OrphanAfter is orphaned; and a canary task, never
// run, that is gone from Redis says Redis lost its data (one in every
// queue: a queue whose keys were deleted says it too).

// canaryStage is the queue of the canary task: no worker serves it.
const canaryStage = "canary"

const canaryID = "canary"

// recoveredSuffix marks the copy of an orphaned task. The copy's ID derives
// from the orphan's, so every reconciler that finds the orphan queues the
// same copy, once.
const recoveredSuffix = "-recovered"

// canaryQueues are the queues a canary task is kept in: the canary's own,
// which no worker serves, and each of the pipeline's, where it waits a
// century and is never run. A Redis that lost its data, or lost one
// queue's keys, has lost a canary.
func (q *Queue) canaryQueues() []string {
	return append(q.Names(), q.queue(canaryStage))
}

// plantCanary puts the canary tasks in Redis, to be scheduled in a century.
// One already there is left as it is.
func (q *Queue) plantCanary(ctx context.Context) error {
	for _, name := range q.canaryQueues() {
		_, err := q.client.Load().EnqueueContext(ctx, asynq.NewTask("paperchart:canary", nil),
			asynq.Queue(name), asynq.TaskID(canaryID), asynq.ProcessIn(100*365*24*time.Hour))
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) && !errors.Is(err, asynq.ErrDuplicateTask) {
			return fmt.Errorf("plant the canary task in queue %s: %w", name, err)
		}
	}
	return nil
}

// canaryAlive reports whether every canary task is still in Redis.
func (q *Queue) canaryAlive() (bool, error) {
	for _, name := range q.canaryQueues() {
		_, err := q.insp.GetTaskInfo(name, canaryID)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			return false, nil
		case err != nil:
			return false, fmt.Errorf("look up the canary task of queue %s: %w", name, err)
		}
	}
	return true, nil
}

// running returns the tasks live workers run now, by queue and ID, as
// their servers last wrote them to Redis (every 5 s).
func (q *Queue) running() (map[string]bool, error) {
	servers, err := q.insp.Servers()
	if err != nil {
		return nil, fmt.Errorf("list live workers: %w", err)
	}
	out := map[string]bool{}
	for _, s := range servers {
		for _, w := range s.ActiveWorkers {
			out[w.Queue+"\x00"+w.TaskID] = true
		}
	}
	return out, nil
}

// active lists the active tasks of the pipeline's queues.
func (q *Queue) active() ([]*asynq.TaskInfo, error) {
	var out []*asynq.TaskInfo
	for _, name := range q.Names() {
		for page := 1; ; page++ {
			ts, err := q.insp.ListActiveTasks(name, asynq.PageSize(500), asynq.Page(page))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("list active tasks of %s: %w", name, err)
			}
			out = append(out, ts...)
			if len(ts) < 500 {
				break
			}
		}
	}
	return out, nil
}

// requeueOrphan queues a copy of an orphaned task, and reports whether it
// was queued now. The orphan itself stays until asynq's recoverer retries
// it; the stages are idempotent, so it then finds its work done.
func (q *Queue) requeueOrphan(ctx context.Context, t *asynq.TaskInfo) (bool, error) {
	stage := strings.TrimPrefix(t.Queue, q.cfg.Prefix)
	if _, ok := stageTimeout[stage]; !ok || !strings.HasPrefix(t.Queue, q.cfg.Prefix) {
		return false, fmt.Errorf("task %s is in queue %s, not one of the pipeline's", t.ID, t.Queue)
	}
	_, err := q.client.Load().EnqueueContext(ctx, asynq.NewTask(t.Type, t.Payload),
		asynq.Queue(t.Queue), asynq.TaskID(t.ID+recoveredSuffix), asynq.MaxRetry(q.cfg.MaxRetry),
		asynq.Timeout(stageTimeout[stage]), asynq.Retention(q.cfg.Retention))
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("queue a copy of orphaned task %s: %w", t.ID, err)
	}
	return true, nil
}

// sweeper is the state of the reconciler's quick checks between runs.
type sweeper struct {
	planted  bool
	lostAt   time.Time            // when the canary was found gone; zero: not lost
	orphaned map[string]time.Time // active tasks no live worker runs, since when
}

// sweep runs the quick checks once: the canary (a Redis that lost its data
// brings a full reconciliation, once live workers have written their
// running tasks again) and orphaned tasks (queued again after OrphanAfter).
// It returns how many tasks it queued.
func (r *Reconciler) sweep(ctx context.Context, s *sweeper) (int, error) {
	q := r.Queue
	alive, err := q.canaryAlive()
	if err != nil {
		return 0, err
	}
	now := time.Now()
	if !alive {
		if s.planted && s.lostAt.IsZero() {
			r.Log.Warn("Redis lost its data: reconciling every unfinished batch", "in", r.heartbeat())
			s.lostAt = now
			q.renewClient()
		}
		if err := q.plantCanary(ctx); err != nil {
			return 0, err
		}
		s.planted = true
	}
	total := 0
	// Live workers write what they run every 5 s: after that, whatever the
	// database says is unfinished and no worker runs is lost.
	if !s.lostAt.IsZero() && now.Sub(s.lostAt) >= r.heartbeat() {
		n, err := r.once(ctx, 0)
		if err != nil {
			return n, err
		}
		s.lostAt = time.Time{}
		total += n
	}

	run, err := q.running()
	if err != nil {
		return total, err
	}
	act, err := q.active()
	if err != nil {
		return total, err
	}
	if s.orphaned == nil {
		s.orphaned = map[string]time.Time{}
	}
	seen := map[string]bool{}
	for _, t := range act {
		key := t.Queue + "\x00" + t.ID
		if run[key] && !t.IsOrphaned {
			continue
		}
		seen[key] = true
		since, ok := s.orphaned[key]
		if !ok {
			s.orphaned[key], since = now, now
		}
		if !t.IsOrphaned && now.Sub(since) < r.orphanAfter() {
			continue
		}
		queued, err := q.requeueOrphan(ctx, t)
		if err != nil {
			return total, err
		}
		if queued {
			r.Log.Warn("re-queued a task no live worker runs", "task", t.ID, "queue", t.Queue, "lease_expired", t.IsOrphaned)
			total++
		}
	}
	for key := range s.orphaned {
		if !seen[key] {
			delete(s.orphaned, key)
		}
	}
	return total, nil
}

func (r *Reconciler) orphanAfter() time.Duration {
	if r.OrphanAfter > 0 {
		return r.OrphanAfter
	}
	return 8 * time.Second
}

// heartbeat is how long live workers take to write what they run to Redis
// again (asynq's heartbeat, 5 s), with a margin.
func (r *Reconciler) heartbeat() time.Duration { return 6 * time.Second }
