package awsapi

import "time"

// Object is an object one service writes into another's storage, as
// CloudTrail delivers log files into S3.
type Object struct {
	Key         string
	Body        []byte
	ContentType string
	// Metadata is user metadata by name, without the x-amz-meta- prefix.
	Metadata     map[string]string
	LastModified time.Time
}

// BucketSeed is a bucket that exists from the start, as the bucket of a
// trail that was logging long before the sandbox started. It is made
// again at every start, so it is never written to the data directory; its
// objects are made part by part, the first time a request reads under a
// part's prefix, so that a sandbox nobody asks about them costs nothing.
type BucketSeed struct {
	Name    string
	Account string
	Region  string
	Policy  string
	Created time.Time
	Parts   []SeedPart
}

// SeedPart is the objects under one prefix of a seeded bucket.
type SeedPart struct {
	Prefix string
	// Fill makes the part's objects. It is called at most once, without
	// any of the sandbox's locks held.
	Fill func() ([]Object, error)
}
