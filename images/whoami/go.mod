// Stand-in for traefik/whoami (see main.go): no dependencies beyond the standard library.
module charthouse.local/images/whoami

go 1.26
