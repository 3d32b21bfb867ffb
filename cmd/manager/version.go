package main

// version is the release the binary was built for, set at build time as
// for cmd/membergate: go build -ldflags "-X main.version=$(VERSION)" (the
// Makefile's VERSION; the Dockerfile's VERSION build argument).
var version = "dev"
