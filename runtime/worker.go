package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Chain is a connector's transform chain (built by the transforms package).
type Chain interface {
	Apply(r *connect.Record) (*connect.Record, error)
}

// Options are the parts of a worker that are plugged in from outside the
// runtime (cmd/spur wires the transforms package here).
type Options struct {
	Registry *connect.Registry
	Logger   *slog.Logger
	// NewChain builds the transform chain of a connector config; nil means
	// connectors may not use transforms.
	NewChain func(reg *connect.Registry, raw map[string]string) (Chain, error)
	// TransformSpec returns the transform and predicate keys of a config, for validation.
	TransformSpec TransformSpecFunc
}

// Worker is one member of a Spur cluster: it joins the worker group, keeps
// the config, status and offsets topics, runs the connectors and tasks the
// leader assigns to it, and, while it is the leader, writes task configs.
type Worker struct {
	cfg      *WorkerConfig
	opts     Options
	reg      *connect.Registry
	log      *slog.Logger
	groupID  string
	workerID string // host:port of the advertised URL, as Kafka Connect reports it

	cl   *kgo.Client // admin and group requests
	adm  *kadm.Client
	prod *kgo.Client // internal topics and dead letter queues

	contact contact // round trips to the group coordinator, for Health

	configs  *configStore
	statuses *statusStore
	offsets  *offsetStore
	assignor *assignor

	configCh chan struct{}
	// unconfigured holds the connectors that have statuses but no config,
	// and since when (guarded by leaderMu).
	unconfigured map[string]time.Time
	// localRestarts carries RestartTaskLocal requests to the membership loop.
	localRestarts chan localRestart
	loopDone      chan struct{} // closed when the membership loop returned
	restartCh     chan struct{}

	// Owned by the membership loop.
	memberID string

	leaderMu sync.Mutex // serialises task-config writes of the leader

	mu         sync.Mutex
	leading    bool // this worker led the last completed rebalance
	running    map[Item]*instance
	assignment *Assignment
	restarts   []RestartRequest
	ready      bool
	lastItems  string
	clusterID  string
}

// instance is a running connector or task on this worker.
type instance struct {
	item   Item
	gen    int // task generation (tasks) the instance was started with
	config map[string]string
	cancel context.CancelFunc
	done   chan struct{}
	env    *taskEnv // nil for connectors and for tasks that failed to build
	state  State    // guarded by Worker.mu

	// statusMu is held while a task's status is chosen and written, so the
	// writes of a task starting, a target change and a failure land in the
	// order their states were decided: the last one is the current state.
	statusMu sync.Mutex
	started  bool // the task reported its first state (guarded by statusMu)
}

// NewWorker creates a worker; Run starts it.
func NewWorker(cfg *WorkerConfig, opts Options) (*Worker, error) {
	if opts.Registry == nil {
		return nil, errors.New("runtime: a plugin registry is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if len(cfg.Bootstrap) == 0 {
		return nil, errors.New("runtime: bootstrap.servers is empty (start the embedded broker first)")
	}
	w := &Worker{
		cfg: cfg, opts: opts, reg: opts.Registry,
		groupID:       cfg.String("group.id"),
		workerID:      trimScheme(cfg.AdvertisedURL),
		configs:       newConfigStore(),
		statuses:      newStatusStore(),
		offsets:       newOffsetStore(),
		assignor:      newAssignor(cfg.RebalanceDelay),
		configCh:      make(chan struct{}, 1),
		localRestarts: make(chan localRestart),
		loopDone:      make(chan struct{}),
		restartCh:     make(chan struct{}, 1),
		running:       map[Item]*instance{},
	}
	w.log = opts.Logger.With("worker", w.workerID)
	var err error
	if w.cl, err = kgo.NewClient(append(append([]kgo.Opt{}, cfg.ClientOpts...), kgo.ClientID("spur-worker"))...); err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	w.adm = kadm.NewClient(w.cl)
	if w.prod, err = kgo.NewClient(append(append([]kgo.Opt{}, cfg.ClientOpts...),
		kgo.ClientID("spur-worker-producer"), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0))...); err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	w.configs.changed = func(string) { signal(w.configCh) }
	w.configs.restarts = func(r RestartRequest) {
		w.mu.Lock()
		w.restarts = append(w.restarts, r)
		w.mu.Unlock()
		signal(w.restartCh)
	}
	return w, nil
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func trimScheme(u string) string {
	for _, p := range []string{"http://", "https://"} {
		if len(u) > len(p) && u[:len(p)] == p {
			return u[len(p):]
		}
	}
	return u
}

// WorkerID is host:port of the worker's advertised REST URL.
func (w *Worker) WorkerID() string { return w.workerID }

// Config returns the worker config.
func (w *Worker) Config() *WorkerConfig { return w.cfg }

// Registry returns the plugin registry.
func (w *Worker) Registry() *connect.Registry { return w.reg }

// Ready reports whether the worker has read its stores and joined the group.
func (w *Worker) Ready() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ready
}

// ClusterID is the Kafka cluster id.
func (w *Worker) ClusterID() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.clusterID
}

// Run starts the stores, joins the group and runs assigned work until ctx is
// done; then it stops its work gracefully and leaves the group.
func (w *Worker) Run(ctx context.Context) error {
	defer w.cl.Close()
	defer w.prod.Close()
	w.contact.responded() // the clock of Health starts now
	if err := w.startStores(ctx); err != nil {
		return err
	}
	loopCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := w.loop(loopCtx)
	w.mu.Lock()
	w.ready = false // nothing serves requests that need the loop any more
	w.mu.Unlock()
	close(w.loopDone)
	w.shutdown()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

func (w *Worker) startStores(ctx context.Context) error {
	if m, err := w.adm.Metadata(ctx); err == nil {
		w.mu.Lock()
		w.clusterID = m.Cluster
		w.mu.Unlock()
	} else {
		return fmt.Errorf("reach Kafka at %v: %w", w.cfg.Bootstrap, err)
	}
	c := w.cfg.Config
	topics := []struct {
		name  string
		parts int32
		rf    string
		exact bool
		apply func(*kgo.Record)
		set   func(*topicLog)
	}{
		{c.String("config.storage.topic"), 1, "config.storage.replication.factor", true, w.configs.apply, func(l *topicLog) { w.configs.log = l }},
		{c.String("status.storage.topic"), int32(c.Int("status.storage.partitions")), "status.storage.replication.factor", false, w.statuses.apply, func(l *topicLog) { w.statuses.log = l }},
		{c.String("offset.storage.topic"), int32(c.Int("offset.storage.partitions")), "offset.storage.replication.factor", false, w.offsets.apply, func(l *topicLog) { w.offsets.log = l }},
	}
	for _, t := range topics {
		if err := ensureTopic(ctx, w.adm, t.name, t.parts, int16(c.Int(t.rf)), t.exact); err != nil {
			return err
		}
		l, err := newTopicLog(t.name, w.cfg.ClientOpts, w.adm, w.prod, t.apply)
		if err != nil {
			return err
		}
		t.set(l)
		go l.run(ctx)
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for _, l := range []*topicLog{w.configs.log, w.statuses.log, w.offsets.log} {
		if err := l.readToEnd(rctx); err != nil {
			return err
		}
	}
	w.configs.goLive()
	w.log.Info("stores read", "connectors", len(w.configs.snapshot().Connectors))
	return nil
}

// loop is the membership loop: join, apply the assignment, heartbeat, and
// rejoin when the group or the configured work changes.
func (w *Worker) loop(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		a, err := w.joinAndSync(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.log.Warn("joining the worker group failed; retrying", "err", err, "backoff", backoff)
			if time.Since(w.contact.lastResponse()) > w.cfg.SessionTimeout {
				// No coordinator for a whole session: the group has moved
				// our work elsewhere by now.
				w.loseSession()
			}
			sleep(ctx, backoff)
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if a.Error != 0 {
			w.log.Info("config mismatch reported by leader; reading configs and rejoining")
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_ = w.configs.log.readToEnd(rctx)
			cancel()
			continue
		}
		events, stopHeartbeats := w.startHeartbeats(ctx, a.Generation, w.memberID)
		if revoked := w.apply(ctx, a); revoked {
			w.onHeartbeatEvent(stopHeartbeats())
			continue // stopped revoked work: rejoin at once so it can be placed
		}
		w.mu.Lock()
		w.ready = true
		w.mu.Unlock()
		if w.isLeader() {
			w.leaderDuties(ctx)
		}
		w.steady(ctx, a, events)
		// steady may have returned for another reason while an event
		// waited: a lost session must still stop the work.
		w.onHeartbeatEvent(stopHeartbeats())
		w.mu.Lock()
		w.leading = false // until the next rebalance completes
		w.mu.Unlock()
	}
	return ctx.Err()
}

// steady heartbeats and reacts to config changes and restart requests until
// a rebalance is needed.
func (w *Worker) steady(ctx context.Context, a *Assignment, heartbeats <-chan hbEvent) {
	var delay <-chan time.Time
	if a.DelayMs > 0 {
		delay = time.After(time.Duration(a.DelayMs)*time.Millisecond + 50*time.Millisecond)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-heartbeats:
			w.onHeartbeatEvent(&ev)
			return
		case <-delay:
			return
		case <-w.configCh:
			if w.onConfigChange(ctx) {
				return
			}
		case <-w.restartCh:
			w.processRestarts(ctx)
		case lr := <-w.localRestarts:
			lr.reply <- w.restartLocal(ctx, lr.item)
		}
	}
}

// onHeartbeatEvent acts on what the heartbeat goroutine reported, if
// anything: a lost session stops all work, since the coordinator has
// expelled this worker by now and the work may already run elsewhere
// (Kafka Connect's KAFKA-9184); a member the coordinator forgot rejoins as
// a new one.
func (w *Worker) onHeartbeatEvent(ev *hbEvent) {
	if ev == nil {
		return
	}
	if ev.lost {
		w.loseSession()
	}
	if ev.lost || ev.forget {
		w.memberID = ""
	}
}

func (w *Worker) loseSession() {
	w.mu.Lock()
	n := len(w.running)
	w.mu.Unlock()
	if n > 0 {
		w.log.Error("lost contact with the group coordinator; stopping all work")
		w.stopAll(StateUnassigned)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func (w *Worker) isLeader() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.leading
}

// LeaderURL returns the advertised URL of the current leader, or "".
func (w *Worker) LeaderURL() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.assignment == nil {
		return ""
	}
	return w.assignment.LeaderURL
}

// IsLeader reports whether this worker currently leads the cluster.
func (w *Worker) IsLeader() bool { return w.isLeader() }

// OwnerURL returns the URL of the worker running an item, per the last assignment.
func (w *Worker) OwnerURL(it Item) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.assignment == nil {
		return ""
	}
	return w.assignment.Owners[it.String()]
}

func (w *Worker) runningItems() []Item {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Item, 0, len(w.running))
	for it := range w.running {
		out = append(out, it)
	}
	sortItems(out)
	return out
}

// apply makes the running set match an assignment. It reports whether it
// had to stop work that was revoked (then the worker rejoins at once).
func (w *Worker) apply(ctx context.Context, a *Assignment) bool {
	if snap := w.configs.snapshot(); snap.Offset < a.ConfigOffset {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := w.configs.log.readToEnd(rctx); err != nil {
			w.log.Warn("could not catch up with the config topic", "err", err)
		}
		cancel()
	}
	snap := w.configs.snapshot()
	want := map[Item]bool{}
	for _, it := range a.Items {
		want[it] = true
	}
	w.mu.Lock()
	w.assignment = a
	w.leading = a.Leader == w.memberID && w.memberID != ""
	w.lastItems = itemsKey(configuredItems(snap))
	if snap.Offset > a.ConfigOffset {
		// The config topic moved on after the leader computed this
		// assignment, so work configured since (a new connector's tasks)
		// may be missing from it, and the signal of that write may already
		// be spent. Compare the next config check against nothing: it
		// rejoins, and the next assignment is made from the newer configs.
		w.lastItems = ""
		signal(w.configCh)
	}
	var stop []*instance
	for it, inst := range w.running {
		if !want[it] {
			stop = append(stop, inst)
			delete(w.running, it)
		}
	}
	w.mu.Unlock()
	w.stopInstances(stop, StateUnassigned)
	var start []Item
	w.mu.Lock()
	for _, it := range a.Items {
		if _, ok := w.running[it]; !ok {
			start = append(start, it)
		}
	}
	w.mu.Unlock()
	for _, it := range start {
		w.start(ctx, snap, it)
	}
	w.log.Info("assignment applied", "generation", a.Generation, "leader", a.LeaderURL, "items", len(a.Items), "started", len(start), "stopped", len(stop), "delay_ms", a.DelayMs)
	return len(stop) > 0
}

// onConfigChange restarts local work whose config changed, lets the leader
// write task configs, and reports whether the set of work changed (rejoin).
func (w *Worker) onConfigChange(ctx context.Context) bool {
	snap := w.configs.snapshot()
	if w.isLeader() {
		w.leaderDuties(ctx)
		snap = w.configs.snapshot()
	}
	var restart, stop []*instance
	w.mu.Lock()
	for it, inst := range w.running {
		c, ok := snap.Connectors[it.Connector]
		switch {
		case !ok:
			stop = append(stop, inst)
			delete(w.running, it)
		case it.IsConnector():
			if !sameConfig(inst.config, c.Config) || inst.state != connectorState(c.Target) {
				restart = append(restart, inst)
			}
		case it.Task >= len(c.Tasks) || c.Target == TargetStopped:
			stop = append(stop, inst)
			delete(w.running, it)
		case inst.gen != c.TaskGeneration:
			restart = append(restart, inst)
		case inst.env == nil: // failed to build: it stays FAILED until restarted
		default:
			inst.env.setTarget(c.Target)
			if st := taskState(c.Target); inst.state != st && inst.state != StateFailed {
				inst.state = st
				go w.reportTaskState(inst)
			}
		}
	}
	changed := itemsKey(configuredItems(snap)) != w.lastItems
	w.mu.Unlock()
	w.mu.Lock()
	for _, inst := range restart {
		delete(w.running, inst.item)
	}
	w.mu.Unlock()
	// Stopped together: each may take the whole shutdown timeout.
	w.stopInstances(append(stop, restart...), "")
	for _, inst := range restart {
		w.start(ctx, snap, inst.item)
	}
	return changed
}

func connectorState(t TargetState) State {
	switch t {
	case TargetPaused:
		return StatePaused
	case TargetStopped:
		return StateStopped
	}
	return StateRunning
}

func taskState(t TargetState) State {
	if t == TargetPaused {
		return StatePaused
	}
	return StateRunning
}

// leaderDuties writes task configs that are missing or stale.
func (w *Worker) leaderDuties(ctx context.Context) {
	w.leaderMu.Lock()
	defer w.leaderMu.Unlock()
	snap := w.configs.snapshot()
	for _, name := range snap.Names() {
		c := snap.Connectors[name]
		if c.Target == TargetStopped {
			if len(c.Tasks) > 0 {
				w.writeTasks(ctx, name, nil)
			}
			continue
		}
		tasks, err := w.generateTasks(c)
		if err != nil {
			w.log.Warn("cannot generate task configs", "connector", name, "err", err)
			continue
		}
		if !sameTasks(tasks, c.Tasks) || !sameConfig(c.AppliedConfig, c.Config) {
			w.writeTasks(ctx, name, tasks)
		}
	}
	w.sweepStatuses(ctx)
}

// sweepStatuses removes the statuses of connectors that are no longer
// configured, as Kafka Connect's leader does: the delete's own cleanup may
// never have run (the leader stopped within its delay, a write failed).
// The status names are read before a fresh config snapshot, and a name must
// have been missing for two session timeouts, so a connector created
// meanwhile (or re-created) never loses its statuses.
func (w *Worker) sweepStatuses(ctx context.Context) {
	names := w.statuses.connectorNames()
	snap := w.configs.snapshot()
	missing := map[string]time.Time{}
	for _, name := range names {
		if _, ok := snap.Connectors[name]; ok {
			continue
		}
		since, seen := w.unconfigured[name]
		if !seen {
			since = time.Now()
		}
		missing[name] = since
		if time.Since(since) < 2*w.cfg.SessionTimeout {
			continue
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := w.statuses.deleteConnector(dctx, name, 0); err != nil {
			w.log.Warn("deleting the statuses of a deleted connector", "connector", name, "err", err)
		}
		cancel()
	}
	w.unconfigured = missing
}

func (w *Worker) writeTasks(ctx context.Context, name string, tasks []map[string]string) {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := w.configs.putTasks(wctx, name, tasks); err != nil {
		w.log.Error("writing task configs", "connector", name, "err", err)
		return
	}
	w.log.Info("task configs written", "connector", name, "tasks", len(tasks))
}

// generateTasks asks the connector for its task configs.
func (w *Worker) generateTasks(c *ConnectorConfig) (tasks []map[string]string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("connector %s panicked generating task configs: %v", c.Name, p)
		}
	}()
	resolved, err := ResolveConfig(c.Config)
	if err != nil {
		return nil, err
	}
	v := validateConnector(w.reg, w.opts.TransformSpec, resolved)
	if len(v.Errors) > 0 {
		return nil, v.Errors
	}
	cfg, _ := v.Spec.Parse(resolved)
	tcs, err := v.Plugin.NewConnector().TaskConfigs(cfg, int(cfg.Int("tasks.max")))
	if err != nil {
		return nil, err
	}
	if len(tcs) > int(cfg.Int("tasks.max")) {
		return nil, fmt.Errorf("connector %s generated %d task configs, more than tasks.max=%d", c.Name, len(tcs), cfg.Int("tasks.max"))
	}
	for _, tc := range tcs {
		tc = maps.Clone(tc)
		tc["task.class"] = v.Plugin.Class
		if v.Plugin.Type == connect.PluginSink {
			for _, k := range []string{"topics", "topics.regex"} {
				if val, ok := c.Config[k]; ok {
					tc[k] = val
				}
			}
		}
		unresolve(tc, c.Config)
		tasks = append(tasks, tc)
	}
	return tasks, nil
}

// start starts one connector instance or task from the snapshot.
func (w *Worker) start(ctx context.Context, snap *Snapshot, it Item) {
	c, ok := snap.Connectors[it.Connector]
	if !ok {
		return
	}
	w.mu.Lock()
	_, running := w.running[it]
	w.mu.Unlock()
	if running {
		// Never two instances of one item: the second would be unreachable.
		w.log.Error("not starting work that already runs here", "item", it.String())
		return
	}
	if it.IsConnector() {
		w.startConnector(ctx, c)
		return
	}
	if it.Task >= len(c.Tasks) {
		return
	}
	w.startTask(ctx, c, it)
}

// startConnector runs a connector instance: it validates the config and
// reports the connector's state. (Task configs are generated by the leader.)
func (w *Worker) startConnector(ctx context.Context, c *ConnectorConfig) {
	it := Item{c.Name, -1}
	inst := &instance{item: it, config: c.Config, state: connectorState(c.Target), done: make(chan struct{})}
	close(inst.done)
	inst.cancel = func() {}
	var failure error
	resolved, err := ResolveConfig(c.Config)
	if err != nil {
		failure = err
	} else if v := validateConnector(w.reg, w.opts.TransformSpec, resolved); len(v.Errors) > 0 {
		failure = fmt.Errorf("connector configuration is invalid:\n%w", v.Errors)
	}
	if failure != nil {
		inst.state = StateFailed
	}
	w.mu.Lock()
	w.running[it] = inst
	w.mu.Unlock()
	w.reportConnector(c.Name, inst.state, failure)
}

// buildTask prepares everything a task needs from its config.
func (w *Worker) buildTask(c *ConnectorConfig, it Item) (*taskEnv, error) {
	raw := maps.Clone(c.Config)
	maps.Copy(raw, c.Tasks[it.Task])
	resolved, err := ResolveConfig(raw)
	if err != nil {
		return nil, err
	}
	v := validateConnector(w.reg, w.opts.TransformSpec, resolved)
	if len(v.Errors) > 0 {
		return nil, fmt.Errorf("task configuration is invalid:\n%w", v.Errors)
	}
	cfg, _ := v.Spec.Parse(resolved)
	env := &taskEnv{worker: w, item: it, cfg: cfg, plugin: v.Plugin, metrics: &taskMetrics{},
		log: w.log.With("connector", it.Connector, "task", it.Task)}
	env.setTarget(c.Target)
	if env.keyConv, err = w.converter(resolved, "key.converter", true); err != nil {
		return nil, err
	}
	if env.valueConv, err = w.converter(resolved, "value.converter", false); err != nil {
		return nil, err
	}
	if strings.TrimSpace(resolved["transforms"]) != "" {
		if w.opts.NewChain == nil {
			return nil, errors.New("transforms are configured but this build has no transforms")
		}
		if env.chain, err = w.opts.NewChain(w.reg, resolved); err != nil {
			return nil, fmt.Errorf("transforms: %w", err)
		}
	}
	env.errs = newErrorHandler(cfg, it.Connector, it.Task, w.prod, env.log)
	if dlq := cfg.String("errors.deadletterqueue.topic.name"); dlq != "" && v.Plugin.Type == connect.PluginSink {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := w.adm.CreateTopic(ctx, 1, int16(cfg.Int("errors.deadletterqueue.topic.replication.factor")), nil, dlq)
		cancel()
		if err == nil {
			err = res.Err
		}
		if err != nil && !isTopicExists(err) {
			return nil, fmt.Errorf("create dead letter queue topic %s: %w", dlq, err)
		}
	}
	return env, nil
}

// converter builds the connector's converter for a role, or the worker's.
func (w *Worker) converter(raw map[string]string, role string, isKey bool) (connect.Converter, error) {
	class, props := raw[role], connect.WithPrefix(raw, role+".")
	if class == "" {
		class, props = w.cfg.String(role), connect.WithPrefix(w.cfg.Raw(), role+".")
		if _, set := props["schemas.enable"]; !set {
			props["schemas.enable"] = "false" // Spur's worker default: plain JSON
		}
	}
	p, err := w.reg.LookupType(class, connect.PluginConverter)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", role, err)
	}
	cfg, errs := p.Spec.Parse(props)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", role, errs)
	}
	return p.NewConverter(cfg, isKey)
}

type taskRunner interface {
	run(ctx context.Context) error
	stop(ctx context.Context)
}

func (w *Worker) startTask(ctx context.Context, c *ConnectorConfig, it Item) {
	inst := &instance{item: it, gen: c.TaskGeneration, done: make(chan struct{}), state: taskState(c.Target)}
	env, err := w.buildTask(c, it)
	if err != nil {
		close(inst.done)
		inst.cancel = func() {}
		inst.state = StateFailed
		w.mu.Lock()
		w.running[it] = inst
		w.mu.Unlock()
		w.reportTask(it, StateFailed, err)
		return
	}
	inst.env = env
	env.inst = inst
	var r taskRunner
	if env.plugin.Type == connect.PluginSink {
		r = newSinkRunner(env, env.plugin.NewSinkTask())
	} else {
		r = newSourceRunner(env, env.plugin.NewSourceTask())
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	inst.cancel = cancel
	w.mu.Lock()
	w.running[it] = inst
	w.mu.Unlock()
	go func() {
		defer close(inst.done)
		err := safeRun(runCtx, r)
		stopCtx, stopCancel := context.WithTimeout(context.Background(), w.cfg.ShutdownTimeout)
		safeStop(stopCtx, r, env.log)
		stopCancel()
		if err != nil && runCtx.Err() == nil {
			env.log.Error("task failed", "err", err)
			w.mu.Lock()
			inst.state = StateFailed
			w.mu.Unlock()
			w.putTaskStatus(inst, StateFailed, err)
		}
	}()
}

func safeRun(ctx context.Context, r taskRunner) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("task panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return r.run(ctx)
}

func safeStop(ctx context.Context, r taskRunner, log *slog.Logger) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("task panicked while stopping", "panic", p)
		}
	}()
	r.stop(ctx)
}

// stopInstances stops instances in parallel, bounded by the shutdown
// timeout, and writes the given state (if any) for each.
func (w *Worker) stopInstances(insts []*instance, final State) {
	var wg sync.WaitGroup
	for _, inst := range insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst.cancel()
			select {
			case <-inst.done:
			case <-time.After(w.cfg.ShutdownTimeout + 2*time.Second):
				w.log.Error("task did not stop in time; abandoning it", "item", inst.item.String())
			}
			if final == "" {
				return
			}
			if inst.item.IsConnector() {
				w.reportConnector(inst.item.Connector, final, nil)
			} else {
				w.putTaskStatus(inst, final, nil)
			}
		}()
	}
	wg.Wait()
}

// stopAll stops everything this worker runs.
func (w *Worker) stopAll(final State) {
	w.mu.Lock()
	insts := make([]*instance, 0, len(w.running))
	for it, inst := range w.running {
		insts = append(insts, inst)
		delete(w.running, it)
	}
	w.mu.Unlock()
	w.stopInstances(insts, final)
}

// shutdown stops all work (flush, commit, UNASSIGNED) and leaves the group.
func (w *Worker) shutdown() {
	start := time.Now()
	w.stopAll(StateUnassigned)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.leave(ctx)
	for _, l := range []*topicLog{w.configs.log, w.statuses.log, w.offsets.log} {
		if l != nil {
			l.close()
		}
	}
	w.log.Info("worker stopped", "took", time.Since(start).Round(time.Millisecond))
}

func (w *Worker) generation() int32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.assignment == nil {
		return 0
	}
	return w.assignment.Generation
}

// taskStarted reports a task's first state, once it started: RUNNING, or
// PAUSED when its connector was paused meanwhile.
func (w *Worker) taskStarted(inst *instance) {
	inst.statusMu.Lock()
	inst.started = true
	inst.statusMu.Unlock()
	w.reportTaskState(inst)
}

// reportTaskState writes the state a running task is in now, after a target
// change. The state is read under statusMu, so of two racing writes the
// later one carries the later state. Before the task started, its start
// reports; after it failed or was replaced, the failure or final state stands.
func (w *Worker) reportTaskState(inst *instance) {
	inst.statusMu.Lock()
	defer inst.statusMu.Unlock()
	if !inst.started {
		return
	}
	w.mu.Lock()
	current, st := w.running[inst.item] == inst, inst.state
	w.mu.Unlock()
	if !current || st == StateFailed {
		return
	}
	w.reportTask(inst.item, st, nil)
}

// putTaskStatus writes a decided state (FAILED, RESTARTING, UNASSIGNED) for
// a task instance, ordered with its other status writes.
func (w *Worker) putTaskStatus(inst *instance, st State, err error) {
	inst.statusMu.Lock()
	defer inst.statusMu.Unlock()
	w.reportTask(inst.item, st, err)
}

func (w *Worker) reportTask(it Item, st State, err error) {
	s := Status{State: st, WorkerID: w.workerID, Generation: w.generation()}
	if err != nil {
		s.Trace = errorTrace(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if werr := w.statuses.putTask(ctx, it.Connector, it.Task, s); werr != nil {
		w.log.Warn("writing task status", "task", it.String(), "err", werr)
	}
}

func (w *Worker) reportConnector(name string, st State, err error) {
	s := Status{State: st, WorkerID: w.workerID, Generation: w.generation()}
	if err != nil {
		s.Trace = errorTrace(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if werr := w.statuses.putConnector(ctx, name, s); werr != nil {
		w.log.Warn("writing connector status", "connector", name, "err", werr)
	}
}

// failTaskAsync fails a running task instance from a callback. An
// instance that was replaced meanwhile (restarted, moved) is left alone:
// failing by item would fail its successor.
func (w *Worker) failTaskAsync(inst *instance, err error) {
	w.mu.Lock()
	current := w.running[inst.item] == inst
	if current {
		inst.state = StateFailed
	}
	w.mu.Unlock()
	if current {
		go func() {
			w.putTaskStatus(inst, StateFailed, err)
			inst.cancel()
		}()
	}
}

// processRestarts executes restart requests for the work this worker runs.
func (w *Worker) processRestarts(ctx context.Context) {
	w.mu.Lock()
	reqs := w.restarts
	w.restarts = nil
	w.mu.Unlock()
	snap := w.configs.snapshot()
	for _, req := range reqs {
		var todo []*instance
		w.mu.Lock()
		for it, inst := range w.running {
			if it.Connector != req.Connector {
				continue
			}
			if !it.IsConnector() && !req.IncludeTasks {
				continue
			}
			if req.OnlyFailed && inst.state != StateFailed {
				continue
			}
			todo = append(todo, inst)
			delete(w.running, it)
		}
		w.mu.Unlock()
		sort.Slice(todo, func(i, j int) bool { return todo[i].item.Task < todo[j].item.Task })
		for _, inst := range todo {
			if inst.item.IsConnector() {
				w.reportConnector(inst.item.Connector, StateRestarting, nil)
			} else {
				w.putTaskStatus(inst, StateRestarting, nil)
			}
		}
		w.stopInstances(todo, "")
		for _, inst := range todo {
			w.start(ctx, snap, inst.item)
		}
	}
}

// localRestart is a RestartTaskLocal request for the membership loop.
type localRestart struct {
	item  Item
	reply chan error
}

// RestartTaskLocal restarts a task (or connector) this worker runs, and
// returns once it was started again. The membership loop does it, between
// rebalances: only that goroutine changes the running set, so a rebalance
// cannot start the item a second time while it restarts.
//
// While the loop is rebalancing it cannot take the request: after a short
// wait this returns ErrNotOwner, which callers retry (the REST API answers
// 409 after its rebalance wait), and ErrNotReady once the worker stopped.
func (w *Worker) RestartTaskLocal(ctx context.Context, it Item) error {
	lr := localRestart{item: it, reply: make(chan error, 1)}
	handOff := time.NewTimer(2 * time.Second)
	defer handOff.Stop()
	select {
	case w.localRestarts <- lr:
	case <-handOff.C:
		return ErrNotOwner
	case <-w.loopDone:
		return ErrNotReady
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-lr.reply:
		return err
	case <-w.loopDone:
		return ErrNotReady
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Worker) restartLocal(ctx context.Context, it Item) error {
	w.mu.Lock()
	inst, ok := w.running[it]
	if ok {
		delete(w.running, it)
	}
	w.mu.Unlock()
	if !ok {
		return ErrNotOwner
	}
	w.stopInstances([]*instance{inst}, "")
	w.start(ctx, w.configs.snapshot(), it)
	return nil
}

// TaskMetrics returns the counters of the tasks running here.
func (w *Worker) TaskMetrics() map[Item]TaskMetrics {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[Item]TaskMetrics{}
	for it, inst := range w.running {
		if inst.env != nil && inst.env.metrics != nil {
			out[it] = inst.env.metrics.snapshot()
		}
	}
	return out
}
