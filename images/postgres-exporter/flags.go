package main

import (
	"fmt"
	"strings"
)

// options are upstream's command-line flags (kingpin style: --name=value,
// --name value, --flag, --no-flag).
type options struct {
	listenAddress   string
	telemetryPath   string
	logLevel        string
	logFormat       string
	disableDefault  bool
	disableSettings bool
	collectors      map[string]bool
	// unknownCollectors are upstream collector names this stand-in lacks.
	unknownCollectors []string
	help              bool
	version           bool
}

// implemented collectors and whether upstream enables them by default.
var implemented = map[string]bool{
	"database":      true,
	"stat_database": true,
	"postmaster":    true,
	"locks":         true,
}

// Flags of upstream that take a value and are accepted without effect here.
var ignoredValueFlags = map[string]bool{
	"config.file": true, "web.config.file": true, "extend.query-path": true,
	"constantLabels": true, "exclude-databases": true, "include-databases": true,
	"metric-prefix": true, "collection-timeout": true,
}

// Boolean flags of upstream that are accepted without effect here.
var ignoredBoolFlags = map[string]bool{
	"auto-discover-databases": true, "dumpmaps": true, "web.systemd-socket": true,
}

const usage = `usage: postgres_exporter [<flags>]

charthouse stand-in for prometheus-community/postgres_exporter.

Flags:
  --web.listen-address=":9187"  address to listen on
  --web.telemetry-path="/metrics"  path under which metrics are exposed
  --log.level="info"            debug, info, warn, error
  --log.format="logfmt"         logfmt or json
  --[no-]disable-default-metrics  only pg_up and the exporter's own metrics
  --[no-]disable-settings-metrics  no pg_settings_* metrics
  --[no-]collector.<name>       database, stat_database, postmaster, locks
  --version                     print the version
`

func parseArgs(args []string) (options, error) {
	o := options{
		listenAddress: ":9187",
		telemetryPath: "/metrics",
		logLevel:      "info",
		logFormat:     "logfmt",
		collectors:    map[string]bool{},
	}
	for name, on := range implemented {
		o.collectors[name] = on
	}
	values := map[string]*string{
		"web.listen-address": &o.listenAddress,
		"web.telemetry-path": &o.telemetryPath,
		"log.level":          &o.logLevel,
		"log.format":         &o.logFormat,
	}
	bools := map[string]*bool{
		"disable-default-metrics":  &o.disableDefault,
		"disable-settings-metrics": &o.disableSettings,
		"help":                     &o.help,
		"version":                  &o.version,
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "-h" {
			o.help = true
			continue
		}
		if !strings.HasPrefix(arg, "--") {
			return o, fmt.Errorf("unexpected %s", arg)
		}
		name, value, hasValue := strings.Cut(arg[2:], "=")
		if target, ok := values[name]; ok || ignoredValueFlags[name] {
			if !hasValue {
				if i+1 >= len(args) {
					return o, fmt.Errorf("expected argument for flag '--%s'", name)
				}
				i++
				value = args[i]
			}
			if ok {
				*target = value
			}
			continue
		}
		on := true
		base := name
		if strings.HasPrefix(name, "no-") {
			on, base = false, name[3:]
		}
		if hasValue {
			switch strings.ToLower(value) {
			case "true":
			case "false":
				on = !on
			default:
				return o, fmt.Errorf("--%s: expected true or false, got %q", name, value)
			}
		}
		switch {
		case bools[base] != nil:
			*bools[base] = on
		case ignoredBoolFlags[base]:
		case strings.HasPrefix(base, "collector."):
			collector := strings.TrimPrefix(base, "collector.")
			if _, ok := implemented[collector]; ok {
				o.collectors[collector] = on
			} else if on {
				o.unknownCollectors = append(o.unknownCollectors, collector)
			}
		default:
			return o, fmt.Errorf("unknown long flag '--%s'", name)
		}
	}
	if !strings.HasPrefix(o.telemetryPath, "/") {
		return o, fmt.Errorf("--web.telemetry-path: %q must start with /", o.telemetryPath)
	}
	return o, nil
}
