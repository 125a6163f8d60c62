//go:build race

package sandboxtest

// raceDetector is true in a test binary built with -race: the sandbox
// command it starts is built with the race detector too, so that tests
// driving the command with the AWS CLI's concurrent transfers check the
// command's goroutines as well.
const raceDetector = true
