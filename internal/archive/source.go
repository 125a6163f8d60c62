// Package archive reads a trail's log files: from its S3 bucket or from a
// local directory laid out like one (for example after `aws s3 sync`).
package archive

import (
	"context"
	"io"
)

// Source is where a trail's files are read from. Listing and opening are all
// the readers of the archive need, so the S3 bucket and a local copy of it
// are read by the same engines.
type Source interface {
	// List returns what lies under prefix. With delimiter "/" it returns the
	// objects directly under prefix and the common prefixes one level down
	// (each ending in "/"); with "" every object under prefix. Objects come
	// in key order.
	List(ctx context.Context, prefix, delimiter string) (Listing, error)
	// Open returns an object's body and what the store says of it. The
	// error of a missing object satisfies errors.Is(err, fs.ErrNotExist),
	// that of a denied one errors.Is(err, fs.ErrPermission); both keep the
	// store's own reason (the S3 error code) in their message.
	Open(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)
	// Name says which store this is in messages: s3://bucket or a
	// directory's path.
	Name() string
}

// Listing is one List answer.
type Listing struct {
	Objects  []ObjectInfo
	Prefixes []string
}

// ObjectInfo is an object's key, its stored (compressed) size and its user
// metadata, keys in lower case without the x-amz-meta- prefix (a directory
// has none).
type ObjectInfo struct {
	Key      string
	Size     int64
	Metadata map[string]string
}
