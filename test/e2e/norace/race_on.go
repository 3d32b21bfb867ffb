//go:build race

package norace

// raceDetector says this binary was built with -race.
const raceDetector = true
