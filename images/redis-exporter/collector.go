package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// exporter connects once per scrape (a restarted or unreachable server shows
// as redis_up 0 on the next scrape, never as stale values) and emits every
// metric as a const metric of that scrape.
type exporter struct {
	opts      options
	passwords map[string]string
	logger    *slog.Logger

	mu      sync.Mutex
	scrapes prometheus.Counter
}

func newExporter(opts options, passwords map[string]string, logger *slog.Logger) *exporter {
	return &exporter{
		opts:      opts,
		passwords: passwords,
		logger:    logger,
		scrapes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: opts.namespace, Name: "exporter_scrapes_total",
			Help: "Current total redis scrapes.",
		}),
	}
}

// Describe sends nothing: the metric set depends on the server (an unchecked collector).
func (e *exporter) Describe(chan<- *prometheus.Desc) {}

func (e *exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.scrapes.Inc()
	ch <- e.scrapes
	e.emit(ch, prometheus.GaugeValue, "exporter_build_info", "redis exporter build_info", 1, prometheus.Labels{
		"version": version, "commit_sha": "charthouse-stand-in", "build_date": "", "golang_version": runtime.Version(),
	})
	if e.opts.addr == "" {
		return
	}
	started := time.Now()
	up, failure := 1.0, ""
	if err := e.scrape(ch); err != nil {
		up, failure = 0, err.Error()
		e.logger.Error("scraping the server", "addr", e.opts.addr, "err", err)
	}
	lastError := 0.0
	if failure != "" {
		lastError = 1
	}
	e.emit(ch, prometheus.GaugeValue, "exporter_last_scrape_error", "The last scrape error status.", lastError, prometheus.Labels{"err": failure})
	e.emit(ch, prometheus.GaugeValue, "up", "Information about the Redis instance", up, nil)
	e.emit(ch, prometheus.GaugeValue, "exporter_last_scrape_duration_seconds", "The last scrape duration.", time.Since(started).Seconds(), nil)
}

func (e *exporter) emit(ch chan<- prometheus.Metric, kind prometheus.ValueType, name, help string, value float64, labels prometheus.Labels) {
	names := make([]string, 0, len(labels))
	for label := range labels {
		names = append(names, label)
	}
	sort.Strings(names)
	values := make([]string, len(names))
	for i, label := range names {
		values[i] = labels[label]
	}
	desc := prometheus.NewDesc(prometheus.BuildFQName(e.opts.namespace, "", name), help, names, nil)
	ch <- prometheus.MustNewConstMetric(desc, kind, value, values...)
}

// client connects as upstream does: the password flag wins, then the password
// file's entry for the address, then the address's own user:password.
func (e *exporter) client() (*redis.Client, error) {
	addr := e.opts.addr
	if !strings.Contains(addr, "://") {
		addr = "redis://" + addr
	}
	opt, err := redis.ParseURL(addr)
	if err != nil {
		return nil, fmt.Errorf("--redis.addr %q: %w", e.opts.addr, err)
	}
	if e.opts.user != "" {
		opt.Username = e.opts.user
	}
	if e.opts.password != "" {
		opt.Password = e.opts.password
	} else if password, ok := e.passwords[e.opts.addr]; ok {
		opt.Password = password
	}
	if e.opts.setClientName {
		opt.ClientName = "redis_exporter"
	}
	opt.Protocol = 2
	opt.DisableIdentity = true
	opt.DialTimeout = e.opts.connectionTimeout
	opt.ReadTimeout = e.opts.connectionTimeout
	opt.WriteTimeout = e.opts.connectionTimeout
	opt.PoolSize = 1
	opt.MaxRetries = -1
	return redis.NewClient(opt), nil
}

func (e *exporter) scrape(ch chan<- prometheus.Metric) error {
	client, err := e.client()
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.connectionTimeout)
	defer cancel()
	text, err := client.Info(ctx, "all").Result()
	if err != nil {
		return err
	}
	info := parseInfo(text)
	e.infoMetrics(ch, info)
	e.databaseMetrics(ch, info, e.configValue(ctx, client, "databases"))
	for _, name := range []string{"maxmemory", "maxclients"} {
		if value, ok := number(e.configValue(ctx, client, name)); ok {
			e.emit(ch, prometheus.GaugeValue, "config_"+name, "config_"+name, value, nil)
		}
	}
	return nil
}

func (e *exporter) infoMetrics(ch chan<- prometheus.Metric, info parsedInfo) {
	export := func(fields map[string]string, kind prometheus.ValueType) {
		for field, name := range fields {
			if value, ok := number(info.fields[field]); ok {
				e.emit(ch, kind, name, field+" metric", value, nil)
			}
		}
	}
	export(infoGauges, prometheus.GaugeValue)
	export(infoCounters, prometheus.CounterValue)
	if e.opts.systemMetrics {
		export(systemGauges, prometheus.GaugeValue)
	}
	if uptime, ok := number(info.fields["uptime_in_seconds"]); ok {
		e.emit(ch, prometheus.GaugeValue, "start_time_seconds", "Start time of the Redis instance since unix epoch in seconds.", float64(time.Now().Unix())-uptime, nil)
	}
	labels := prometheus.Labels{}
	for _, label := range instanceInfoLabels {
		labels[label] = info.fields[label]
	}
	e.emit(ch, prometheus.GaugeValue, "instance_info", "Information about the Redis instance", 1, labels)
}

// databaseMetrics: keys, expiring keys and average TTL by database, and zeroes
// for the empty ones (of CONFIG GET databases) unless told otherwise.
func (e *exporter) databaseMetrics(ch chan<- prometheus.Metric, info parsedInfo, databases string) {
	spaces := map[string]keyspace{}
	for name, space := range info.databases {
		spaces[name] = space
	}
	if count, err := strconv.Atoi(databases); err == nil && e.opts.emptyDatabases {
		for i := 0; i < count; i++ {
			if _, ok := spaces[fmt.Sprintf("db%d", i)]; !ok {
				spaces[fmt.Sprintf("db%d", i)] = keyspace{}
			}
		}
	}
	for name, space := range spaces {
		db := prometheus.Labels{"db": name}
		e.emit(ch, prometheus.GaugeValue, "db_keys", "Total number of keys by DB", space.keys, db)
		e.emit(ch, prometheus.GaugeValue, "db_keys_expiring", "Total number of expiring keys by DB", space.expires, db)
		e.emit(ch, prometheus.GaugeValue, "db_avg_ttl_seconds", "Avg TTL in seconds", space.avgTTLSeconds, db)
	}
}

// configValue is CONFIG GET name, or "" where the server refuses it (an ACL
// user without CONFIG): those metrics are then left out, the scrape goes on.
func (e *exporter) configValue(ctx context.Context, client *redis.Client, name string) string {
	values, err := client.ConfigGet(ctx, name).Result()
	if err != nil {
		e.logger.Debug("CONFIG GET refused", "name", name, "err", err)
		return ""
	}
	return values[name]
}
