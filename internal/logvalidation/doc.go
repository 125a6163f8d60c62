// Package logvalidation checks the integrity of a trail's log files as
// `aws cloudtrail validate-logs` does, with the same verdict on every file:
// it walks each source region's chain of signed digest files, verifies
// every digest's signature with CloudTrail's public key, and hashes every
// log file a valid digest lists. Unlike the AWS CLI (one region per run,
// one file at a time) it walks every region at once and reads and hashes
// files in parallel.
package logvalidation
