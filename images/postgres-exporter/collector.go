package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "pg"

// exporter connects once per scrape (a restarted or unreachable server shows
// as pg_up 0 on the next scrape, never as stale values) and emits every metric
// as a const metric of that scrape.
type exporter struct {
	dsn    string
	opts   options
	logger *slog.Logger

	mu        sync.Mutex
	up        prometheus.Gauge
	lastError prometheus.Gauge
	duration  prometheus.Gauge
	scrapes   prometheus.Counter
}

func newExporter(dsn string, opts options, logger *slog.Logger) *exporter {
	return &exporter{
		dsn:    dsn,
		opts:   opts,
		logger: logger,
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "up",
			Help: "Whether the last scrape of metrics from PostgreSQL was able to connect to the server (1 for yes, 0 for no).",
		}),
		lastError: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "exporter", Name: "last_scrape_error",
			Help: "Whether the last scrape of metrics from PostgreSQL resulted in an error (1 for error, 0 for success).",
		}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "exporter", Name: "last_scrape_duration_seconds",
			Help: "Duration of the last scrape of metrics from PostgreSQL.",
		}),
		scrapes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "exporter", Name: "scrapes_total",
			Help: "Total number of times PostgreSQL was scraped for metrics.",
		}),
	}
}

// Describe sends nothing: the metric set depends on the server (an unchecked collector).
func (e *exporter) Describe(chan<- *prometheus.Desc) {}

func (e *exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	defer e.mu.Unlock()
	start := time.Now()
	err := e.scrape(ch)
	e.scrapes.Inc()
	e.duration.Set(time.Since(start).Seconds())
	if err != nil {
		e.lastError.Set(1)
		e.logger.Error("scrape failed", "err", err)
	} else {
		e.lastError.Set(0)
	}
	ch <- e.up
	ch <- e.lastError
	ch <- e.duration
	ch <- e.scrapes
}

func (e *exporter) scrape(ch chan<- prometheus.Metric) error {
	e.up.Set(0)
	if e.dsn == "" {
		return errors.New("no data source configured")
	}
	ctx, cancel := scrapeContext()
	defer cancel()
	conn, err := pgx.Connect(ctx, e.dsn)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close(context.Background())
	var full, short string
	if err := conn.QueryRow(ctx, "SELECT version(), current_setting('server_version')").Scan(&full, &short); err != nil {
		return fmt.Errorf("reading the server version: %w", err)
	}
	e.up.Set(1)
	ch <- constGauge("static", "Version string as reported by postgres", 1,
		[]string{"short_version", "version"}, semver(short), full)
	if e.opts.disableDefault {
		return nil
	}
	steps := []struct {
		collector string
		run       func(context.Context, *pgx.Conn, chan<- prometheus.Metric) error
	}{
		{"postmaster", scrapePostmaster},
		{"database", scrapeDatabases},
		{"stat_database", scrapeStatDatabase},
		{"locks", scrapeLocks},
	}
	var errs []error
	for _, step := range steps {
		if e.opts.collectors[step.collector] {
			if err := step.run(ctx, conn, ch); err != nil {
				errs = append(errs, fmt.Errorf("collector %s: %w", step.collector, err))
			}
		}
	}
	if !e.opts.disableSettings {
		if err := scrapeSettings(ctx, conn, ch); err != nil {
			errs = append(errs, fmt.Errorf("pg_settings: %w", err))
		}
	}
	return errors.Join(errs...)
}

// semver turns "18.6" into "18.6.0", as upstream reports short_version.
func semver(v string) string {
	v, _, _ = strings.Cut(v, " ")
	if strings.Count(v, ".") == 1 {
		return v + ".0"
	}
	return v
}

func constGauge(name, help string, value float64, labels []string, labelValues ...string) prometheus.Metric {
	desc := prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
	return prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, value, labelValues...)
}

func scrapePostmaster(ctx context.Context, conn *pgx.Conn, ch chan<- prometheus.Metric) error {
	var started float64
	if err := conn.QueryRow(ctx, "SELECT extract(epoch FROM pg_postmaster_start_time())::float8").Scan(&started); err != nil {
		return err
	}
	ch <- constGauge("postmaster_start_time_seconds", "Time at which postmaster started", started, nil)
	return nil
}

func scrapeDatabases(ctx context.Context, conn *pgx.Conn, ch chan<- prometheus.Metric) error {
	rows, err := conn.Query(ctx, `SELECT datname, datconnlimit, pg_database_size(datname)::float8
		FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var limit int32
		var size float64
		if err := rows.Scan(&name, &limit, &size); err != nil {
			return err
		}
		ch <- constGauge("database_size_bytes", "Disk space used by the database", size, []string{"datname"}, name)
		ch <- constGauge("database_connection_limit", "Connection limit set for the database", float64(limit), []string{"datname"}, name)
	}
	return rows.Err()
}

// statDatabaseColumns are pg_stat_database's columns exported as
// pg_stat_database_<column>; numbackends is a gauge, the rest are counters.
var statDatabaseColumns = []struct{ name, help string }{
	{"numbackends", "Number of backends currently connected to this database."},
	{"xact_commit", "Number of transactions in this database that have been committed"},
	{"xact_rollback", "Number of transactions in this database that have been rolled back"},
	{"blks_read", "Number of disk blocks read in this database"},
	{"blks_hit", "Number of times disk blocks were found already in the buffer cache"},
	{"tup_returned", "Number of rows returned by queries in this database"},
	{"tup_fetched", "Number of rows fetched by queries in this database"},
	{"tup_inserted", "Number of rows inserted by queries in this database"},
	{"tup_updated", "Number of rows updated by queries in this database"},
	{"tup_deleted", "Number of rows deleted by queries in this database"},
	{"conflicts", "Number of queries canceled due to conflicts with recovery in this database."},
	{"temp_files", "Number of temporary files created by queries in this database."},
	{"temp_bytes", "Total amount of data written to temporary files by queries in this database."},
	{"deadlocks", "Number of deadlocks detected in this database"},
	{"blk_read_time", "Time spent reading data file blocks by backends in this database, in milliseconds"},
	{"blk_write_time", "Time spent writing data file blocks by backends in this database, in milliseconds"},
}

func scrapeStatDatabase(ctx context.Context, conn *pgx.Conn, ch chan<- prometheus.Metric) error {
	columns := make([]string, len(statDatabaseColumns))
	for i, c := range statDatabaseColumns {
		columns[i] = fmt.Sprintf("coalesce(%s, 0)::float8", c.name)
	}
	query := fmt.Sprintf(`SELECT datid::text, datname, %s,
		coalesce(extract(epoch FROM stats_reset), 0)::float8
		FROM pg_stat_database WHERE datname IS NOT NULL ORDER BY datname`, strings.Join(columns, ", "))
	rows, err := conn.Query(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	labels := []string{"datid", "datname"}
	for rows.Next() {
		var datid, datname string
		values := make([]float64, len(statDatabaseColumns)+1)
		dest := []any{&datid, &datname}
		for i := range values {
			dest = append(dest, &values[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		for i, c := range statDatabaseColumns {
			kind := prometheus.CounterValue
			if c.name == "numbackends" {
				kind = prometheus.GaugeValue
			}
			desc := prometheus.NewDesc(prometheus.BuildFQName(namespace, "stat_database", c.name), c.help, labels, nil)
			ch <- prometheus.MustNewConstMetric(desc, kind, values[i], datid, datname)
		}
		desc := prometheus.NewDesc(prometheus.BuildFQName(namespace, "stat_database", "stats_reset"),
			"Time at which these statistics were last reset", labels, nil)
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, values[len(values)-1], datid, datname)
	}
	return rows.Err()
}

func scrapeLocks(ctx context.Context, conn *pgx.Conn, ch chan<- prometheus.Metric) error {
	rows, err := conn.Query(ctx, `SELECT d.datname, m.mode, coalesce(l.count, 0)::float8
		FROM (VALUES ('accesssharelock'), ('rowsharelock'), ('rowexclusivelock'),
			('shareupdateexclusivelock'), ('sharelock'), ('sharerowexclusivelock'),
			('exclusivelock'), ('accessexclusivelock'), ('sireadlock')) AS m(mode)
		CROSS JOIN pg_database d
		LEFT JOIN (SELECT database, lower(mode) AS mode, count(*) AS count
			FROM pg_locks WHERE database IS NOT NULL GROUP BY database, lower(mode)) l
			ON l.database = d.oid AND l.mode = m.mode
		WHERE NOT d.datistemplate ORDER BY 1, 2`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var datname, mode string
		var count float64
		if err := rows.Scan(&datname, &mode, &count); err != nil {
			return err
		}
		ch <- constGauge("locks_count", "Number of locks", count, []string{"datname", "mode"}, datname, mode)
	}
	return rows.Err()
}

var (
	memoryUnit = regexp.MustCompile(`^([0-9]*)(B|kB|MB|GB|TB)$`)
	timeUnits  = map[string]float64{"us": 1e-6, "ms": 1e-3, "s": 1, "min": 60, "h": 3600, "d": 86400}
	memFactors = map[string]float64{"B": 1, "kB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}
	badChars   = regexp.MustCompile(`[^a-zA-Z0-9_]`)
)

// settingValue converts a numeric or boolean setting to a base unit (bytes or
// seconds), returning the metric name suffix for that unit.
func settingValue(raw, unit, vartype string) (value float64, suffix string, err error) {
	if vartype == "bool" {
		if raw == "on" {
			return 1, "", nil
		}
		return 0, "", nil
	}
	value, err = strconv.ParseFloat(raw, 64)
	if err != nil || unit == "" || value == -1 {
		return value, "", err
	}
	if factor, ok := timeUnits[unit]; ok {
		return value * factor, "_seconds", nil
	}
	if m := memoryUnit.FindStringSubmatch(unit); m != nil {
		multiple := 1.0
		if m[1] != "" {
			multiple, _ = strconv.ParseFloat(m[1], 64)
		}
		return value * multiple * memFactors[m[2]], "_bytes", nil
	}
	return value, "", fmt.Errorf("unknown unit %q", unit)
}

func scrapeSettings(ctx context.Context, conn *pgx.Conn, ch chan<- prometheus.Metric) error {
	rows, err := conn.Query(ctx, `SELECT name, setting, coalesce(unit, ''), short_desc, vartype
		FROM pg_settings WHERE vartype IN ('bool', 'integer', 'real') ORDER BY name`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, setting, unit, desc, vartype string
		if err := rows.Scan(&name, &setting, &unit, &desc, &vartype); err != nil {
			return err
		}
		value, suffix, err := settingValue(setting, unit, vartype)
		if err != nil {
			continue // a unit this stand-in does not know: skip the setting, as upstream logs and skips
		}
		metric := "settings_" + badChars.ReplaceAllString(name, "_") + suffix
		help := fmt.Sprintf("Server Parameter: %s", name)
		if suffix != "" {
			help += " [Units converted to " + strings.TrimPrefix(suffix, "_") + ".]"
		}
		ch <- constGauge(metric, help, value, nil)
	}
	return rows.Err()
}
