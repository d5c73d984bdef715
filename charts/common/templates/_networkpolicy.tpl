{{/*
common.networkPolicy.dnsEgress: the NetworkPolicy egress rule for name lookups:
port 53 over UDP and TCP to any address, so it works with every cluster DNS
(CoreDNS pods, NodeLocal DNSCache on a link-local address, a resolver outside
the cluster), none of which a pod selector could name for every cluster.
Usage: {{- include "common.networkPolicy.dnsEgress" . | nindent 4 }}
*/}}
{{- define "common.networkPolicy.dnsEgress" -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end -}}
