package audit

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Writer persists events that belong to no data change. sqlstore.DB
// implements it.
type Writer interface {
	RecordEvents(ctx context.Context, evs []*Event) error
}

// Recorder writes standalone events: failures synchronously (they are rare
// and matter), reads through a buffer flushed in batches (512 events or one
// second) so that auditing a read costs a channel send, not a write
// transaction; each commit also resets SQLite readers' page caches, so
// fewer, larger batches matter. Close flushes the
// buffer, so a clean shutdown loses no event.
type Recorder struct {
	w     Writer
	log   *slog.Logger
	ch    chan *Event
	done  chan struct{}
	once  sync.Once
	batch int
	every time.Duration
}

// NewRecorder starts a recorder writing through w.
func NewRecorder(w Writer, log *slog.Logger) *Recorder {
	r := &Recorder{w: w, log: log, ch: make(chan *Event, 8192), done: make(chan struct{}), batch: 512, every: time.Second}
	go r.loop()
	return r
}

// Record writes ev now.
func (r *Recorder) Record(ctx context.Context, ev *Event) {
	if err := r.w.RecordEvents(context.WithoutCancel(ctx), []*Event{ev}); err != nil {
		r.log.Error("audit: write event", "event", ev.EventName, "err", err)
	}
}

// RecordRead buffers ev. When the buffer is full it writes synchronously
// rather than drop an event.
func (r *Recorder) RecordRead(ctx context.Context, ev *Event) {
	select {
	case r.ch <- ev:
	default:
		r.Record(ctx, ev)
	}
}

func (r *Recorder) loop() {
	defer close(r.done)
	t := time.NewTicker(r.every)
	defer t.Stop()
	buf := make([]*Event, 0, r.batch)
	flush := func() {
		if len(buf) == 0 {
			return
		}
		if err := r.w.RecordEvents(context.Background(), buf); err != nil {
			r.log.Error("audit: write batch", "events", len(buf), "err", err)
		}
		buf = buf[:0]
	}
	for {
		select {
		case ev, ok := <-r.ch:
			if !ok {
				flush()
				return
			}
			buf = append(buf, ev)
			if len(buf) >= r.batch {
				flush()
			}
		case <-t.C:
			flush()
		}
	}
}

// Close flushes buffered events and stops the recorder.
func (r *Recorder) Close() {
	r.once.Do(func() { close(r.ch) })
	<-r.done
}

// Actor describes who is calling and from where; it stamps new events.
type Actor struct {
	Identity  UserIdentity
	SourceIP  string
	UserAgent string
	RequestID string
}

// NewEvent starts an event for actor. name must be in Names: an unknown
// name is a programming error and panics (tests exercise every call site).
func (a Actor) NewEvent(source, name string, readOnly bool) *Event {
	if !Names[name] {
		panic("audit: event name " + name + " is not in the vocabulary")
	}
	return &Event{
		EventVersion: EventVersion, EventID: newEventID(), EventTime: time.Now().UTC().Truncate(time.Millisecond),
		EventSource: source, EventName: name, EventType: eventType(a.Identity.Type), ReadOnly: readOnly,
		UserIdentity: a.Identity, SourceIPAddress: a.SourceIP, UserAgent: truncate(a.UserAgent, 512), RequestID: a.RequestID,
	}
}

func eventType(identity string) string {
	if identity == IdentitySystem {
		return "ServiceEvent"
	}
	return "ApiCall"
}

// secretKeys are request fields classified secret: removed from
// requestParameters wherever they appear.
var secretKeys = map[string]bool{"password": true, "token": true, "secret": true, "client_secret": true, "authorization": true, "access_token": true, "refresh_token": true}

// MaxParameterBytes caps requestParameters: a 100k-member PUT is summarised,
// not copied into every event.
const MaxParameterBytes = 16 << 10

// SetParameters stores v as requestParameters after removing secret fields.
// PATCH operations whose path names a secret have their value removed too.
func (e *Event) SetParameters(v any) {
	e.RequestParameters = marshalCapped(Redact(v))
}

// SetResponse stores v as responseElements.
func (e *Event) SetResponse(v any) { e.ResponseElements = marshalCapped(v) }

func marshalCapped(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	if len(b) > MaxParameterBytes {
		b, _ = json.Marshal(map[string]any{"truncated": true, "bytes": len(b)})
	}
	return b
}

// Redact returns a copy of v without secret fields.
func Redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		path, _ := t["path"].(string)
		for k, val := range t {
			if secretKeys[strings.ToLower(k)] {
				continue
			}
			if strings.EqualFold(k, "value") && secretKeys[strings.ToLower(strings.TrimSpace(path))] {
				continue
			}
			out[k] = Redact(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = Redact(x)
		}
		return out
	}
	return v
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// newEventID returns a UUIDv7: time-ordered, so that inserting events
// appends to the end of the event-id index instead of touching a random
// page of it per event (one WAL page write each).
func newEventID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}
