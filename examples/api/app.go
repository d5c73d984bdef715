package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// checkTimeout bounds each dependency check of /health/ready, well inside the
// app chart's readiness timeout (3s), so a dead database makes the probe fail
// rather than time out.
const checkTimeout = 1500 * time.Millisecond

// maxBody bounds a request body (the largest valid one is a few hundred bytes).
const maxBody = 64 << 10

var counterName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

type app struct {
	store    *itemStore
	counters *counterCache // nil without REDIS_URL
	logger   *slog.Logger
	started  atomic.Bool // the schema is in place
	draining atomic.Bool // SIGTERM received
	served   atomic.Int64
}

func newApp(store *itemStore, counters *counterCache, logger *slog.Logger) *app {
	return &app{store: store, counters: counters, logger: logger}
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health/live", a.live)
	mux.HandleFunc("GET /health/ready", a.ready)
	mux.HandleFunc("GET /health/startup", a.startup)
	mux.HandleFunc("GET /{$}", a.index)
	mux.HandleFunc("POST /items", a.createItem)
	mux.HandleFunc("GET /items/{id}", a.getItem)
	mux.HandleFunc("POST /counters/{name}", a.incrementCounter)
	mux.HandleFunc("GET /counters/{name}", a.getCounter)
	return a.logged(mux)
}

// migrate creates the schema, retrying until the database answers or the
// process is told to stop; /health/startup answers 200 from then on.
func (a *app) migrate(ctx context.Context) {
	for attempt := 1; ; attempt++ {
		err := a.store.migrate(ctx)
		if err == nil {
			a.started.Store(true)
			a.logger.Info("schema ready", "attempts", attempt)
			return
		}
		a.logger.Warn("schema not created yet; retrying", "attempt", attempt, "error", err.Error())
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

// live: the process serves HTTP. It checks no dependency: a database outage
// must take the pod out of the Service (readiness), not restart it.
func (a *app) live(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// startup: the schema is in place (until then the other probes are held).
func (a *app) startup(w http.ResponseWriter, _ *http.Request) {
	if !a.started.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// ready: this pod can serve a request now: not shutting down, the schema in
// place, the database (and the cache, when configured) answering.
func (a *app) ready(w http.ResponseWriter, r *http.Request) {
	// The answer says which check failed; why (hosts, users, errors) goes to
	// the log only: the path is reachable through the ingress.
	checks := map[string]string{}
	causes := map[string]string{}
	fail := func(name, answer, cause string) {
		checks[name] = answer
		causes[name] = cause
	}
	if a.draining.Load() {
		fail("shutdown", "draining", "SIGTERM received")
	}
	if !a.started.Load() {
		fail("schema", "not created yet", "the schema has not been created yet")
	}
	ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
	defer cancel()
	if err := a.store.ping(ctx); err != nil {
		fail("database", "unavailable", err.Error())
	} else {
		checks["database"] = "ok"
	}
	if a.counters != nil {
		if err := a.counters.ping(ctx); err != nil {
			fail("cache", "unavailable", err.Error())
		} else {
			checks["cache"] = "ok"
		}
	}
	status, code := "ok", http.StatusOK
	if len(causes) > 0 {
		status, code = "unavailable", http.StatusServiceUnavailable
		a.logger.Warn("not ready", "causes", causes)
	}
	writeJSON(w, code, map[string]any{"status": status, "checks": checks})
}

func (a *app) index(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"service": "charthouse-example-api",
		"version": version,
		"cache":   a.counters != nil,
	})
}

type newItem struct {
	Name string `json:"name"`
}

func (a *app) createItem(w http.ResponseWriter, r *http.Request) {
	var body newItem
	decoder := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("body: expected {\"name\": \"...\"}: %v", err))
		return
	}
	name := strings.TrimSpace(body.Name)
	if name == "" || len(name) > 200 {
		writeError(w, http.StatusBadRequest, "name: 1 to 200 characters")
		return
	}
	created, err := a.store.insert(r.Context(), name)
	if err != nil {
		a.unavailable(w, "database", err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/items/%d", created.ID))
	writeJSON(w, http.StatusCreated, created)
}

func (a *app) getItem(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "id: a positive integer")
		return
	}
	found, err := a.store.get(r.Context(), id)
	if errors.Is(err, errNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no item %d", id))
		return
	}
	if err != nil {
		a.unavailable(w, "database", err)
		return
	}
	writeJSON(w, http.StatusOK, found)
}

func (a *app) counter(w http.ResponseWriter, r *http.Request) (string, bool) {
	if a.counters == nil {
		writeError(w, http.StatusServiceUnavailable, "no cache configured (REDIS_URL is not set)")
		return "", false
	}
	name := r.PathValue("name")
	if !counterName.MatchString(name) {
		writeError(w, http.StatusBadRequest, "name: lower-case letters, digits, '_', '.', '-' (1 to 63)")
		return "", false
	}
	return name, true
}

func (a *app) incrementCounter(w http.ResponseWriter, r *http.Request) {
	name, ok := a.counter(w, r)
	if !ok {
		return
	}
	value, err := a.counters.increment(r.Context(), name)
	if err != nil {
		a.unavailable(w, "cache", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "value": value})
}

func (a *app) getCounter(w http.ResponseWriter, r *http.Request) {
	name, ok := a.counter(w, r)
	if !ok {
		return
	}
	value, err := a.counters.get(r.Context(), name)
	if err != nil {
		a.unavailable(w, "cache", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "value": value})
}

// unavailable answers 503 naming the dependency; the cause goes to the log
// only (it may name hosts and users).
func (a *app) unavailable(w http.ResponseWriter, dependency string, err error) {
	a.logger.Error(dependency+" unavailable", "error", err.Error())
	writeError(w, http.StatusServiceUnavailable, dependency+" unavailable")
}

func writeError(w http.ResponseWriter, code int, message string) {
	writeJSON(w, code, map[string]string{"error": message})
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// statusRecorder remembers the status code a handler wrote, for the log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// logged writes one JSON line per request; probes at debug level only, so a
// pod's log is not a wall of health checks (a failing readiness check logs
// its reasons itself).
func (a *app) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		recorder := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(recorder, r)
		a.served.Add(1)
		level := slog.LevelInfo
		if strings.HasPrefix(r.URL.Path, "/health/") {
			level = slog.LevelDebug
		}
		a.logger.Log(r.Context(), level, "request",
			"method", r.Method,
			"path", r.URL.Path,
			"status", recorder.status,
			"bytes", recorder.bytes,
			"duration_ms", float64(time.Since(began).Microseconds())/1000,
			"remote", r.RemoteAddr,
			"host", r.Host,
		)
	})
}
