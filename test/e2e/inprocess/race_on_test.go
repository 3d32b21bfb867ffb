//go:build race

package inprocess

const raceDetector = true
