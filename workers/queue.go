package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
)

// Task types.
const (
	TypeSplit    = "batch:split"
	TypeOCR      = "page:ocr"
	TypeAssemble = "batch:assemble"
	TypeFile     = "batch:file"
)

// Stage names double as queue names (with QueueConfig.Prefix in front).
const (
	stageSplit    = "split"
	stageOCR      = "ocr"
	stageAssemble = "assemble"
	stageFile     = "file"
)

// QueueConfig names the queues and sets how tasks retry.
type QueueConfig struct {
	// Prefix is put before every queue name: deployments or tests that
	// share one Redis keep their work apart with it.
	Prefix string
	// MaxRetry is how often a failed task is retried before its batch is
	// marked failed. Default 5.
	MaxRetry int
	// Retention keeps a finished task's ID in Redis so that enqueuing it
	// again is refused as a duplicate. Default 24h.
	Retention time.Duration
}

func (c QueueConfig) withDefaults() QueueConfig {
	if c.MaxRetry <= 0 {
		c.MaxRetry = 5
	}
	if c.Retention <= 0 {
		c.Retention = 24 * time.Hour
	}
	return c
}

// Queue puts paperchart's tasks on asynq.
type Queue struct {
	redis  asynq.RedisConnOpt
	client atomic.Pointer[asynq.Client] // replaced when Redis lost its data (renewClient)
	insp   *asynq.Inspector
	cfg    QueueConfig
}

// NewQueue connects to Redis.
func NewQueue(redis asynq.RedisConnOpt, cfg QueueConfig) *Queue {
	q := &Queue{redis: redis, insp: asynq.NewInspector(redis), cfg: cfg.withDefaults()}
	q.client.Store(asynq.NewClient(redis))
	return q
}

// Close closes the connections.
func (q *Queue) Close() error {
	return errors.Join(q.client.Load().Close(), q.insp.Close())
}

// renewClient replaces the client by a new one. An asynq client registers a
// queue's name in Redis only the first time it queues there, so after
// Redis lost its data the old one's tasks would be invisible to the
// inspector (and so to the reconciler and the metrics). The old client is
// closed a minute later, when the enqueues that were using it are over.
func (q *Queue) renewClient() {
	old := q.client.Swap(asynq.NewClient(q.redis))
	time.AfterFunc(time.Minute, func() { old.Close() })
}

// Ping checks that Redis answers.
func (q *Queue) Ping(ctx context.Context) error {
	if _, err := q.insp.Queues(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

func (q *Queue) queue(stage string) string { return q.cfg.Prefix + stage }

// Names returns the full names of the pipeline's queues (prefix included),
// for metrics and operators' tools.
func (q *Queue) Names() []string {
	return []string{q.queue(stageSplit), q.queue(stageOCR), q.queue(stageAssemble), q.queue(stageFile)}
}

// Inspector returns the queue's asynq inspector (for queue-depth metrics).
func (q *Queue) Inspector() *asynq.Inspector { return q.insp }

// payload identifies the work of a task: IDs only, never patient data.
type payload struct {
	Batch int64 `json:"batch"`
	Page  int   `json:"page,omitempty"`
}

func splitTaskID(batch int64) string         { return fmt.Sprintf("split-%d", batch) }
func ocrTaskID(batch int64, page int) string { return fmt.Sprintf("ocr-%d-%d", batch, page) }
func assembleTaskID(batch int64) string      { return fmt.Sprintf("assemble-%d", batch) }
func fileTaskID(batch int64) string          { return fmt.Sprintf("file-%d", batch) }

// timeouts per stage: a page's OCR takes seconds; a 500-page split or
// assembly, minutes. The assembly files the batch too.
var stageTimeout = map[string]time.Duration{
	stageSplit:    15 * time.Minute,
	stageOCR:      5 * time.Minute,
	stageAssemble: 40 * time.Minute,
	stageFile:     20 * time.Minute,
}

// enqueue queues a task and reports whether it was queued now (false: a task
// with its ID exists already).
func (q *Queue) enqueue(ctx context.Context, stage, typ, id string, p payload) (bool, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return false, fmt.Errorf("encode %s task: %w", typ, err)
	}
	_, err = q.client.Load().EnqueueContext(ctx, asynq.NewTask(typ, b),
		asynq.Queue(q.queue(stage)), asynq.TaskID(id), asynq.MaxRetry(q.cfg.MaxRetry),
		asynq.Timeout(stageTimeout[stage]), asynq.Retention(q.cfg.Retention))
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return false, nil // already queued, running or recently done: no double work
	}
	if err != nil {
		return false, fmt.Errorf("enqueue %s: %w", id, err)
	}
	return true, nil
}

// EnqueueSplit queues the split of a batch. Queuing it twice is harmless.
func (q *Queue) EnqueueSplit(ctx context.Context, batch int64) error {
	_, err := q.enqueue(ctx, stageSplit, TypeSplit, splitTaskID(batch), payload{Batch: batch})
	return err
}

// EnqueueOCR queues the OCR of one page.
func (q *Queue) EnqueueOCR(ctx context.Context, batch int64, page int) error {
	_, err := q.enqueue(ctx, stageOCR, TypeOCR, ocrTaskID(batch, page), payload{Batch: batch, Page: page})
	return err
}

// EnqueueAssemble queues the assembly of a batch whose pages are all done.
func (q *Queue) EnqueueAssemble(ctx context.Context, batch int64) error {
	_, err := q.enqueue(ctx, stageAssemble, TypeAssemble, assembleTaskID(batch), payload{Batch: batch})
	return err
}

// EnqueueFile queues a batch's filing: separation into documents,
// classification, patient matching, filing.
func (q *Queue) EnqueueFile(ctx context.Context, batch int64) error {
	_, err := q.enqueue(ctx, stageFile, TypeFile, fileTaskID(batch), payload{Batch: batch})
	return err
}

// taskStatus is what Redis knows of a task.
type taskStatus int

const (
	taskMissing  taskStatus = iota // never queued, or lost (Redis restarted without its data)
	taskLive                       // pending, scheduled, active or waiting to retry
	taskFinished                   // completed (kept for Retention)
	taskArchived                   // gave up after its retries
)

func (q *Queue) status(stage, id string) (taskStatus, string, error) {
	info, err := q.insp.GetTaskInfo(q.queue(stage), id)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return taskMissing, "", nil
	case err != nil:
		return taskMissing, "", fmt.Errorf("look up task %s: %w", id, err)
	}
	switch info.State {
	case asynq.TaskStateCompleted:
		return taskFinished, "", nil
	case asynq.TaskStateArchived:
		return taskArchived, info.LastErr, nil
	}
	return taskLive, "", nil
}

// requeue puts a task back when Redis has none live for it: a finished or
// archived copy is deleted first, since its ID would block the new one. It
// reports whether it queued the task. (The inspector may call a live task
// missing: asynq's client does not register a queue name again after the
// queue was deleted. The enqueue then conflicts, and nothing is queued.)
func (q *Queue) requeue(ctx context.Context, stage, typ, id string, p payload) (bool, error) {
	st, _, err := q.status(stage, id)
	if err != nil {
		return false, err
	}
	if st == taskLive {
		return false, nil
	}
	if st != taskMissing {
		if err := q.insp.DeleteTask(q.queue(stage), id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return false, fmt.Errorf("delete stale task %s: %w", id, err)
		}
	}
	return q.enqueue(ctx, stage, typ, id, p)
}

// retryDelay backs off exponentially from 5 s to at most 5 minutes, with
// jitter so that retries of many pages do not arrive together.
func retryDelay(n int, _ error, _ *asynq.Task) time.Duration {
	d := 5 * time.Second << min(n, 6)
	if d > 5*time.Minute {
		d = 5 * time.Minute
	}
	return d + time.Duration(rand.Int64N(int64(d/4)+1))
}

// DeleteQueues removes this configuration's queues and every task in them
// from Redis. For tests and benchmarks that used queues of their own.
func (q *Queue) DeleteQueues() error {
	var errs []error
	for _, s := range []string{stageSplit, stageOCR, stageAssemble, stageFile, canaryStage} {
		err := q.insp.DeleteQueue(q.queue(s), true)
		if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
			errs = append(errs, fmt.Errorf("delete queue %s: %w", q.queue(s), err))
		}
	}
	return errors.Join(errs...)
}
