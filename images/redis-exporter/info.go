package main

import (
	"strconv"
	"strings"
)

// INFO fields exported as gauges, by upstream's metric names.
var infoGauges = map[string]string{
	"uptime_in_seconds":       "uptime_in_seconds",
	"process_id":              "process_id",
	"connected_clients":       "connected_clients",
	"blocked_clients":         "blocked_clients",
	"maxclients":              "max_clients",
	"used_memory":             "memory_used_bytes",
	"used_memory_rss":         "memory_used_rss_bytes",
	"used_memory_peak":        "memory_used_peak_bytes",
	"used_memory_lua":         "memory_used_lua_bytes",
	"used_memory_overhead":    "memory_used_overhead_bytes",
	"used_memory_startup":     "memory_used_startup_bytes",
	"used_memory_dataset":     "memory_used_dataset_bytes",
	"maxmemory":               "memory_max_bytes",
	"mem_fragmentation_ratio": "mem_fragmentation_ratio",
	"mem_fragmentation_bytes": "mem_fragmentation_bytes",
	"loading":                 "loading_dump_file",

	"rdb_changes_since_last_save": "rdb_changes_since_last_save",
	"rdb_bgsave_in_progress":      "rdb_bgsave_in_progress",
	"rdb_last_save_time":          "rdb_last_save_timestamp_seconds",
	"rdb_last_bgsave_status":      "rdb_last_bgsave_status",
	"aof_enabled":                 "aof_enabled",
	"aof_rewrite_in_progress":     "aof_rewrite_in_progress",
	"aof_rewrite_scheduled":       "aof_rewrite_scheduled",
	"aof_last_bgrewrite_status":   "aof_last_bgrewrite_status",
	"aof_last_write_status":       "aof_last_write_status",
	"aof_current_size":            "aof_current_size_bytes",
	"aof_base_size":               "aof_base_size_bytes",

	"pubsub_channels":    "pubsub_channels",
	"pubsub_patterns":    "pubsub_patterns",
	"latest_fork_usec":   "latest_fork_usec",
	"connected_slaves":   "connected_slaves",
	"master_repl_offset": "master_repl_offset",
}

// INFO fields exported as counters, by upstream's metric names.
var infoCounters = map[string]string{
	"total_connections_received": "connections_received_total",
	"total_commands_processed":   "commands_processed_total",
	"rejected_connections":       "rejected_connections_total",
	"total_net_input_bytes":      "net_input_bytes_total",
	"total_net_output_bytes":     "net_output_bytes_total",
	"expired_keys":               "expired_keys_total",
	"evicted_keys":               "evicted_keys_total",
	"keyspace_hits":              "keyspace_hits_total",
	"keyspace_misses":            "keyspace_misses_total",
	"used_cpu_sys":               "cpu_sys_seconds_total",
	"used_cpu_user":              "cpu_user_seconds_total",
	"used_cpu_sys_children":      "cpu_sys_children_seconds_total",
	"used_cpu_user_children":     "cpu_user_children_seconds_total",
}

// systemGauges come only with --include-system-metrics, as upstream's.
var systemGauges = map[string]string{
	"total_system_memory": "total_system_memory_bytes",
}

// instanceInfoLabels label redis_instance_info, each from the INFO field of its name.
var instanceInfoLabels = []string{
	"role", "redis_version", "redis_build_id", "redis_mode", "os",
	"maxmemory_policy", "tcp_port", "run_id", "process_id",
}

// keyspace is one "dbN:keys=..,expires=..,avg_ttl=.." line of INFO.
type keyspace struct {
	keys, expires, avgTTLSeconds float64
}

// parsedInfo is INFO's "field:value" lines, and its keyspace by database name.
type parsedInfo struct {
	fields    map[string]string
	databases map[string]keyspace
}

func parseInfo(text string) parsedInfo {
	info := parsedInfo{fields: map[string]string{}, databases: map[string]keyspace{}}
	section := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			section = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(line, "#")))
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if section == "keyspace" && strings.HasPrefix(key, "db") {
			if space, ok := parseKeyspace(value); ok {
				info.databases[key] = space
			}
			continue
		}
		info.fields[key] = value
	}
	return info
}

func parseKeyspace(value string) (keyspace, bool) {
	var space keyspace
	found := false
	for _, pair := range strings.Split(value, ",") {
		name, number, _ := strings.Cut(pair, "=")
		parsed, err := strconv.ParseFloat(number, 64)
		if err != nil {
			continue
		}
		switch name {
		case "keys":
			space.keys, found = parsed, true
		case "expires":
			space.expires = parsed
		case "avg_ttl":
			space.avgTTLSeconds = parsed / 1000
		}
	}
	return space, found
}

// number is a field's value as a metric: numbers as they are, upstream's
// status fields ("ok"/"err") as 1/0; false for anything else.
func number(value string) (float64, bool) {
	switch value {
	case "ok":
		return 1, true
	case "err", "fail":
		return 0, true
	}
	parsed, err := strconv.ParseFloat(value, 64)
	return parsed, err == nil
}
