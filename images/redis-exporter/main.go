// Command redis_exporter is a STAND-IN for oliver006/redis_exporter v1.74.0,
// written for charthouse because the upstream module
// (github.com/oliver006/redis_exporter) is not served by the Go module proxy on
// our build machines.
//
// It keeps the part of the upstream image's contract that the cache chart's
// metrics sidecar and its users rely on:
//
//   - flags (single or double dash, as Go's flag package parses them) with the
//     environment variables upstream reads: --redis.addr (REDIS_ADDR, default
//     redis://localhost:6379; also host:port and unix:///path),
//     --redis.user (REDIS_USER), --redis.password (REDIS_PASSWORD),
//     --redis.password-file (REDIS_PASSWORD_FILE: a JSON map of address to
//     password, used when no password is given), --namespace,
//     --web.listen-address (default :9121), --web.telemetry-path (default
//     /metrics), --include-system-metrics, --redis-only-metrics,
//     --connection-timeout, --set-client-name, --basic-auth-username and
//     --basic-auth-password, --log-format, --debug, --version;
//   - the rest of upstream's flags are accepted: those that only add metrics
//     are reported as not implemented and ignored; those that would change how
//     the exporter is secured (TLS) make it refuse to start, rather than
//     serve less securely than asked;
//   - GET /health answers "ok", GET / a landing page, the telemetry path
//     Prometheus text format, scraping the server once per request;
//   - metrics under upstream's names: redis_up, redis_exporter_last_scrape_error
//     (with its err label), redis_exporter_last_scrape_duration_seconds,
//     redis_exporter_scrapes_total, redis_exporter_build_info,
//     redis_instance_info, redis_db_keys, redis_db_keys_expiring and
//     redis_db_avg_ttl_seconds by db, and the common INFO fields
//     (redis_connected_clients, redis_memory_used_bytes,
//     redis_commands_processed_total, ...); redis_total_system_memory_bytes
//     only with --include-system-metrics;
//   - one static binary on an empty image, user 59000:59000, port 9121.
//
// Not implemented: /scrape (multi-target), key and stream checks, Lua
// scripts, client lists, latency, slowlog, cluster, sentinel and module
// metrics, and TLS.
package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// version is the upstream release whose contract this stand-in keeps.
var version = "v1.74.0"

func main() {
	opts, err := parseArgs(os.Args[1:], os.LookupEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "redis_exporter: %v\n", err)
		os.Exit(2)
	}
	if opts.version {
		fmt.Printf("redis_exporter %s (charthouse stand-in)\n", version)
		return
	}
	logger := newLogger(opts)
	for _, name := range opts.notImplemented {
		logger.Warn("flag not implemented by this stand-in; ignored", "flag", name)
	}
	passwords, err := loadPasswordFile(opts.passwordFile, opts.password)
	if err != nil {
		logger.Error("reading the password file", "file", opts.passwordFile, "err", err)
		os.Exit(1)
	}

	registry := prometheus.NewRegistry()
	if !opts.redisOnly {
		registry.MustRegister(
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		)
	}
	registry.MustRegister(newExporter(opts, passwords, logger))

	server := &http.Server{
		Addr:              opts.listenAddress,
		Handler:           withBasicAuth(opts, routes(opts, registry)),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		logger.Info("Providing metrics", "address", opts.listenAddress, "path", opts.telemetryPath)
		if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("serving", "err", err)
			os.Exit(1)
		}
	}()
	quit := make(chan os.Signal, 1)
	signal.Notify(quit, syscall.SIGINT, syscall.SIGTERM)
	received := <-quit
	logger.Info("Received signal, exiting", "signal", received.String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := server.Shutdown(ctx); err != nil {
		logger.Error("shutting down", "err", err)
	}
}

func routes(opts options, registry *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(opts.telemetryPath, promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, landingPage, version, version, opts.telemetryPath)
	})
	return mux
}

const landingPage = `<html>
<head><title>Redis Exporter %s</title></head>
<body>
<h1>Redis Exporter %s</h1>
<p><a href='%s'>Metrics</a></p>
<p>charthouse stand-in for oliver006/redis_exporter</p>
</body>
</html>
`

// withBasicAuth asks for the configured user and password, as upstream does
// when both --basic-auth-username and --basic-auth-password are set.
func withBasicAuth(opts options, next http.Handler) http.Handler {
	if opts.basicAuthUser == "" || opts.basicAuthPassword == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, ok := r.BasicAuth()
		userOK := subtle.ConstantTimeCompare([]byte(user), []byte(opts.basicAuthUser)) == 1
		passOK := subtle.ConstantTimeCompare([]byte(password), []byte(opts.basicAuthPassword)) == 1
		if !ok || !userOK || !passOK {
			w.Header().Set("WWW-Authenticate", `Basic realm="redis-exporter, charset=UTF-8"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func newLogger(opts options) *slog.Logger {
	level := slog.LevelInfo
	if opts.debug {
		level = slog.LevelDebug
	}
	handlerOpts := &slog.HandlerOptions{Level: level}
	if opts.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, handlerOpts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, handlerOpts))
}
