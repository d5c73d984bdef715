// Command postgres_exporter is a STAND-IN for prometheus-community's
// postgres_exporter v0.20.1, written for charthouse because the upstream module
// (github.com/prometheus-community/postgres_exporter) is not served by the Go
// module proxy on our build machines.
//
// It keeps the upstream image's contract that charts and tests rely on:
//
//   - flags --web.listen-address (default :9187) and --web.telemetry-path
//     (default /metrics); upstream's other flags are accepted, and
//     --[no-]collector.<name> switches the collectors implemented here
//     (database, stat_database, postmaster, locks); other collector names are
//     accepted and reported as not implemented;
//   - the connection from DATA_SOURCE_NAME, or DATA_SOURCE_URI with
//     DATA_SOURCE_USER and DATA_SOURCE_PASS; each also as *_FILE;
//   - GET / answers 200 (a landing page), the metrics path serves
//     Prometheus text format;
//   - metrics under upstream's names: pg_up, pg_exporter_last_scrape_error,
//     pg_exporter_last_scrape_duration_seconds, pg_exporter_scrapes_total,
//     pg_static, pg_postmaster_start_time_seconds, pg_database_size_bytes,
//     pg_stat_database_*, pg_locks_count and pg_settings_*;
//   - runs as nobody (65534) on busybox, port 9187.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// version is the upstream release whose contract this stand-in keeps.
var version = "0.20.1"

func main() {
	opts, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "postgres_exporter: error: %v, try --help\n", err)
		os.Exit(1)
	}
	if opts.help {
		fmt.Print(usage)
		return
	}
	if opts.version {
		fmt.Printf("postgres_exporter, version %s (charthouse stand-in)\n", version)
		return
	}
	logger := newLogger(opts)
	for _, name := range opts.unknownCollectors {
		logger.Warn("collector not implemented by this stand-in; ignored", "collector", name)
	}

	dsn, err := dataSource(os.Getenv, os.ReadFile)
	if err != nil {
		logger.Error("reading the data source", "err", err)
		os.Exit(1)
	}
	if dsn == "" {
		logger.Warn("no data source: set DATA_SOURCE_NAME or DATA_SOURCE_URI (pg_up stays 0)")
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(),
		newExporter(dsn, opts, logger),
	)

	mux := http.NewServeMux()
	mux.Handle(opts.telemetryPath, promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, landingPage, opts.telemetryPath)
	})
	server := &http.Server{Addr: opts.listenAddress, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("Listening on", "address", opts.listenAddress)
	if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("serving", "err", err)
		os.Exit(1)
	}
}

const landingPage = `<html>
<head><title>Postgres Exporter</title></head>
<body>
<h1>Postgres Exporter</h1>
<p><a href="%s">Metrics</a></p>
<p>charthouse stand-in for prometheus-community/postgres_exporter</p>
</body>
</html>
`

func newLogger(opts options) *slog.Logger {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(opts.logLevel))
	handlerOpts := &slog.HandlerOptions{Level: level}
	if opts.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, handlerOpts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, handlerOpts))
}

func buildInfo() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "postgres_exporter_build_info",
		Help:        "A metric with a constant '1' value labeled by version from which postgres_exporter was built.",
		ConstLabels: prometheus.Labels{"version": version, "revision": "charthouse-stand-in"},
	}, func() float64 { return 1 })
}

// dataSource builds the connection string as upstream does: DATA_SOURCE_NAME
// wins (the first of a comma-separated list), otherwise
// postgresql://USER:PASS@URI. Each variable may come from a *_FILE.
func dataSource(getenv func(string) string, readFile func(string) ([]byte, error)) (string, error) {
	value := func(key string) (string, error) {
		if path := getenv(key + "_FILE"); path != "" {
			data, err := readFile(path)
			if err != nil {
				return "", fmt.Errorf("%s_FILE: %w", key, err)
			}
			return strings.TrimSpace(string(data)), nil
		}
		return getenv(key), nil
	}
	dsn, err := value("DATA_SOURCE_NAME")
	if err != nil || dsn != "" {
		first, _, _ := strings.Cut(dsn, ",")
		return first, err
	}
	uri, err := value("DATA_SOURCE_URI")
	if err != nil || uri == "" {
		return "", err
	}
	user, err := value("DATA_SOURCE_USER")
	if err != nil {
		return "", err
	}
	pass, err := value("DATA_SOURCE_PASS")
	if err != nil {
		return "", err
	}
	return "postgresql://" + url.UserPassword(user, pass).String() + "@" + uri, nil
}

// scrapeTimeout bounds one scrape, so a stuck server cannot hang Prometheus.
const scrapeTimeout = 10 * time.Second

func scrapeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), scrapeTimeout)
}
