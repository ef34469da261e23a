package provisioning

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/target"
)

// RunOptions control one cycle.
type RunOptions struct {
	Trigger string // "schedule", "cli", "api"
	// DryRun reads the source and the target, plans and reports, and sends
	// no write (the target is wrapped in target.DryRun); nothing is stored.
	DryRun bool
	// Restart clears the state (watermark, escrows, quarantine, staged
	// deletes, links) first: everything in scope is matched again.
	Restart bool
	// User provisions one user now (id or userName): on-demand provisioning.
	User string
	// OnEntry receives every log entry as it is decided (the CLI prints them).
	OnEntry func(LogEntry)
}

// Result is a finished cycle.
type Result struct {
	Cycle Cycle
	// Entries are every log entry of a dry run or an on-demand run.
	Entries []LogEntry
	// Writes are the requests a dry run would have sent.
	Writes []target.Write
	Staged int
}

// Provision runs a cycle of the named application now.
func (s *Service) Provision(ctx context.Context, name string, opts RunOptions) (*Result, error) {
	a, err := s.App(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.RunCycle(ctx, a, opts)
}

// ErrBusy is returned when another process holds the application's lease.
var ErrBusy = errors.New("a cycle is already running")

// RunCycle runs one cycle of a. Outside a dry run it holds the application's
// lease in the database for its whole duration (renewed in the background),
// so at most one cycle per application runs across processes and replicas.
func (s *Service) RunCycle(ctx context.Context, a Application, opts RunOptions) (*Result, error) {
	r := &runner{s: s, app: a, opts: opts, now: s.now(), escrowed: map[string]Escrow{}, claims: map[string]string{}}
	if !opts.DryRun {
		ok, err := s.Store.AcquireLease(ctx, a.ID, s.Owner, r.now, r.now.Add(s.LeaseTTL))
		if err != nil {
			return nil, err
		}
		if !ok {
			st, _ := s.Store.State(ctx, a.ID)
			if s.deadLocalOwner(st.LeaseOwner) {
				// The holder was a process on this host that no longer
				// exists (killed mid-cycle): no need to wait for the TTL.
				if ok, err = s.Store.TakeLease(ctx, a.ID, st.LeaseOwner, s.Owner, r.now.Add(s.LeaseTTL)); err != nil {
					return nil, err
				}
				if ok {
					s.Log.Warn("provisioning: took over the lease of a crashed cycle", "application", a.Name, "previous_owner", st.LeaseOwner)
				}
			}
			if !ok {
				return nil, fmt.Errorf("application %q: %w (lease held by %s until %s)", a.Name, ErrBusy, st.LeaseOwner, st.LeaseExpires.Format(time.RFC3339))
			}
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		stop := r.keepLease(ctx, cancel)
		defer func() {
			stop()
			cancel()
			_ = s.Store.ReleaseLease(context.WithoutCancel(ctx), a.ID, s.Owner)
		}()
	}
	return r.run(ctx)
}

// deadLocalOwner reports whether a lease owner ("host:pid:nonce") is a
// process of this host that no longer runs.
func (s *Service) deadLocalOwner(owner string) bool {
	parts := strings.Split(owner, ":")
	if len(parts) != 3 || owner == s.Owner {
		return false
	}
	host, _ := os.Hostname()
	if parts[0] != host {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid == os.Getpid() {
		return false
	}
	return processGone(pid)
}

// keepLease renews the lease every third of its TTL; losing it cancels the
// cycle (another process took over after we stalled past the TTL).
func (r *runner) keepLease(ctx context.Context, cancel context.CancelFunc) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(r.s.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				ok, err := r.s.Store.RenewLease(ctx, r.app.ID, r.s.Owner, r.s.now().Add(r.s.LeaseTTL))
				if err == nil && !ok {
					r.s.Log.Error("provisioning: lost the application lease; stopping the cycle", "application", r.app.Name)
					cancel()
					return
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// runner is one cycle in progress.
type runner struct {
	s    *Service
	app  Application
	opts RunOptions
	now  time.Time

	dir   directory.Directory
	comp  *Compiled
	tgt   target.Operations
	dry   *target.DryRunTarget
	si    *target.SchemaInfo
	state State
	cycle Cycle
	scope *scopeSet
	mc    *memberCache
	head  int64

	startRequests int64
	startedAt     time.Time
	phaseStart    time.Time
	phases        []string
	userIndex     *targetIndex
	groupIndex    *targetIndex
	escrowed      map[string]Escrow
	intents       map[string]bool // source ids with a create/delete left by a crash
	// claims are the SelectUniqueValue values chosen in this cycle (type,
	// target attribute and value -> source id), guarded by mu.
	claims map[string]string

	mu        sync.Mutex
	index     map[string]*LinkRef // source id -> link (updated as results come in)
	shadow    map[string]map[string]bool
	pending   Batch
	lastFlush time.Time
	flushErr  error
	entries   []LogEntry
	authErr   *target.Error
	attempted int
	failed    int
	staged    int
	deferred  []*item
	refItems  []*item // items with unresolved references, for the reference pass
	sourceOK  bool
	warnings  []string
	stop      context.CancelFunc
}

// item is one object moving through the pipeline.
type item struct {
	typ     string
	id      string
	name    string
	op      Op
	in      PlanInput
	src     *Source
	entry   *LogEntry
	intent  string // journal intent id
	members []string
	gone    bool // the link's target object no longer exists
	// refs are references whose object was not linked when planned.
	refs map[string]string // target path -> source id
	// link is the link this item's outcome wrote.
	link *Link
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	s, a := r.s, r.app
	if r.opts.Restart && !r.opts.DryRun {
		if err := s.Store.ResetApp(ctx, a.ID, true, r.event("RestartProvisioning", nil)); err != nil {
			return nil, err
		}
	}
	var err error
	if r.state, err = s.Store.State(ctx, a.ID); err != nil {
		return nil, err
	}
	if r.comp, err = CompileSchema(a.Schema, nil); err != nil {
		return nil, err
	}
	if r.dir, err = s.Directory(ctx, a); err != nil {
		return nil, err
	}
	tgt, err := s.Target(a)
	if err != nil {
		return nil, err
	}
	if r.opts.DryRun {
		r.dry = target.DryRun(tgt)
		tgt = r.dry
	}
	r.tgt = tgt
	r.startRequests = tgt.Stats().Requests
	if r.head, err = s.Dir.Store.ChangeHead(ctx); err != nil {
		return nil, err
	}
	r.cycle = Cycle{ID: s.NewID(), AppID: a.ID, Kind: r.kind(), Trigger: r.opts.Trigger, DryRun: r.opts.DryRun, Status: CycleRunning,
		Started: r.now, WatermarkFrom: r.state.Watermark, WatermarkTo: r.head, Counts: map[string]int{}}
	if r.cycle.Trigger == "" {
		r.cycle.Trigger = "cli"
	}
	if !r.opts.DryRun {
		// The StartProvisioningCycle event is written with the end, and only
		// for cycles that did something: an idle cycle every few seconds
		// would otherwise flood the audit trail.
		if err := s.Store.StartCycle(ctx, r.cycle, nil); err != nil {
			return nil, err
		}
	}
	s.Log.Info("provisioning cycle started", "application", a.Name, "cycle", r.cycle.ID, "kind", r.cycle.Kind, "dry_run", r.opts.DryRun)
	r.startedAt = time.Now()
	bodyCtx, cancel := context.WithCancel(ctx)
	r.stop = cancel
	stopProgress := r.progressLoop(bodyCtx)
	bodyErr := r.body(bodyCtx)
	stopProgress()
	cancel()
	return r.finish(ctx, bodyErr)
}

// kind decides what the cycle has to look at.
func (r *runner) kind() string {
	switch {
	case r.opts.User != "":
		return KindOnDemand
	case r.state.LastFull.IsZero():
		return KindInitial
	case r.state.SchemaVersion != r.app.SchemaVersion, r.now.Sub(r.state.LastFull) >= r.s.FullSyncEvery:
		return KindFull // a restart resets the schema version too
	}
	return KindIncremental
}

func (r *runner) full() bool { return r.cycle.Kind == KindInitial || r.cycle.Kind == KindFull }

// body does the cycle's work; an error is fatal to the cycle (per-object
// failures are logged and escrowed instead).
func (r *runner) body(ctx context.Context) error {
	s, a := r.s, r.app
	si, err := s.schemaInfo(ctx, a, r.tgt)
	if err != nil {
		if te, ok := target.AsError(err); ok && errors.Is(te, target.ErrUnauthorized) {
			r.authErr = te
		}
		return fmt.Errorf("reading the target's schema: %w", err)
	}
	r.si = si
	r.mc = &memberCache{dir: s.Dir.Store, d: a.DirectoryID, m: map[string][]directory.Member{}}
	r.phase("schema")
	if r.scope, err = resolveScope(ctx, s.Store, r.mc, a, si.NestedGroups, !r.comp.Groups.Disabled); err != nil {
		return fmt.Errorf("resolving the scope: %w", err)
	}
	r.phase("scope")
	refs, err := s.Store.LinkIndex(ctx, a.ID)
	if err != nil {
		return err
	}
	r.index = make(map[string]*LinkRef, len(refs))
	activeLinks := 0
	for i := range refs {
		r.index[refs[i].SourceID] = &refs[i]
		if refs[i].Active {
			activeLinks++
		}
	}
	escrows, err := s.Store.Escrows(ctx, a.ID)
	if err != nil {
		return err
	}
	for _, e := range escrows {
		r.escrowed[e.SourceID] = e
	}
	intents, err := s.Store.Intents(ctx, a.ID)
	if err != nil {
		return err
	}
	r.intents = map[string]bool{}
	for _, in := range intents {
		r.intents[in.SourceID] = true
		if !r.opts.DryRun {
			r.pending.DoneIntents = append(r.pending.DoneIntents, in.ID) // resolved by this cycle's match-first
		}
	}
	r.phase("state")
	users, groups, deleted, err := r.workSet(ctx)
	if err != nil {
		return err
	}
	// A source that suddenly has nothing in scope while objects are
	// provisioned is more likely broken than empty: never deprovision on it.
	suspicious := activeLinks > 0 && len(r.scope.users) == 0 && (a.Scope == ScopeAll || r.scope.assignments > 0)
	r.sourceOK = true
	if suspicious {
		r.warnings = append(r.warnings, fmt.Sprintf("%s: the source returned nothing in scope while %d objects are provisioned; no disable or delete was sent", CodeSuspiciousSource, activeLinks))
		s.Log.Warn("provisioning: suspiciously empty source; deprovisioning skipped", "application", a.Name, "linked", activeLinks)
	}
	r.phase("changes")
	if err := r.objects(ctx, TypeUser, users, deleted, suspicious); err != nil {
		return err
	}
	if err := r.references(ctx); err != nil {
		return err
	}
	if !r.comp.Groups.Disabled && r.opts.User == "" {
		if err := r.objects(ctx, TypeGroup, groups, deleted, suspicious); err != nil {
			return err
		}
	}
	r.phase("objects")
	if err := r.deprovision(ctx, activeLinks); err != nil {
		return err
	}
	if !r.comp.Groups.Disabled && r.opts.User == "" && r.comp.Groups.Members {
		r.phase("deprovision")
		if err := r.membership(ctx); err != nil {
			return err
		}
		r.phase("members")
	}
	return nil
}

// phase records how long the step that just ended took (logged with the
// cycle, for operators and for the benchmark).
func (r *runner) phase(name string) {
	now := time.Now()
	if r.phaseStart.IsZero() {
		r.phaseStart = r.startedAt
	}
	r.phases = append(r.phases, fmt.Sprintf("%s=%dms", name, now.Sub(r.phaseStart).Milliseconds()))
	r.phaseStart = now
}

// workSet lists the users and groups this cycle must evaluate, and the ids
// deleted in the source.
func (r *runner) workSet(ctx context.Context) (users, groups []string, deleted map[string]bool, err error) {
	deleted = map[string]bool{}
	uset, gset := map[string]bool{}, map[string]bool{}
	if r.opts.User != "" {
		id, _, err := r.s.resolveObject(ctx, r.dir, TypeUser, r.opts.User)
		if err != nil {
			return nil, nil, nil, err
		}
		return []string{id}, nil, deleted, nil
	}
	addUser := func(id string) {
		_, inScope := r.scope.users[id]
		if inScope || r.index[id] != nil {
			uset[id] = true
		}
	}
	addGroup := func(id string) {
		_, inScope := r.scope.groups[id]
		if inScope || r.index[id] != nil {
			gset[id] = true
		}
	}
	if r.full() {
		for id := range r.scope.users {
			uset[id] = true
		}
		for id := range r.scope.groups {
			gset[id] = true
		}
	} else {
		after := r.state.Watermark
		for after < r.head {
			changes, err := r.s.Dir.Store.Changes(ctx, r.app.DirectoryID, after, 5000)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("reading the directory's changes: %w", err)
			}
			if len(changes) == 0 {
				break
			}
			for _, c := range changes {
				if c.Seq > r.head {
					break
				}
				if c.Deleted {
					deleted[c.ID] = true
				}
				if c.Type == directory.MemberUser {
					addUser(c.ID)
				} else {
					addGroup(c.ID)
				}
			}
			after = changes[len(changes)-1].Seq
		}
		// Scope changes that need no attribute change: newly assigned (or
		// added to an assigned group) and no longer assigned. An object in
		// scope but unlinked because it failed waits for its escrow retry.
		waiting := func(id string) bool {
			e, ok := r.escrowed[id]
			return ok && e.NextRetry.After(r.now)
		}
		for id := range r.scope.users {
			if l := r.index[id]; (l == nil || !l.Active) && !waiting(id) {
				uset[id] = true
			}
		}
		for id := range r.scope.groups {
			if l := r.index[id]; (l == nil || !l.Active) && !waiting(id) {
				gset[id] = true
			}
		}
		for id, e := range r.escrowed {
			if !e.NextRetry.After(r.now) {
				if e.ObjectType == TypeGroup {
					gset[id] = true
				} else {
					uset[id] = true
				}
			}
		}
		for id := range r.intents {
			if l := r.index[id]; l == nil {
				addUser(id)
				addGroup(id)
			}
		}
	}
	// Linked objects that left the scope.
	for id, l := range r.index {
		if !l.Active {
			continue
		}
		if l.ObjectType == TypeUser {
			if _, ok := r.scope.users[id]; !ok {
				uset[id] = true
			}
		} else if _, ok := r.scope.groups[id]; !ok {
			gset[id] = true
		}
	}
	return sortedKeys(uset), sortedKeys(gset), deleted, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// pageSize bounds the objects loaded and planned at once, which bounds the
// engine's memory on large directories.
const pageSize = 500

// objects imports, scopes, plans and executes the objects of one type.
// Disables and deletes are held back for the deletion threshold.
func (r *runner) objects(ctx context.Context, typ string, ids []string, deleted map[string]bool, suspicious bool) error {
	total := len(ids)
	r.prepareIndex(ctx, typ, ids)
	for start := 0; start < total; start += pageSize {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk := ids[start:min(start+pageSize, total)]
		items, err := r.plan(ctx, typ, chunk, deleted)
		if err != nil {
			return err
		}
		var now []*item
		for _, it := range items {
			if it.op.Counts() {
				if suspicious {
					it.entry.Action, it.entry.Status = ActionSkip, StatusSkipped
					it.entry.ErrorCode, it.entry.Reason, it.entry.Recommendation = CodeSuspiciousSource, "not deprovisioned: the source read looks suspiciously empty", recommendation(CodeSuspiciousSource)
					it.entry.step(StepAction, StatusSkipped, it.entry.Reason)
					r.done(it, nil, false)
					continue
				}
				r.mu.Lock()
				r.deferred = append(r.deferred, it)
				r.mu.Unlock()
				continue
			}
			now = append(now, it)
		}
		if err := r.execute(ctx, now); err != nil {
			return err
		}
		r.setProgress(fmt.Sprintf("%ss %d/%d", strings.ToLower(typ), min(start+pageSize, total), total))
	}
	return nil
}

// plan loads a page of objects and decides what to do with each.
func (r *runner) plan(ctx context.Context, typ string, ids []string, deleted map[string]bool) ([]*item, error) {
	links, err := r.s.Store.GetLinks(ctx, r.app.ID, ids)
	if err != nil {
		return nil, err
	}
	sources := map[string]Source{}
	if typ == TypeUser {
		us, err := r.s.Store.SourceUsers(ctx, r.app.DirectoryID, ids)
		if err != nil {
			return nil, fmt.Errorf("reading users from directory %s: %w", r.dir.Name, err)
		}
		for _, u := range us {
			sources[u.ID] = userSource(u)
		}
	} else {
		gs, err := r.s.Store.SourceGroups(ctx, r.app.DirectoryID, ids)
		if err != nil {
			return nil, fmt.Errorf("reading groups from directory %s: %w", r.dir.Name, err)
		}
		for _, g := range gs {
			sources[g.ID] = groupSource(g, r.scope.members[g.ID])
		}
	}
	co := r.comp.Object(typ)
	out := make([]*item, 0, len(ids))
	for _, id := range ids {
		it := &item{typ: typ, id: id}
		var link *Link
		if l, ok := links[id]; ok {
			link = &l
		}
		e := &LogEntry{ID: r.s.NewID(), AppID: r.app.ID, CycleID: r.cycle.ID, Time: r.now, ObjectType: typ, SourceID: id}
		it.entry = e
		in := PlanInput{Type: typ, SourceID: id, Link: link, Settings: r.app.Settings}
		src, found := sources[id]
		switch {
		case !found:
			in.Deleted = true
			if link != nil {
				in.Name = link.Display
			}
			how := "no longer exists in directory " + r.dir.Name
			if deleted[id] {
				how = "was deleted in directory " + r.dir.Name
			}
			e.step(StepImport, StatusSuccess, fmt.Sprintf("%s %s %s", strings.ToLower(typ), id, how))
		default:
			it.src = &src
			in.Name, in.Active = src.Name, src.Active
			if typ == TypeGroup {
				in.Active = true
			}
			e.step(StepImport, StatusSuccess, fmt.Sprintf("read %s %s (id %s) from directory %s", strings.ToLower(typ), src.Name, id, r.dir.Name))
			in.InScope, in.ScopeReason = r.inScope(typ, &src)
			status := StatusSuccess
			if !in.InScope {
				status = StatusSkipped
			}
			e.step(StepScope, status, scopeText(in.InScope, in.ScopeReason))
			if in.InScope {
				d, err := r.evaluate(ctx, co, &src, link)
				if err != nil {
					e.SourceName = src.Name
					if link != nil {
						e.TargetID = link.TargetID
					}
					e.Action = ActionSkip
					r.note(err) // a uniqueness query may meet a 401
					e.failure(err, StepAction)
					r.done(it, nil, false)
					continue
				}
				r.resolveRefs(it, co, d)
				in.Desired = d
			}
		}
		if link != nil && r.cycle.Kind == KindFull && in.Desired != nil {
			// Reconciliation: compare with the target as listed, not with
			// the shadow; a linked object missing from the listing was
			// deleted out of band and is matched or created again.
			if idx := r.indexFor(typ); idx != nil {
				if res, ok := idx.byID[link.TargetID]; ok {
					in.Current = ResourceValues(r.rt(typ), res, sortedPaths(in.Desired.By))
				} else {
					e.step(StepMatch, StatusWarning, fmt.Sprintf("%s: linked target object %s is not in the target any more (deleted out of band); matching again", CodeTargetGone, link.TargetID))
					in.Link, link = nil, nil
					it.gone = true
					// Evaluated as an existing object, it skipped what only a
					// create needs (SelectUniqueValue on create): again, as new.
					d, err := r.evaluate(ctx, co, it.src, nil)
					if err != nil {
						e.Action = ActionSkip
						r.note(err)
						e.failure(err, StepAction)
						r.done(it, nil, true)
						continue
					}
					r.resolveRefs(it, co, d)
					in.Desired = d
				}
			}
		}
		e.SourceName = in.Name
		it.name, it.in = in.Name, in
		it.op = Plan(in)
		if link != nil {
			e.TargetID = link.TargetID
		}
		out = append(out, it)
	}
	return out, nil
}

// evaluate runs the mappings of an object in scope with what the cycle adds
// to its attributes: the cycle's time for Now(), the app roles of its
// assignments, and SelectUniqueValue's check against the target.
func (r *runner) evaluate(ctx context.Context, co *CompiledObject, src *Source, link *Link) (*Desired, error) {
	if de, ok := src.Env.(*docEnv); ok {
		de.now = r.now
	}
	self := ""
	if link != nil {
		self = link.TargetID
	}
	var exact *bool
	if rs := r.resourceSchema(src.Type); rs != nil {
		if x, known := rs.CaseExact("roles.value"); known {
			exact = &x
		}
	}
	return co.EvaluateWith(src.Env, EvalOptions{Roles: r.scope.roles[src.ID], Unique: r.uniqueCheck(ctx, src.Type, src.ID, self), Linked: link != nil, RolesCaseExact: exact})
}

// uniqueCheck answers SelectUniqueValue for one object. A candidate is free
// when the target has no object with that value other than the object's
// own (when it is linked: its own value is not a clash), and no other
// object of this cycle claimed it first: objects are evaluated before any
// of them is created, so without the claim two new users could both pick
// jdoe. The query is the matching-style filter `attr eq "value"` through
// the cycle's client (paced, retried; read through in a dry run).
func (r *runner) uniqueCheck(ctx context.Context, typ, sourceID, selfTargetID string) Unique {
	return func(m *CompiledMapping, value string) (bool, error) {
		key := typ + "\x00" + strings.ToLower(m.Target) + "\x00" + value
		if !m.CaseExact() {
			key = strings.ToLower(key)
		}
		taken := func() bool {
			owner, ok := r.claims[key]
			return ok && owner != sourceID
		}
		r.mu.Lock()
		claimed := taken()
		r.mu.Unlock()
		if claimed {
			return false, nil
		}
		path := m.UniqueFilterPath()
		filters := r.si.UserFilters
		if typ == TypeGroup {
			filters = r.si.GroupFilters
		}
		if filters != nil && !containsFold(filters, path) {
			return false, fmt.Errorf("the target does not filter %ss on %s, so it cannot tell whether %q is taken", strings.ToLower(typ), path, value)
		}
		var found []target.Resource
		var err error
		if typ == TypeGroup {
			found, err = r.tgt.FindGroups(ctx, path, value)
		} else {
			found, err = r.tgt.FindUsers(ctx, path, value)
		}
		if err != nil {
			return false, err
		}
		for _, f := range found {
			if selfTargetID == "" || f.ID() != selfTargetID {
				return false, nil
			}
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if taken() {
			return false, nil
		}
		r.claims[key] = sourceID
		return true, nil
	}
}

// inScope evaluates assignment and scoping filters for a loaded object.
func (r *runner) inScope(typ string, src *Source) (bool, string) {
	var why string
	var ok bool
	if typ == TypeUser {
		why, ok = r.scope.users[src.ID]
		if !ok {
			return false, "not assigned to the application (directly or through an assigned group)"
		}
	} else {
		why, ok = r.scope.groups[src.ID]
		if !ok {
			return false, "not an assigned group"
		}
	}
	co := r.comp.Object(typ)
	if len(co.Scoping) == 0 {
		return true, why
	}
	in, err := co.Scoping.InScope(src.Env)
	if err != nil {
		return false, "scoping filters could not be evaluated: " + err.Error()
	}
	if !in {
		return false, "filtered out by the scoping filters: " + co.Scoping.Explain(src.Env)
	}
	return true, why + "; scoping filters: " + co.Scoping.Explain(src.Env)
}

func scopeText(in bool, reason string) string {
	if in {
		return "in scope: " + reason
	}
	return "out of scope: " + reason
}

// deprovision applies the deletion threshold to the held-back disables and
// deletes of the whole cycle, then sends or stages them.
func (r *runner) deprovision(ctx context.Context, activeLinks int) error {
	if len(r.deferred) == 0 {
		if !r.opts.DryRun && r.opts.User == "" {
			r.clearStaged(ctx)
		}
		return nil
	}
	n, pct := r.app.Settings.Thresholds()
	ops := make([]Op, len(r.deferred))
	for i, it := range r.deferred {
		ops[i] = it.op
	}
	approved := r.state.DeletesApproved || r.opts.User != ""
	_, staged := Threshold(ops, activeLinks, n, pct, approved)
	if len(staged) == 0 {
		if !r.opts.DryRun && r.opts.User == "" {
			r.clearStaged(ctx)
		}
		return r.execute(ctx, r.deferred)
	}
	reason := fmt.Sprintf("%d disables and deletes exceed the deletion threshold (%d objects or %d%% of %d provisioned objects); staged until gatehouse app approve-deletes %s",
		len(staged), n, pct, activeLinks, r.app.Name)
	for _, it := range r.deferred {
		e := it.entry
		e.Action, e.Status = ActionStagedDelete, StatusSkipped
		e.ErrorCode, e.Reason, e.Recommendation = CodeStaged, fmt.Sprintf("%s staged: %s", it.op.Kind, it.op.Reason), recommendation(CodeStaged)
		e.step(StepAction, StatusSkipped, reason)
		action := ActionDisable
		if it.op.Kind == OpDelete {
			action = ActionDelete
		}
		if !r.opts.DryRun {
			r.mu.Lock()
			r.pending.Staged = append(r.pending.Staged, Staged{ObjectType: it.typ, SourceID: it.id, TargetID: it.op.TargetID, Display: it.name,
				Action: action, Reason: it.op.Reason, CycleID: r.cycle.ID, Staged: r.now})
			r.mu.Unlock()
		}
		r.done(it, nil, false)
	}
	r.staged = len(staged)
	r.warnings = append(r.warnings, reason)
	return nil
}

// clearStaged drops staged deletes that this cycle no longer plans.
func (r *runner) clearStaged(ctx context.Context) {
	st, err := r.s.Store.Staged(ctx, r.app.ID)
	if err != nil || len(st) == 0 {
		return
	}
	r.mu.Lock()
	for _, x := range st {
		r.pending.ClearStaged = append(r.pending.ClearStaged, x.SourceID)
	}
	r.mu.Unlock()
}

// workers is how many objects are in flight at once; the target client
// bounds the requests themselves.
func (r *runner) workers() int {
	n := r.app.Settings.Concurrency
	if n <= 0 {
		n = target.DefaultConcurrency
	}
	return min(max(2*n, 4), 64)
}

// execute runs items with bounded concurrency. Creates and deletes are
// journaled first, in one transaction, so a crash mid-flight leaves a
// trace that makes the next cycle look before it creates again.
func (r *runner) execute(ctx context.Context, items []*item) error {
	if len(items) == 0 {
		return nil
	}
	if !r.opts.DryRun {
		var intents []Intent
		for _, it := range items {
			if it.op.Kind == OpCreate || it.op.Kind == OpDelete {
				it.intent = r.s.NewID()
				intents = append(intents, Intent{ID: it.intent, AppID: r.app.ID, CycleID: r.cycle.ID, ObjectType: it.typ, SourceID: it.id, Op: it.op.Kind, Created: r.now})
			}
		}
		if err := r.s.Store.AddIntents(ctx, intents); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	work := make(chan *item)
	var wg sync.WaitGroup
	for range min(r.workers(), len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				r.process(ctx, it)
			}
		}()
	}
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		work <- it
	}
	close(work)
	wg.Wait()
	if err := r.flush(ctx, false); err != nil {
		return err
	}
	if r.authErr != nil {
		return fmt.Errorf("the target rejects the credentials: %w", r.authErr)
	}
	return ctx.Err()
}

// flush commits pending results when enough accumulated (or always when
// force is set).
func (r *runner) flush(ctx context.Context, force bool) error {
	if r.opts.DryRun {
		return nil
	}
	r.mu.Lock()
	if !force && len(r.pending.Logs) < 200 && time.Since(r.lastFlush) < 500*time.Millisecond {
		r.mu.Unlock()
		return nil
	}
	b := r.pending
	r.pending = Batch{}
	r.lastFlush = time.Now()
	r.mu.Unlock()
	if err := r.s.Store.Apply(context.WithoutCancel(ctx), r.app.ID, &b); err != nil {
		r.mu.Lock()
		r.flushErr = err
		r.mu.Unlock()
		return fmt.Errorf("storing cycle results: %w", err)
	}
	return nil
}

// escrowLadder is the retry schedule of a failed object: minutes first,
// then hourly until a day has passed since the first failure; after that
// the object is retried when it changes, in full cycles, or on restart.
var escrowLadder = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}

var never = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func nextRetry(attempts int, first, now time.Time) time.Time {
	if now.Sub(first) >= 24*time.Hour {
		return never
	}
	step := time.Hour
	if attempts-1 < len(escrowLadder) {
		step = escrowLadder[attempts-1]
	}
	return now.Add(step)
}

// done records an item's outcome: the log entry, the link change, the
// escrow, the journal and the audit event, batched into the next commit.
func (r *runner) done(it *item, link *Link, unlink bool) {
	e := it.entry
	if e.Action == "" {
		e.Action = ActionOther
	}
	if e.Status == "" {
		e.Status = StatusSuccess
	}
	e.DurationMS = time.Since(e.Time).Milliseconds()
	quiet := e.Action == ActionOther && e.Status == StatusSkipped && r.opts.User == "" && !r.opts.DryRun ||
		e.Action == ActionSkip && e.Status == StatusSkipped && strings.HasPrefix(e.Reason, "not in scope: not assigned") && r.opts.User == "" && !r.opts.DryRun
	if link != nil {
		it.link = link
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cycle.Counts[e.Action+"/"+e.Status]++
	if e.Status == StatusFailure {
		r.failed++
	}
	if r.opts.OnEntry != nil && (!quiet || r.opts.DryRun) {
		r.opts.OnEntry(*e)
	}
	if r.opts.DryRun || r.opts.User != "" {
		r.entries = append(r.entries, *e)
	}
	if link != nil {
		r.index[link.SourceID] = &LinkRef{ObjectType: link.ObjectType, SourceID: link.SourceID, TargetID: link.TargetID, Active: link.Active}
	}
	if unlink {
		delete(r.index, it.id)
		delete(r.shadow, it.id)
	}
	if r.opts.DryRun {
		return
	}
	if !quiet {
		r.pending.Logs = append(r.pending.Logs, *e)
	}
	if link != nil {
		r.pending.Links = append(r.pending.Links, *link)
	}
	if unlink {
		r.pending.Unlink = append(r.pending.Unlink, it.id)
	}
	if it.intent != "" {
		r.pending.DoneIntents = append(r.pending.DoneIntents, it.intent)
	}
	prev, wasEscrowed := r.escrowed[it.id]
	switch {
	case e.Status == StatusFailure && e.ErrorCode != CodeStaged:
		esc := Escrow{ObjectType: it.typ, SourceID: it.id, Attempts: 1, FirstFailed: r.now, Code: e.ErrorCode, Error: e.Reason}
		if wasEscrowed {
			esc.Attempts, esc.FirstFailed = prev.Attempts+1, prev.FirstFailed
		}
		esc.NextRetry = nextRetry(esc.Attempts, esc.FirstFailed, r.now)
		r.pending.Escrow = append(r.pending.Escrow, esc)
		r.escrowed[it.id] = esc
		e.Reason = strings.TrimSpace(fmt.Sprintf("%s (attempt %d; %s)", e.Reason, esc.Attempts, retryText(esc.NextRetry)))
		if n := len(r.pending.Logs); n > 0 && r.pending.Logs[n-1].ID == e.ID {
			r.pending.Logs[n-1].Reason = e.Reason
		}
	case wasEscrowed && e.Status != StatusFailure:
		r.pending.ClearEscrow = append(r.pending.ClearEscrow, it.id)
		delete(r.escrowed, it.id)
	}
	if e.Status == StatusSuccess && (e.Action == ActionCreate || e.Action == ActionUpdate || e.Action == ActionDisable || e.Action == ActionDelete) {
		ev := r.event("ProvisionObject", map[string]any{"cycleId": r.cycle.ID, "changeId": e.ID, "objectType": it.typ, "sourceId": it.id,
			"targetId": e.TargetID, "action": e.Action})
		ev.ResourceID, ev.ResourceName = it.id, it.name
		r.pending.Events = append(r.pending.Events, ev)
	}
}

func retryText(t time.Time) string {
	if t.Equal(never) {
		return "no more automatic retries: retried when the object changes, in the next full cycle or on restart"
	}
	return "next retry after " + t.Format(time.RFC3339)
}

// event starts a system audit event about this application.
func (r *runner) event(name string, params map[string]any) *audit.Event {
	ev := systemEvent(r.app, name)
	if params != nil {
		ev.SetParameters(params)
	}
	return ev
}

// progressLoop saves the cycle's progress line every second.
func (r *runner) progressLoop(ctx context.Context) (stop func()) {
	if r.opts.DryRun {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				r.mu.Lock()
				c := r.cycle
				c.Counts = cloneCounts(r.cycle.Counts)
				r.mu.Unlock()
				c.Requests = r.requests()
				_ = r.s.Store.SaveCycle(ctx, c)
				_ = r.flush(ctx, false)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// requests is the number of HTTP requests this cycle sent to the target.
func (r *runner) requests() int {
	return int(r.tgt.Stats().Requests - r.startRequests)
}

func cloneCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (r *runner) setProgress(p string) {
	r.mu.Lock()
	r.cycle.Progress = p
	r.mu.Unlock()
}

// finish records the cycle's end, advances the watermark, evaluates
// quarantine and schedules the next run.
func (r *runner) finish(ctx context.Context, bodyErr error) (*Result, error) {
	ctx = context.WithoutCancel(ctx)
	s, a := r.s, r.app
	if err := r.flush(ctx, true); err != nil && bodyErr == nil {
		bodyErr = err
	}
	end := s.now()
	c := r.cycle
	c.Counts = cloneCounts(r.cycle.Counts)
	c.Ended = end
	c.Requests = r.requests()
	c.Progress = ""
	failures := 0
	for k, v := range c.Counts {
		if strings.HasSuffix(k, "/"+StatusFailure) {
			failures += v
		}
	}
	switch {
	case r.opts.DryRun:
		c.Status = CycleDryRun
	case bodyErr != nil:
		c.Status = CycleFailed
	case r.staged > 0:
		c.Status = CycleStaged
	case failures > 0:
		c.Status = CycleWarnings
	default:
		c.Status = CycleSucceeded
	}
	var notes []string
	if bodyErr != nil {
		notes = append(notes, bodyErr.Error())
	}
	notes = append(notes, r.warnings...)
	c.Error = strings.Join(notes, "; ")
	res := &Result{Cycle: c, Entries: r.entries, Staged: r.staged}
	if r.dry != nil {
		res.Writes = r.dry.Recorded()
	}
	if r.opts.DryRun {
		return res, nil
	}
	q, qEvent := r.quarantine(bodyErr, failures)
	var events []*audit.Event
	idle := len(c.Counts) == 0 && bodyErr == nil && r.staged == 0 && q == nil && (r.state.Quarantine == nil || qEvent != "ReleaseQuarantine") && c.Kind == KindIncremental
	var endEv *audit.Event
	if !idle {
		startEv := r.event("StartProvisioningCycle", map[string]any{"cycleId": c.ID, "kind": c.Kind, "trigger": c.Trigger})
		startEv.EventTime = c.Started.Truncate(time.Millisecond)
		events = append(events, startEv)
		endEv = r.event("EndProvisioningCycle", map[string]any{"cycleId": c.ID, "kind": c.Kind, "status": c.Status, "counts": c.Counts, "requests": c.Requests})
		if bodyErr != nil {
			endEv.ErrorCode, endEv.ErrorMessage = audit.ErrInternal, truncateText(bodyErr.Error(), 512)
		}
	}
	// Keep one record of a run of idle cycles: the previous one goes when
	// this one is idle too.
	if idle && r.state.LastCycleID != "" {
		if prev, err := s.Store.GetCycle(ctx, r.state.LastCycleID); err == nil && prev.Kind == KindIncremental && len(prev.Counts) == 0 &&
			prev.Status == CycleSucceeded && prev.Error == "" {
			_ = s.Store.DeleteCycle(ctx, prev.ID)
		}
	}
	var notify *Notification
	err := s.Store.EndCycle(ctx, c, func(st *State) error {
		if r.sourceOK && bodyErr == nil && r.opts.User == "" {
			st.Watermark = r.head
			// An app role change during the cycle asked for a full cycle
			// (requestRun resets the version): keep asking.
			if st.SchemaVersion == r.state.SchemaVersion {
				st.SchemaVersion = a.SchemaVersion
			}
			if r.full() {
				st.LastFull = r.now
			}
		}
		if r.opts.User == "" {
			st.LastCycleID = c.ID
			st.RunRequested = false
			if r.state.DeletesApproved {
				st.DeletesApproved = false
			}
		}
		interval := a.Interval
		switch {
		case q != nil:
			if st.Quarantine == nil || st.Quarantine.Reason != q.Reason {
				q.Since, q.SeriesSince = end, end
				if st.Quarantine != nil {
					q.SeriesSince = st.Quarantine.Began() // a new reason does not restart the clock
				}
				notify = &Notification{Kind: NotifyQuarantined, Application: a.Name, AppID: a.ID, Reason: q.Reason, Detail: q.Detail, Time: end}
			} else {
				q.Since, q.SeriesSince, q.Cycles = st.Quarantine.Since, st.Quarantine.Began(), st.Quarantine.Cycles+1
			}
			interval = stretch(a.Interval, q.Cycles)
			q.NextAttempt = end.Add(interval)
			st.Quarantine = q
		case st.Quarantine != nil && qEvent == "ReleaseQuarantine":
			notify = &Notification{Kind: NotifyReleased, Application: a.Name, AppID: a.ID, Reason: st.Quarantine.Reason, Detail: "a cycle succeeded", Time: end}
			st.Quarantine = nil
		case st.Quarantine != nil:
			interval = stretch(a.Interval, st.Quarantine.Cycles)
		}
		if r.opts.User == "" {
			st.NextRun = end.Add(interval)
		}
		return nil
	}, nil)
	if err != nil {
		return res, err
	}
	if endEv != nil {
		events = append(events, endEv)
	}
	if notify != nil {
		name := "QuarantineApplication"
		if notify.Kind == NotifyReleased {
			name = "ReleaseQuarantine"
		}
		events = append(events, r.event(name, map[string]any{"reason": notify.Reason, "detail": notify.Detail, "cycleId": c.ID}))
	}
	if r.staged > 0 {
		events = append(events, r.event("StageDeletes", map[string]any{"cycleId": c.ID, "staged": r.staged}))
		if notify == nil || notify.Kind != NotifyQuarantined {
			s.notify(ctx, Notification{Kind: NotifyStaged, Application: a.Name, AppID: a.ID, Reason: QuarantineTooMany, Detail: strings.Join(r.warnings, "; "), Time: end, Staged: r.staged})
		}
	}
	if len(events) > 0 {
		if err := s.Store.Apply(ctx, a.ID, &Batch{Events: events}); err != nil {
			s.Log.Error("provisioning: audit event", "err", err)
		}
	}
	if notify != nil {
		s.notify(ctx, *notify)
	}
	if q != nil && r.opts.User == "" && s.quarantineExpired(a, State{Quarantine: q}, end) {
		// Still failing after the whole grace period: stop trying.
		if _, err := s.disableQuarantined(ctx, a, end); err != nil {
			s.Log.Error("provisioning: disabling a long-quarantined application", "application", a.Name, "err", err)
		}
	}
	s.Log.Info("provisioning cycle finished", "application", a.Name, "cycle", c.ID, "kind", c.Kind, "status", c.Status,
		"counts", c.Counts, "requests", c.Requests, "took_ms", end.Sub(c.Started).Milliseconds(), "phases", strings.Join(r.phases, " "))
	res.Cycle = c
	if bodyErr != nil {
		return res, bodyErr
	}
	return res, nil
}

// Quarantine thresholds (documented in docs/provisioning.md): the target
// rejects the credentials (401/403), or cannot be reached at all, or at
// least quarantineMinWrites objects were attempted and more than half failed.
const quarantineMinWrites = 10

// quarantine decides whether this cycle puts the application in
// quarantine (returned) or lets it out ("ReleaseQuarantine").
func (r *runner) quarantine(bodyErr error, failures int) (*Quarantine, string) {
	if r.opts.User != "" {
		return nil, ""
	}
	if r.authErr != nil {
		return &Quarantine{Reason: QuarantineAuth, Detail: r.authErr.Error()}, "QuarantineApplication"
	}
	if bodyErr != nil {
		var te *target.Error
		if errors.As(bodyErr, &te) && te.Status == 0 && te.Code() != target.CodeCanceled {
			return &Quarantine{Reason: QuarantineUnreachble, Detail: te.Error()}, "QuarantineApplication"
		}
		return nil, ""
	}
	writes := r.attempted
	if writes >= quarantineMinWrites && failures*2 > writes {
		return &Quarantine{Reason: QuarantineFailures, Detail: fmt.Sprintf("%d of %d objects failed in cycle %s", failures, writes, r.cycle.ID)}, "QuarantineApplication"
	}
	return nil, "ReleaseQuarantine"
}

// stretch lengthens the interval of a quarantined application: doubling per
// quarantined cycle, at most once a day (Entra slows down to daily).
func stretch(interval time.Duration, cycles int) time.Duration {
	d := interval << min(cycles+1, 20)
	if d <= 0 || d > 24*time.Hour {
		d = 24 * time.Hour
	}
	return max(d, interval)
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// schemaInfo reads the target's /Schemas (through the cycle's client) and
// caches it per application for ten minutes.
func (s *Service) schemaInfo(ctx context.Context, a Application, t target.Operations) (*target.SchemaInfo, error) {
	key := a.ID + "|" + a.TargetURL + "|" + a.TargetProfile
	if v, ok := s.schemaCache.Load(key); ok {
		c := v.(cachedSchema)
		if time.Since(c.at) < 10*time.Minute {
			return c.info, nil
		}
	}
	info, err := t.Schemas(ctx)
	if err != nil {
		return nil, err
	}
	s.schemaCache.Store(key, cachedSchema{info: info, at: time.Now()})
	return info, nil
}

type cachedSchema struct {
	info *target.SchemaInfo
	at   time.Time
}

// ForgetSchema drops the cached target schema of an application.
func (s *Service) ForgetSchema(a Application) {
	s.schemaCache.Delete(a.ID + "|" + a.TargetURL + "|" + a.TargetProfile)
}

// notify sends a notification (best effort).
func (s *Service) notify(ctx context.Context, n Notification) {
	s.Log.Warn("provisioning: "+n.Kind, "application", n.Application, "reason", n.Reason, "detail", n.Detail)
	if s.Notify != nil {
		s.Notify(ctx, n)
	}
}
