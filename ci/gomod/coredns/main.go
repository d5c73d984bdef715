// Command coredns is CoreDNS built with only the plugins the charthouse test
// cluster's DNS needs: cluster names from the Kubernetes API, health and
// readiness endpoints, metrics, caching and config reload.
//
// The forward plugin is left out on purpose: pods of the test cluster must not
// resolve (and so must not reach) names outside the cluster. The stock
// coredns binary links ~60 plugins; this one links ten, so it builds faster
// and `coredns -plugins` shows exactly what the cluster can do.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

// Directives replaces CoreDNS's generated list (core/dnsserver/zdirectives.go)
// with the plugins linked above, in the same relative order: the order in
// which a request passes through them.
var directives = []string{
	"reload",
	"ready",
	"health",
	"prometheus",
	"errors",
	"log",
	"loadbalance",
	"cache",
	"kubernetes",
	"loop",
}

func main() {
	dnsserver.Directives = directives
	coremain.Run()
}
