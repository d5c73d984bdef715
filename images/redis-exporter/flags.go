package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// options are upstream's command-line flags; each defaults to the environment
// variable upstream reads (a flag given on the command line wins).
type options struct {
	addr              string
	user              string
	password          string
	passwordFile      string
	namespace         string
	listenAddress     string
	telemetryPath     string
	logFormat         string
	connectionTimeout time.Duration
	basicAuthUser     string
	basicAuthPassword string
	systemMetrics     bool
	redisOnly         bool
	setClientName     bool
	emptyDatabases    bool
	debug             bool
	version           bool
	// notImplemented are upstream flags that were given but only add metrics
	// this stand-in does not collect.
	notImplemented []string
}

// Upstream flags (and their environment variables) that add metrics this
// stand-in lacks: accepted, reported, ignored.
var ignoredValueFlags = map[string]string{
	"check-keys":              "REDIS_EXPORTER_CHECK_KEYS",
	"check-single-keys":       "REDIS_EXPORTER_CHECK_SINGLE_KEYS",
	"check-key-groups":        "REDIS_EXPORTER_CHECK_KEY_GROUPS",
	"check-streams":           "REDIS_EXPORTER_CHECK_STREAMS",
	"check-single-streams":    "REDIS_EXPORTER_CHECK_SINGLE_STREAMS",
	"count-keys":              "REDIS_EXPORTER_COUNT_KEYS",
	"check-keys-batch-size":   "REDIS_EXPORTER_CHECK_KEYS_BATCH_SIZE",
	"max-distinct-key-groups": "REDIS_EXPORTER_MAX_DISTINCT_KEY_GROUPS",
	"script":                  "REDIS_EXPORTER_SCRIPT",
	"config-command":          "REDIS_EXPORTER_CONFIG_COMMAND",
	"tls-server-min-version":  "REDIS_EXPORTER_TLS_SERVER_MIN_VERSION",
}

var ignoredBoolFlags = map[string]string{
	"is-tile38":                         "REDIS_EXPORTER_IS_TILE38",
	"is-cluster":                        "REDIS_EXPORTER_IS_CLUSTER",
	"export-client-list":                "REDIS_EXPORTER_EXPORT_CLIENT_LIST",
	"export-client-port":                "REDIS_EXPORTER_EXPORT_CLIENT_PORT",
	"ping-on-connect":                   "REDIS_EXPORTER_PING_ON_CONNECT",
	"include-config-metrics":            "REDIS_EXPORTER_INCL_CONFIG_METRICS",
	"include-modules-metrics":           "REDIS_EXPORTER_INCL_MODULES_METRICS",
	"disable-exporting-key-values":      "REDIS_EXPORTER_DISABLE_EXPORTING_KEY_VALUES",
	"exclude-latency-histogram-metrics": "REDIS_EXPORTER_EXCLUDE_LATENCY_HISTOGRAM_METRICS",
	"redact-config-metrics":             "REDIS_EXPORTER_REDACT_CONFIG_METRICS",
	"skip-checkkeys-for-role-master":    "REDIS_EXPORTER_SKIP_CHECKKEYS_FOR_ROLE_MASTER",
	"streams-exclude-consumer-metrics":  "REDIS_EXPORTER_STREAMS_EXCLUDE_CONSUMER_METRICS",
	"skip-tls-verification":             "REDIS_EXPORTER_SKIP_TLS_VERIFICATION",
}

// TLS files change how the exporter connects or is served: without TLS
// implemented, starting anyway would be less secure than asked, so it refuses.
var refusedFlags = map[string]string{
	"tls-client-key-file":     "REDIS_EXPORTER_TLS_CLIENT_KEY_FILE",
	"tls-client-cert-file":    "REDIS_EXPORTER_TLS_CLIENT_CERT_FILE",
	"tls-ca-cert-file":        "REDIS_EXPORTER_TLS_CA_CERT_FILE",
	"tls-server-key-file":     "REDIS_EXPORTER_TLS_SERVER_KEY_FILE",
	"tls-server-cert-file":    "REDIS_EXPORTER_TLS_SERVER_CERT_FILE",
	"tls-server-ca-cert-file": "REDIS_EXPORTER_TLS_SERVER_CA_CERT_FILE",
}

func parseArgs(args []string, lookup func(string) (string, bool)) (options, error) {
	env := func(key, fallback string) string {
		if value, ok := lookup(key); ok {
			return value
		}
		return fallback
	}
	envBool := func(key string, fallback bool) bool {
		if value, ok := lookup(key); ok {
			if parsed, err := strconv.ParseBool(value); err == nil {
				return parsed
			}
		}
		return fallback
	}
	fs := flag.NewFlagSet("redis_exporter", flag.ContinueOnError)
	var o options
	var timeout string
	fs.StringVar(&o.addr, "redis.addr", env("REDIS_ADDR", "redis://localhost:6379"), "Address of the Redis instance to scrape")
	fs.StringVar(&o.user, "redis.user", env("REDIS_USER", ""), "User name to use for authentication (Redis ACL for Redis 6.0 and newer)")
	fs.StringVar(&o.password, "redis.password", env("REDIS_PASSWORD", ""), "Password of the Redis instance to scrape")
	fs.StringVar(&o.passwordFile, "redis.password-file", env("REDIS_PASSWORD_FILE", ""), "Password file (JSON: address to password) of the Redis instance to scrape")
	fs.StringVar(&o.namespace, "namespace", env("REDIS_EXPORTER_NAMESPACE", "redis"), "Namespace for metrics")
	fs.StringVar(&o.listenAddress, "web.listen-address", env("REDIS_EXPORTER_WEB_LISTEN_ADDRESS", ":9121"), "Address to listen on for web interface and telemetry.")
	fs.StringVar(&o.telemetryPath, "web.telemetry-path", env("REDIS_EXPORTER_WEB_TELEMETRY_PATH", "/metrics"), "Path under which to expose metrics.")
	fs.StringVar(&o.logFormat, "log-format", env("REDIS_EXPORTER_LOG_FORMAT", "txt"), "Log format, valid options are txt and json")
	fs.StringVar(&timeout, "connection-timeout", env("REDIS_EXPORTER_CONNECTION_TIMEOUT", "15s"), "Timeout for connection to Redis instance")
	fs.StringVar(&o.basicAuthUser, "basic-auth-username", env("REDIS_EXPORTER_BASIC_AUTH_USERNAME", ""), "Username for basic authentication")
	fs.StringVar(&o.basicAuthPassword, "basic-auth-password", env("REDIS_EXPORTER_BASIC_AUTH_PASSWORD", ""), "Password for basic authentication")
	fs.BoolVar(&o.systemMetrics, "include-system-metrics", envBool("REDIS_EXPORTER_INCL_SYSTEM_METRICS", false), "Whether to include system metrics like e.g. redis_total_system_memory_bytes")
	fs.BoolVar(&o.redisOnly, "redis-only-metrics", envBool("REDIS_EXPORTER_REDIS_ONLY_METRICS", false), "Whether to also export go runtime metrics")
	fs.BoolVar(&o.setClientName, "set-client-name", envBool("REDIS_EXPORTER_SET_CLIENT_NAME", true), "Whether to set client name to redis_exporter")
	fs.BoolVar(&o.emptyDatabases, "include-metrics-for-empty-databases", envBool("REDIS_EXPORTER_INCL_METRICS_FOR_EMPTY_DATABASES", true), "Whether to emit db metrics (like db_keys) for empty databases")
	fs.BoolVar(&o.debug, "debug", envBool("REDIS_EXPORTER_DEBUG", false), "Output verbose debug information")
	fs.BoolVar(&o.version, "version", false, "Show version information and exit")
	ignored := map[string]*string{}
	for name, key := range ignoredValueFlags {
		ignored[name] = fs.String(name, env(key, ""), "not implemented by this stand-in")
	}
	ignoredBools := map[string]*bool{}
	for name, key := range ignoredBoolFlags {
		ignoredBools[name] = fs.Bool(name, envBool(key, false), "not implemented by this stand-in")
	}
	refused := map[string]*string{}
	for name, key := range refusedFlags {
		refused[name] = fs.String(name, env(key, ""), "not implemented by this stand-in: refused")
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for name, value := range refused {
		if *value != "" {
			return o, fmt.Errorf("--%s: TLS is not implemented by this stand-in", name)
		}
	}
	if strings.HasPrefix(o.addr, "rediss://") {
		return o, fmt.Errorf("--redis.addr %q: TLS is not implemented by this stand-in", o.addr)
	}
	for name, value := range ignored {
		if *value != "" {
			o.notImplemented = append(o.notImplemented, name)
		}
	}
	for name, value := range ignoredBools {
		// redact-config-metrics is on by default upstream: turning it on changes nothing
		if *value && name != "redact-config-metrics" {
			o.notImplemented = append(o.notImplemented, name)
		}
	}
	var err error
	if o.connectionTimeout, err = time.ParseDuration(timeout); err != nil {
		return o, fmt.Errorf("--connection-timeout: %w", err)
	}
	if !strings.HasPrefix(o.telemetryPath, "/") {
		return o, fmt.Errorf("--web.telemetry-path: %q must start with /", o.telemetryPath)
	}
	return o, nil
}

// loadPasswordFile reads upstream's password file, a JSON object mapping each
// Redis address to its password; it is only read when no password is given.
func loadPasswordFile(path, password string) (map[string]string, error) {
	passwords := map[string]string{}
	if path == "" || password != "" {
		return passwords, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &passwords); err != nil {
		return nil, fmt.Errorf("expected a JSON object of address to password: %w", err)
	}
	return passwords, nil
}
