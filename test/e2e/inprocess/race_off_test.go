//go:build !race

package inprocess

const raceDetector = false
