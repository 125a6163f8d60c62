package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Dir is a local copy of a bucket, as `aws s3 sync s3://bucket dir` leaves
// it: the object with key k is the file dir/k. Keys cannot reach outside
// the directory.
type Dir struct {
	path string
	root *os.Root
}

// OpenDir opens the directory at path as a Source; Close releases it.
func OpenDir(path string) (*Dir, error) {
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("opening archive directory: %w", err)
	}
	return &Dir{path: path, root: root}, nil
}

// Close closes the directory.
func (d *Dir) Close() error { return d.root.Close() }

// Name is the directory's path.
func (d *Dir) Name() string { return d.path }

// List lists as ListObjectsV2 does. Only "/" and "" are supported as
// delimiters: a directory has no other separator.
func (d *Dir) List(ctx context.Context, prefix, delimiter string) (Listing, error) {
	if delimiter != "" && delimiter != "/" {
		return Listing{}, fmt.Errorf("listing %s: a directory lists by %q only, not %q", d.path, "/", delimiter)
	}
	// The prefix names a folder and, after its last "/", the start of
	// the names in it.
	folder, start := "", prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		folder, start = prefix[:i+1], prefix[i+1:]
	}
	var l Listing
	err := d.list(ctx, folder, start, delimiter == "", &l)
	if err != nil {
		return Listing{}, fmt.Errorf("listing %s under %s: %w", prefix, d.path, err)
	}
	// A folder's entries come sorted by name, but keys sort differently
	// once a folder's name is followed by "/" (a-b sorts before a/).
	slices.SortFunc(l.Objects, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	slices.Sort(l.Prefixes)
	return l, nil
}

// list adds to l the entries of folder whose names start with start,
// descending into subfolders when recursive.
func (d *Dir) list(ctx context.Context, folder, start string, recursive bool, l *Listing) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := d.readDir(folder)
	if errors.Is(err, fs.ErrNotExist) {
		// As in S3, a prefix nothing is under lists empty.
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), start) {
			continue
		}
		key := folder + e.Name()
		// A symbolic link is what it points to (inside the directory).
		info, err := d.root.Stat(filepath.FromSlash(key))
		if err != nil {
			return err
		}
		switch {
		case info.IsDir() && recursive:
			if err := d.list(ctx, key+"/", "", true, l); err != nil {
				return err
			}
		case info.IsDir():
			l.Prefixes = append(l.Prefixes, key+"/")
		case info.Mode().IsRegular():
			l.Objects = append(l.Objects, ObjectInfo{Key: key, Size: info.Size()})
		}
	}
	return nil
}

func (d *Dir) readDir(folder string) ([]fs.DirEntry, error) {
	name := strings.TrimSuffix(folder, "/")
	if name == "" {
		name = "."
	}
	f, err := d.root.Open(filepath.FromSlash(name))
	if err != nil {
		return nil, err
	}
	entries, err := f.ReadDir(-1)
	return entries, errors.Join(err, f.Close())
}

// Open opens the file of key.
func (d *Dir) Open(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, ObjectInfo{}, err
	}
	if !fs.ValidPath(key) {
		return nil, ObjectInfo{}, fmt.Errorf("opening %s in %s: %w", key, d.path, fs.ErrNotExist)
	}
	f, err := d.root.Open(filepath.FromSlash(key))
	if err != nil {
		return nil, ObjectInfo{}, fmt.Errorf("opening %s in %s: %w", key, d.path, err)
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a file: %w", key, fs.ErrNotExist)
	}
	if err != nil {
		return nil, ObjectInfo{}, errors.Join(fmt.Errorf("opening %s in %s: %w", key, d.path, err), f.Close())
	}
	return f, ObjectInfo{Key: key, Size: info.Size()}, nil
}
