// Command whoami is a STAND-IN for traefik/whoami v1.11.0, written for
// charthouse because the upstream module (github.com/traefik/whoami) is not
// served by the Go module proxy on our build machines.
//
// It keeps the upstream image's contract that charts and tests rely on:
//
//   - flags -port (default 80, env WHOAMI_PORT_NUMBER), -name (env
//     WHOAMI_NAME) and -verbose; "--port=8080" works as well as "-port 8080";
//   - -cert and -key (PEM files): serve HTTPS instead of HTTP on the port;
//   - GET / (and every path no other handler owns, e.g. /health/ready): the
//     name, hostname, IP addresses, remote address and the request itself as
//     text; ?wait=<duration> delays the answer, ?env=true adds the environment;
//   - /api: the same as JSON;
//   - /health: GET answers with the current status code (200 at start),
//     POST with a JSON number in the body sets it;
//   - /data?size=N&unit=KB|MB|GB: N units of filler text (?attachment=true
//     sends it as a download);
//   - /bench: "1", for load tests.
//
// Not implemented: client-certificate checks (-cacert, refused at start) and
// the /echo websocket.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// version is the upstream release whose contract this stand-in keeps.
var version = "v1.11.0"

type config struct {
	port    string
	name    string
	verbose bool
	cert    string
	key     string
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("whoami", flag.ContinueOnError)
	var c config
	fs.StringVar(&c.port, "port", envOr("WHOAMI_PORT_NUMBER", "80"), "port number (env WHOAMI_PORT_NUMBER)")
	fs.StringVar(&c.name, "name", os.Getenv("WHOAMI_NAME"), "name shown in answers (env WHOAMI_NAME)")
	fs.BoolVar(&c.verbose, "verbose", false, "log every request")
	fs.StringVar(&c.cert, "cert", "", "TLS certificate (PEM file); with -key, serve HTTPS")
	fs.StringVar(&c.key, "key", "", "TLS private key (PEM file); with -cert, serve HTTPS")
	caCert := fs.String("cacert", "", "CA for client certificates (not implemented)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if *showVersion {
		fmt.Printf("whoami %s (charthouse stand-in)\n", version)
		os.Exit(0)
	}
	if n, err := strconv.Atoi(c.port); err != nil || n < 0 || n > 65535 {
		return c, fmt.Errorf("-port: %q is not a TCP port", c.port)
	}
	if (c.cert == "") != (c.key == "") {
		return c, fmt.Errorf("-cert and -key go together (got cert %q, key %q)", c.cert, c.key)
	}
	if *caCert != "" {
		return c, fmt.Errorf("-cacert: client-certificate checks are not implemented by this stand-in")
	}
	return c, nil
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// health is the status code GET /health answers with; POST /health sets it.
type health struct {
	mu   sync.RWMutex
	code int
}

func (h *health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		var code int
		if err := json.NewDecoder(r.Body).Decode(&code); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if code < 100 || code > 999 {
			http.Error(w, fmt.Sprintf("invalid status code %d", code), http.StatusBadRequest)
			return
		}
		log.Printf("Update health check status code [%d]", code)
		h.mu.Lock()
		h.code = code
		h.mu.Unlock()
		return
	}
	h.mu.RLock()
	code := h.code
	h.mu.RUnlock()
	w.WriteHeader(code)
}

// report is what / prints and /api returns.
type report struct {
	Hostname    string            `json:"hostname,omitempty"`
	IP          []string          `json:"ip,omitempty"`
	Headers     http.Header       `json:"headers,omitempty"`
	URL         string            `json:"url,omitempty"`
	Host        string            `json:"host,omitempty"`
	Method      string            `json:"method,omitempty"`
	Name        string            `json:"name,omitempty"`
	RemoteAddr  string            `json:"remoteAddr,omitempty"`
	Environment map[string]string `json:"environment,omitempty"`
}

func newReport(name string, r *http.Request) report {
	hostname, _ := os.Hostname()
	rep := report{
		Hostname:   hostname,
		IP:         localIPs(),
		Headers:    r.Header,
		URL:        r.URL.RequestURI(),
		Host:       r.Host,
		Method:     r.Method,
		Name:       name,
		RemoteAddr: r.RemoteAddr,
	}
	if r.URL.Query().Get("env") == "true" {
		rep.Environment = map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			rep.Environment[k] = v
		}
	}
	return rep
}

func localIPs() []string {
	var ips []string
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, addr := range addrs {
		if ipnet, ok := addr.(*net.IPNet); ok {
			ips = append(ips, ipnet.IP.String())
		}
	}
	return ips
}

// wait applies ?wait=<duration> (e.g. 500ms); a bad value is the client's error.
func wait(w http.ResponseWriter, r *http.Request) bool {
	raw := r.URL.Query().Get("wait")
	if raw == "" {
		return true
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	select {
	case <-time.After(d):
	case <-r.Context().Done():
		return false
	}
	return true
}

func whoamiHandler(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !wait(w, r) {
			return
		}
		rep := newReport(name, r)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if rep.Name != "" {
			fmt.Fprintf(w, "Name: %s\n", rep.Name)
		}
		fmt.Fprintf(w, "Hostname: %s\n", rep.Hostname)
		for _, ip := range rep.IP {
			fmt.Fprintf(w, "IP: %s\n", ip)
		}
		fmt.Fprintf(w, "RemoteAddr: %s\n", rep.RemoteAddr)
		fmt.Fprintf(w, "%s %s %s\n", r.Method, rep.URL, r.Proto)
		fmt.Fprintf(w, "Host: %s\n", r.Host)
		keys := make([]string, 0, len(r.Header))
		for k := range r.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, v := range r.Header[k] {
				fmt.Fprintf(w, "%s: %s\n", k, v)
			}
		}
		if rep.Environment != nil {
			env := os.Environ()
			sort.Strings(env)
			for _, kv := range env {
				fmt.Fprintln(w, kv)
			}
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil && len(body) > 0 {
			fmt.Fprintf(w, "\n%s\n", body)
		}
	}
}

func apiHandler(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !wait(w, r) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(newReport(name, r)); err != nil {
			log.Printf("api: %v", err)
		}
	}
}

var units = map[string]int64{"": 1, "b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30}

func dataHandler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size := int64(1)
	if raw := q.Get("size"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 {
			http.Error(w, fmt.Sprintf("size: %q is not a non-negative integer", raw), http.StatusBadRequest)
			return
		}
		size = n
	}
	unit, ok := units[strings.ToLower(q.Get("unit"))]
	if !ok {
		http.Error(w, fmt.Sprintf("unit: %q is not one of B, KB, MB, GB", q.Get("unit")), http.StatusBadRequest)
		return
	}
	total := size * unit
	if q.Get("attachment") == "true" {
		w.Header().Set("Content-Disposition", `attachment; filename="data.txt"`)
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.FormatInt(total, 10))
	line := []byte(strings.Repeat("-", 63) + "\n")
	for written := int64(0); written < total; {
		chunk := line
		if rest := total - written; rest < int64(len(chunk)) {
			chunk = chunk[:rest]
		}
		n, err := w.Write(chunk)
		if err != nil {
			return
		}
		written += int64(n)
	}
}

func benchHandler(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Connection", "keep-alive")
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprint(w, "1")
}

func logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s %s", r.RemoteAddr, r.Method, r.URL.RequestURI())
		next.ServeHTTP(w, r)
	})
}

func newMux(c config) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/health", &health{code: http.StatusOK})
	mux.HandleFunc("/api", apiHandler(c.name))
	mux.HandleFunc("/data", dataHandler)
	mux.HandleFunc("/bench", benchHandler)
	mux.HandleFunc("/", whoamiHandler(c.name))
	if c.verbose {
		return logged(mux)
	}
	return mux
}

func main() {
	c, err := parseFlags(os.Args[1:])
	if err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		log.Fatal(err)
	}
	server := &http.Server{
		Addr:              ":" + c.port,
		Handler:           newMux(c),
		ReadHeaderTimeout: 10 * time.Second,
	}
	if c.cert != "" {
		log.Printf("Starting up with TLS on port %s", c.port)
		log.Fatal(server.ListenAndServeTLS(c.cert, c.key))
	}
	log.Printf("Starting up on port %s", c.port)
	log.Fatal(server.ListenAndServe())
}
