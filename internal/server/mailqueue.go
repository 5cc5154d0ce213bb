package server

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// mailQueue runs the account work behind a request that sends mail (looking the address up,
// making the mailed link, handing the mail to the sender) after the answer has gone out. What
// that work costs depends on whether the address has an account; done in the request, the
// time of the answer told (22.8 ms against 4.7 ms for a reset). Queued, every such request
// costs the same, and none waits on an SMTP server.
//
// A job that fails is logged as an error, with what it was for. The queue lives in memory:
// Close runs what is queued before the server stops, and logs each job it could not run or
// finish.
type mailQueue struct {
	log  *slog.Logger
	jobs chan mailJob

	mu      sync.Mutex
	closed  bool
	pending int               // queued or running
	running map[*mailJob]bool // taken by a worker, not yet done
	idle    chan struct{}     // closed while pending is 0
	workers sync.WaitGroup
	senders sync.WaitGroup // adds on their way into jobs

	fullWait time.Duration // how long an add waits for room in a full queue
}

type mailJob struct {
	what  string // for the log: "password reset", "sign-up", …
	ctx   context.Context
	run   func(ctx context.Context) error
	added time.Time
}

// mailJobDelay is how long after it was queued a job starts at the earliest. The answer has
// gone out before the job is queued, but a job that starts at once competes for the
// processor with whatever still handles that answer, on a busy machine by a measurable
// fraction of a millisecond: more for an address with an account, which has more to do.
const mailJobDelay = 20 * time.Millisecond

// mailJobTimeout bounds one job: its store work and one SMTP session (which bounds itself at a
// minute).
const mailJobTimeout = 2 * time.Minute

// newMailQueue starts a queue of size jobs run by workers goroutines.
func newMailQueue(log *slog.Logger, workers, size int) *mailQueue {
	q := &mailQueue{log: log, jobs: make(chan mailJob, size), idle: make(chan struct{}), fullWait: time.Minute, running: map[*mailJob]bool{}}
	close(q.idle)
	for range workers {
		q.workers.Add(1)
		go q.work()
	}
	return q
}

func (q *mailQueue) work() {
	defer q.workers.Done()
	for j := range q.jobs {
		q.run(j)
	}
}

func (q *mailQueue) run(j mailJob) {
	q.mu.Lock()
	q.running[&j] = true
	q.mu.Unlock()
	time.Sleep(time.Until(j.added.Add(mailJobDelay)))
	ctx, cancel := context.WithTimeout(j.ctx, mailJobTimeout)
	defer cancel()
	if err := j.run(ctx); err != nil {
		q.log.ErrorContext(ctx, "account mail not sent", "request_id", requestID(ctx), "work", j.what, "err", err)
	}
	q.mu.Lock()
	delete(q.running, &j)
	q.mu.Unlock()
	q.done()
}

func (q *mailQueue) done() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending--; q.pending == 0 {
		close(q.idle)
	}
}

// add queues fn, to run with ctx's values but not its end: the request is answered before fn
// runs. When the queue is full, add waits for room for up to a minute (fullWait), then logs
// the job as an error and drops it. After close, fn runs at once, in the request.
func (q *mailQueue) add(ctx context.Context, what string, fn func(ctx context.Context) error) {
	q.hold()
	q.addHeld(ctx, what, fn)
}

// hold counts a job that addHeld will queue (a handler holds its place, then queues the job
// once its answer is out): wait waits for it from now on.
func (q *mailQueue) hold() {
	q.mu.Lock()
	if q.pending++; q.pending == 1 {
		q.idle = make(chan struct{})
	}
	q.mu.Unlock()
}

// addHeld is add for a job whose place hold took.
func (q *mailQueue) addHeld(ctx context.Context, what string, fn func(ctx context.Context) error) {
	j := mailJob{what: what, ctx: context.WithoutCancel(ctx), run: fn, added: time.Now()}
	q.mu.Lock()
	closed := q.closed
	if !closed {
		q.senders.Add(1)
	}
	q.mu.Unlock()
	if closed {
		q.run(j)
		return
	}
	defer q.senders.Done()
	// Not bounded by the request: its answer is out, and a client that leaves at once (as
	// every CLI does) must not lose its mail.
	full := time.NewTimer(q.fullWait)
	defer full.Stop()
	select {
	case q.jobs <- j:
	case <-full.C:
		q.log.ErrorContext(ctx, "account mail not sent", "request_id", requestID(ctx), "work", what, "err", "the mail queue stayed full")
		q.done()
	}
}

// wait returns once every job queued so far has run, or with ctx's error.
func (q *mailQueue) wait(ctx context.Context) error {
	q.mu.Lock()
	idle := q.idle
	q.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops queueing (later jobs run in their request) and runs what is queued, for at most
// grace; jobs still queued then are logged as errors and dropped.
func (q *mailQueue) close(grace time.Duration) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	q.mu.Unlock()
	q.senders.Wait() // adds past the check: each has queued its job or given up
	close(q.jobs)
	done := make(chan struct{})
	go func() {
		q.workers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace):
		for j := range q.jobs { // what the workers have not taken yet
			q.log.ErrorContext(j.ctx, "account mail not sent", "request_id", requestID(j.ctx), "work", j.what, "err", "the server stopped before it was sent")
			q.done()
		}
		// What the workers are still at (an SMTP server that does not answer) ends with the
		// process: it may or may not have gone out.
		q.mu.Lock()
		defer q.mu.Unlock()
		for j := range q.running {
			q.log.ErrorContext(j.ctx, "account mail not sent", "request_id", requestID(j.ctx), "work", j.what, "err", "the server stopped while it was being sent; it may not have gone out")
		}
	}
}
