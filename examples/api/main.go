// Command api is charthouse's example API: the `api` service of the compose
// topology (proxy -> api -> database, and a cache), small enough to read in
// one sitting and shaped like a production service:
//
//   - configuration from the environment the stack chart wires from Secrets:
//     DATABASE_URL (required, PostgreSQL) and REDIS_URL (optional, a cache);
//   - /health/live, /health/ready (the database and, when configured, the
//     cache answer) and /health/startup (the schema is in place): the probes
//     of a typical Deployment, and of the app chart's defaults;
//   - POST /items and GET /items/{id}: a row written and read back;
//     POST and GET /counters/{name}: a counter kept in the cache;
//   - graceful shutdown on SIGTERM: readiness reports "draining" and
//     connections are closed after their next answer for -drain-delay, so the
//     Service and the proxy stop sending traffic, then the listener closes and
//     in-flight requests finish (up to -shutdown-timeout);
//   - JSON logs on stdout (log/slog), one line per request, never a password;
//   - an unprivileged port (8080) and a non-root user (the image's USER);
//   - `api healthcheck`: the image's HEALTHCHECK, with no shell or curl in
//     the image.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// version is the example's release, reported by GET / and in the logs.
const version = "0.1.0"

type config struct {
	port            int
	databaseURL     string
	redisURL        string
	drainDelay      time.Duration
	shutdownTimeout time.Duration
	logLevel        slog.Level
}

func parseConfig(args []string, getenv func(string) string) (config, error) {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	var c config
	port, err := intEnv(getenv, "PORT", 8080)
	if err != nil {
		return c, err
	}
	// The drain outlasts the readiness probe noticing (the app chart's default: 2
	// failures 5s apart) plus the proxy's reload: some proxies keep routing to a
	// terminating pod until its readiness fails. Drain + timeout stay below the
	// pod's default termination grace period (30s).
	drain, err := durationEnv(getenv, "SHUTDOWN_DRAIN_DELAY", 15*time.Second)
	if err != nil {
		return c, err
	}
	timeout, err := durationEnv(getenv, "SHUTDOWN_TIMEOUT", 10*time.Second)
	if err != nil {
		return c, err
	}
	fs.IntVar(&c.port, "port", port, "TCP port to listen on (env PORT)")
	fs.DurationVar(&c.drainDelay, "drain-delay", drain,
		"after SIGTERM, how long readiness fails before the listener closes (env SHUTDOWN_DRAIN_DELAY)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", timeout,
		"how long in-flight requests get to finish after the listener closes (env SHUTDOWN_TIMEOUT)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.port < 1 || c.port > 65535 {
		return c, fmt.Errorf("-port: %d is not a TCP port", c.port)
	}
	if err := c.logLevel.UnmarshalText([]byte(orDefault(getenv("LOG_LEVEL"), "info"))); err != nil {
		return c, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	c.databaseURL = getenv("DATABASE_URL")
	c.redisURL = getenv("REDIS_URL")
	if c.databaseURL == "" {
		return c, errors.New("DATABASE_URL is not set (postgresql://user:password@host:5432/database)")
	}
	return c, nil
}

func orDefault(value, fallback string) string {
	if value == "" {
		return fallback
	}
	return value
}

func intEnv(getenv func(string) string, key string, fallback int) (int, error) {
	text := getenv(key)
	if text == "" {
		return fallback, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", key, text)
	}
	return n, nil
}

func durationEnv(getenv func(string) string, key string, fallback time.Duration) (time.Duration, error) {
	text := getenv(key)
	if text == "" {
		return fallback, nil
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a duration (e.g. 5s)", key, text)
	}
	return d, nil
}

// redactedHost names where a connection URL points without its credentials.
func redactedHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	return u.Host + u.Path
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := parseConfig(args, os.Getenv)
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.logLevel}))
	if err != nil {
		logger.Error("bad configuration", "error", err.Error())
		return 2
	}
	slog.SetDefault(logger)
	useSlogForRedis(logger)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	store, err := openStore(cfg.databaseURL)
	if err != nil {
		logger.Error("DATABASE_URL", "error", err.Error())
		return 2
	}
	defer store.Close()
	var counters *counterCache
	if cfg.redisURL != "" {
		counters, err = openCounters(cfg.redisURL)
		if err != nil {
			logger.Error("REDIS_URL", "error", err.Error())
			return 2
		}
		defer counters.Close()
	}
	logger.Info("starting", "version", version, "port", cfg.port,
		"database", redactedHost(cfg.databaseURL), "cache", cacheDescription(cfg.redisURL))

	app := newApp(store, counters, logger)
	server := &http.Server{
		Addr:              net.JoinHostPort("", strconv.Itoa(cfg.port)),
		Handler:           app.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	listener, err := net.Listen("tcp", server.Addr)
	if err != nil {
		logger.Error("listen", "error", err.Error())
		return 1
	}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	// The schema is created in the background, retried until the database
	// answers: the startup probe holds the other probes until it is there.
	go app.migrate(ctx)

	select {
	case err := <-served:
		logger.Error("server stopped", "error", err.Error())
		return 1
	case <-ctx.Done():
	}
	stop() // a second SIGTERM now kills the process, as without a handler
	logger.Info("SIGTERM: draining", "drain_delay", cfg.drainDelay.String())
	app.draining.Store(true)
	// Answers now say "Connection: close": clients and proxies reconnect, and reach
	// another pod, instead of reusing a connection this pod will close.
	server.SetKeepAlivesEnabled(false)
	time.Sleep(cfg.drainDelay)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		logger.Error("in-flight requests cut off", "error", err.Error())
		return 1
	}
	logger.Info("stopped", "requests_served", app.served.Load())
	return 0
}

func cacheDescription(redisURL string) string {
	if redisURL == "" {
		return "none (REDIS_URL not set)"
	}
	return redactedHost(redisURL)
}

// healthcheck is the image's HEALTHCHECK: GET /health/live on the local port.
func healthcheck(args []string) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	port, err := intEnv(os.Getenv, "PORT", 8080)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fs.IntVar(&port, "port", port, "port the API listens on (env PORT)")
	path := fs.String("path", "/health/live", "path to check")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, *path))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "%s answered %d\n", *path, resp.StatusCode)
		return 1
	}
	return 0
}
