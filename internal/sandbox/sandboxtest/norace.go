//go:build !race

package sandboxtest

// raceDetector is false in a test binary built without -race (see
// race.go).
const raceDetector = false
