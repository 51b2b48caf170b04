package api

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/runtime"
)

// ConnectorTaskID is Kafka Connect's ConnectorTaskId.
type ConnectorTaskID struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

// ConnectorInfo is Kafka Connect's ConnectorInfo.
type ConnectorInfo struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	Tasks  []ConnectorTaskID `json:"tasks"`
	Type   string            `json:"type"`
}

// TaskInfo is Kafka Connect's TaskInfo.
type TaskInfo struct {
	ID     ConnectorTaskID   `json:"id"`
	Config map[string]string `json:"config"`
}

// ServerInfo is the body of GET /.
type ServerInfo struct {
	Version        string `json:"version"`
	Commit         string `json:"commit"`
	KafkaClusterID string `json:"kafka_cluster_id"`
}

// WorkerStatus is the body of GET /health: Kafka Connect's status and
// message, plus Spur's view of the cluster.
type WorkerStatus struct {
	Status    string `json:"status"`
	Message   string `json:"message"`
	WorkerID  string `json:"worker_id"`
	Leader    bool   `json:"leader"`
	LeaderURL string `json:"leader_url"`
}

var commit = func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return "unknown"
}()

func (s *Server) serverInfo(c echo.Context) error {
	return c.JSON(http.StatusOK, ServerInfo{Version: runtime.Version, Commit: commit, KafkaClusterID: s.w.ClusterID()})
}

func (s *Server) health(c echo.Context) error {
	st := WorkerStatus{WorkerID: s.w.WorkerID(), Leader: s.w.IsLeader(), LeaderURL: s.w.LeaderURL()}
	if !s.w.Ready() {
		st.Status, st.Message = "starting", "Worker is still starting up. It is reading the internal topics and joining the worker group."
		return c.JSON(http.StatusServiceUnavailable, st)
	}
	if err := s.w.Health(); err != nil {
		st.Status, st.Message = "unhealthy", "Worker was unable to handle this request and may be unable to handle other requests. "+err.Error()
		return c.JSON(http.StatusInternalServerError, st)
	}
	st.Status, st.Message = "healthy", "Worker has completed startup and is ready to handle requests."
	return c.JSON(http.StatusOK, st)
}

// info builds a connector's ConnectorInfo from a snapshot.
func (s *Server) info(snap *runtime.Snapshot, name string) (*ConnectorInfo, bool) {
	cc, ok := snap.Connectors[name]
	if !ok {
		return nil, false
	}
	out := &ConnectorInfo{Name: name, Config: cc.Config, Tasks: make([]ConnectorTaskID, len(cc.Tasks)), Type: s.w.ConnectorType(name)}
	if out.Config == nil {
		out.Config = map[string]string{}
	}
	for i := range cc.Tasks {
		out.Tasks[i] = ConnectorTaskID{Connector: name, Task: i}
	}
	return out, true
}

func notFound(name string) error { return errorf(http.StatusNotFound, "Connector %s not found", name) }

func (s *Server) listConnectors(c echo.Context) error {
	snap := s.w.Snapshot()
	names := snap.Names()
	expands, present := c.QueryParams()["expand"]
	if !present {
		return c.JSON(http.StatusOK, names)
	}
	want := map[string]bool{}
	for _, e := range expands {
		for _, x := range strings.Split(e, ",") {
			want[strings.ToLower(strings.TrimSpace(x))] = true
		}
	}
	out := make(map[string]map[string]any, len(names))
	for _, n := range names {
		entry := map[string]any{}
		if want["status"] {
			st, err := s.w.Status(n)
			if err != nil {
				continue // no status yet: Kafka Connect leaves the connector out
			}
			entry["status"] = st
		}
		if want["info"] {
			inf, ok := s.info(snap, n)
			if !ok {
				continue
			}
			entry["info"] = inf
		}
		out[n] = entry
	}
	return c.JSON(http.StatusOK, out)
}

// createRequest is Kafka Connect's CreateConnectorRequest.
type createRequest struct {
	Name         *string         `json:"name"`
	Config       json.RawMessage `json:"config"`
	InitialState *string         `json:"initial_state"`
}

func (s *Server) createConnector(c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var req createRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	name := ""
	if req.Name != nil {
		name = strings.TrimSpace(*req.Name)
	}
	var obj map[string]any
	if len(req.Config) == 0 || string(req.Config) == "null" {
		return errorf(http.StatusBadRequest, "The request body must hold a 'config' object with the connector's configuration")
	}
	if err := decodeJSON(req.Config, &obj); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			ae.msg = strings.Replace(ae.msg, "the body", "config", 1)
		}
		return err
	}
	cfg, nulls, err := configMap(obj, "config")
	if err != nil {
		return err
	}
	var initial runtime.TargetState
	if req.InitialState != nil {
		switch strings.ToUpper(strings.TrimSpace(*req.InitialState)) {
		case "RUNNING":
			initial = runtime.TargetStarted
		case "PAUSED":
			initial = runtime.TargetPaused
		case "STOPPED":
			initial = runtime.TargetStopped
		default:
			return errorf(http.StatusBadRequest, "Invalid initial_state %q: expected RUNNING, PAUSED or STOPPED", *req.InitialState)
		}
	}
	if err := s.checkConfig(name, cfg, nulls); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.settle(ctx, func() error {
		_, err := s.w.PutConnector(ctx, name, cfg, initial, false)
		return err
	}); err != nil {
		return s.orForward(c, body, err)
	}
	inf, ok := s.info(s.w.Snapshot(), name)
	if !ok {
		inf = &ConnectorInfo{Name: name, Config: cfg, Tasks: []ConnectorTaskID{}, Type: s.w.ConnectorType(name)}
	}
	c.Response().Header().Set(echo.HeaderLocation, s.connectorURL(c, name))
	return c.JSON(http.StatusCreated, inf)
}

func (s *Server) connectorURL(c echo.Context, name string) string {
	return s.baseURL(c) + "/connectors/" + url.PathEscape(name)
}

// checkConfig applies Kafka Connect's rules on a submitted config: a name
// in the config must match the connector's, which is inserted otherwise;
// null values are validation errors, listed with every other error.
func (s *Server) checkConfig(name string, cfg map[string]string, nulls []string) error {
	if inc, ok := cfg["name"]; ok && inc != name {
		return errorf(http.StatusBadRequest, "Connector name configuration (%s) doesn't match connector name in the URL (%s)", inc, name)
	}
	cfg["name"] = name
	nulls = without(nulls, "name")
	if len(nulls) == 0 {
		return nil
	}
	v := s.w.Validate(cfg)
	errs := append(connect.ConfigErrors{}, v.Errors...)
	for _, k := range nulls {
		errs = append(errs, connect.KeyError{Key: k, Message: "Null value can not be supplied as the configuration value."})
	}
	return &runtime.InvalidConfigError{Plugin: cfg["connector.class"], Errors: errs}
}

func without(xs []string, x string) []string {
	out := xs[:0:0]
	for _, y := range xs {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}

func (s *Server) getConnector(c echo.Context) error {
	name := nameParam(c)
	inf, ok := s.info(s.w.Snapshot(), name)
	if !ok {
		return notFound(name)
	}
	return c.JSON(http.StatusOK, inf)
}

func (s *Server) deleteConnector(c echo.Context) error {
	ctx := c.Request().Context()
	if err := s.settle(ctx, func() error { return s.w.DeleteConnector(ctx, nameParam(c)) }); err != nil {
		return s.orForward(c, nil, err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) getConfig(c echo.Context) error {
	name := nameParam(c)
	cc, ok := s.w.Snapshot().Connectors[name]
	if !ok {
		return notFound(name)
	}
	return c.JSON(http.StatusOK, cc.Config)
}

func (s *Server) putConfig(c echo.Context) error {
	name := nameParam(c)
	body, err := readBody(c)
	if err != nil {
		return err
	}
	cfg, nulls, err := decodeConfig(body)
	if err != nil {
		return err
	}
	if err := s.checkConfig(name, cfg, nulls); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var created bool
	if err := s.settle(ctx, func() (err error) {
		created, err = s.w.PutConnector(ctx, name, cfg, "", true)
		return err
	}); err != nil {
		return s.orForward(c, body, err)
	}
	inf, ok := s.info(s.w.Snapshot(), name)
	if !ok {
		inf = &ConnectorInfo{Name: name, Config: cfg, Tasks: []ConnectorTaskID{}, Type: s.w.ConnectorType(name)}
	}
	if created {
		c.Response().Header().Set(echo.HeaderLocation, s.connectorURL(c, name))
		return c.JSON(http.StatusCreated, inf)
	}
	return c.JSON(http.StatusOK, inf)
}

// patchConfig applies a partial config on the leader (a null value removes
// the key), as Kafka Connect's KIP-477: the leader reads the current config.
func (s *Server) patchConfig(c echo.Context) error {
	name := nameParam(c)
	body, err := readBody(c)
	if err != nil {
		return err
	}
	patch, nulls, err := decodeConfig(body)
	if err != nil {
		return err
	}
	if inc, ok := patch["name"]; ok && inc != name {
		return errorf(http.StatusBadRequest, "Connector name configuration (%s) doesn't match connector name in the URL (%s)", inc, name)
	}
	ctx := c.Request().Context()
	var cfg map[string]string
	if err := s.settle(ctx, func() error {
		if !s.w.Ready() {
			return runtime.ErrNotReady
		}
		if !s.w.IsLeader() {
			return &runtime.NotLeaderError{LeaderURL: s.w.LeaderURL()}
		}
		cur, ok := s.w.Snapshot().Connectors[name]
		if !ok {
			return notFound(name)
		}
		cfg = maps.Clone(cur.Config)
		maps.Copy(cfg, patch)
		for _, k := range nulls {
			delete(cfg, k)
		}
		cfg["name"] = name
		_, err := s.w.PutConnector(ctx, name, cfg, "", true)
		return err
	}); err != nil {
		return s.orForward(c, body, err)
	}
	inf, ok := s.info(s.w.Snapshot(), name)
	if !ok {
		inf = &ConnectorInfo{Name: name, Config: cfg, Tasks: []ConnectorTaskID{}, Type: s.w.ConnectorType(name)}
	}
	return c.JSON(http.StatusOK, inf)
}

func (s *Server) connectorStatus(c echo.Context) error {
	st, err := s.w.Status(nameParam(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) taskConfigs(c echo.Context) error {
	name := nameParam(c)
	cc, ok := s.w.Snapshot().Connectors[name]
	if !ok {
		return notFound(name)
	}
	out := make([]TaskInfo, len(cc.Tasks))
	for i, t := range cc.Tasks {
		out[i] = TaskInfo{ID: ConnectorTaskID{Connector: name, Task: i}, Config: t}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) tasksConfig(c echo.Context) error {
	name := nameParam(c)
	cc, ok := s.w.Snapshot().Connectors[name]
	if !ok {
		return notFound(name)
	}
	out := make(map[string]map[string]string, len(cc.Tasks))
	for i, t := range cc.Tasks {
		out[name+"-"+strconv.Itoa(i)] = t
	}
	return c.JSON(http.StatusOK, out)
}

// taskParam parses the task number; one that does not parse is a 404, as
// JAX-RS's failed path-parameter conversion is.
func taskParam(c echo.Context) (int, error) {
	n, err := strconv.Atoi(c.Param("task"))
	if err != nil || n < 0 {
		return 0, echo.ErrNotFound
	}
	return n, nil
}

func (s *Server) taskStatus(c echo.Context) error {
	n, err := taskParam(c)
	if err != nil {
		return err
	}
	st, err := s.w.TaskStatusOf(nameParam(c), n)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) restartTask(c echo.Context) error {
	n, err := taskParam(c)
	if err != nil {
		return err
	}
	name := nameParam(c)
	cc, ok := s.w.Snapshot().Connectors[name]
	if !ok {
		return errorf(http.StatusNotFound, "Unknown connector: %s", name)
	}
	if n >= len(cc.Tasks) {
		return errorf(http.StatusNotFound, "Unknown task: %s-%d", name, n)
	}
	return s.restartLocalOrOwner(c, runtime.Item{Connector: name, Task: n})
}

// restartLocalOrOwner restarts an instance synchronously on the worker that
// runs it: here, or forwarded to its owner.
func (s *Server) restartLocalOrOwner(c echo.Context, it runtime.Item) error {
	if !s.w.Ready() {
		return runtime.ErrNotReady
	}
	ctx := c.Request().Context()
	deadline := time.Now().Add(rebalanceWait)
	self := strings.TrimRight(s.w.Config().AdvertisedURL, "/")
	for {
		err := s.w.RestartTaskLocal(ctx, it)
		if err == nil {
			return c.NoContent(http.StatusNoContent)
		}
		if !errors.Is(err, runtime.ErrNotOwner) {
			return err
		}
		owner := strings.TrimRight(s.w.OwnerURL(it), "/")
		if owner != "" && owner != self {
			return s.forward(c, owner, nil)
		}
		// Not placed yet, or placed here but not started yet: a rebalance.
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errorf(http.StatusConflict, msgConflict)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (s *Server) restartConnector(c echo.Context) error {
	name := nameParam(c)
	includeTasks, onlyFailed := boolParam(c, "includeTasks"), boolParam(c, "onlyFailed")
	if _, ok := s.w.Snapshot().Connectors[name]; !ok {
		return errorf(http.StatusNotFound, "Unknown connector: %s", name)
	}
	if !includeTasks && !onlyFailed {
		return s.restartLocalOrOwner(c, runtime.Item{Connector: name, Task: -1})
	}
	ctx := c.Request().Context()
	req := runtime.RestartRequest{Connector: name, IncludeTasks: includeTasks, OnlyFailed: onlyFailed}
	// The plan is the status as it was when the request was written: the
	// workers act on the request asynchronously and soon write RESTARTING.
	var st *runtime.ConnectorStatus
	var stErr error
	if err := s.settle(ctx, func() error {
		st, stErr = s.w.Status(name)
		return s.w.RequestRestart(ctx, req)
	}); err != nil {
		return s.orForward(c, nil, err)
	}
	if stErr != nil {
		return errorf(http.StatusNotFound, "Status for connector %s not found", name)
	}
	return c.JSON(http.StatusAccepted, restartPlan(st, includeTasks, onlyFailed))
}

// restartPlan marks what the restart request restarts as RESTARTING, by
// Kafka Connect's rules (KIP-745): the connector if !onlyFailed or it
// failed; a task if includeTasks and (!onlyFailed or it failed). Traces stay.
func restartPlan(st *runtime.ConnectorStatus, includeTasks, onlyFailed bool) *runtime.ConnectorStatus {
	plan := *st
	plan.Tasks = append([]runtime.TaskStatus(nil), st.Tasks...)
	if !onlyFailed || st.Connector.State == runtime.StateFailed {
		plan.Connector.State = runtime.StateRestarting
	}
	if includeTasks {
		for i, t := range plan.Tasks {
			if !onlyFailed || t.State == runtime.StateFailed {
				plan.Tasks[i].State = runtime.StateRestarting
			}
		}
	}
	return &plan
}

func (s *Server) setTarget(c echo.Context, t runtime.TargetState, status int) error {
	ctx := c.Request().Context()
	if err := s.settle(ctx, func() error { return s.w.SetTarget(ctx, nameParam(c), t) }); err != nil {
		return s.orForward(c, nil, err)
	}
	return c.NoContent(status)
}

func (s *Server) pause(c echo.Context) error {
	return s.setTarget(c, runtime.TargetPaused, http.StatusAccepted)
}

func (s *Server) resume(c echo.Context) error {
	return s.setTarget(c, runtime.TargetStarted, http.StatusAccepted)
}

func (s *Server) stop(c echo.Context) error {
	return s.setTarget(c, runtime.TargetStopped, http.StatusNoContent)
}

// ConnectorOffsets is Kafka Connect's ConnectorOffsets.
type ConnectorOffsets struct {
	Offsets []runtime.OffsetEntry `json:"offsets"`
}

// Message is Kafka Connect's Message body.
type Message struct {
	Message string `json:"message"`
}

func (s *Server) getOffsets(c echo.Context) error {
	offs, err := s.w.ConnectorOffsets(c.Request().Context(), nameParam(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ConnectorOffsets{Offsets: offs})
}

func (s *Server) alterOffsets(c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var req struct {
		Offsets []runtime.OffsetEntry `json:"offsets"`
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := decodeJSON(body, &req); err != nil {
			return err
		}
	}
	if len(req.Offsets) == 0 {
		return errorf(http.StatusBadRequest, "Partitions / offsets need to be provided for an alter offsets request")
	}
	ctx := c.Request().Context()
	var msg string
	if err := s.settle(ctx, func() (err error) {
		msg, err = s.w.AlterOffsets(ctx, nameParam(c), req.Offsets)
		return err
	}); err != nil {
		return s.orForward(c, body, err)
	}
	return c.JSON(http.StatusOK, Message{Message: msg})
}

func (s *Server) resetOffsets(c echo.Context) error {
	ctx := c.Request().Context()
	var msg string
	if err := s.settle(ctx, func() (err error) {
		msg, err = s.w.ResetOffsets(ctx, nameParam(c))
		return err
	}); err != nil {
		return s.orForward(c, nil, err)
	}
	return c.JSON(http.StatusOK, Message{Message: msg})
}

// ActiveTopics is the value of GET /connectors/{name}/topics.
type ActiveTopics struct {
	Topics []string `json:"topics"`
}

// topics lists the topics the connector's tasks have used (Kafka Connect's
// topic tracking, kept in the status topic). An unknown connector gives []
// as in Kafka Connect; 403 when topic.tracking.enable=false.
func (s *Server) topics(c echo.Context) error {
	name := nameParam(c)
	topics, err := s.w.ActiveTopics(name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]ActiveTopics{name: {Topics: topics}})
}

// resetTopics forgets the connector's active topics; tasks that keep using
// a topic record it again.
func (s *Server) resetTopics(c echo.Context) error {
	if err := s.w.ResetTopics(c.Request().Context(), nameParam(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusAccepted)
}
