package archive

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// dirKeys is a small bucket copy whose keys sort differently from its
// folders' entries ("a-b" before "a/").
var dirKeys = []string{"AWSLogs/a-b", "AWSLogs/a/1.json.gz", "AWSLogs/a/2/x.json.gz", "AWSLogs/ab/y", "top"}

func dirFixture(t *testing.T) *Dir {
	dir := t.TempDir()
	for _, k := range dirKeys {
		writeFile(t, dir, k, []byte(k))
	}
	return openDir(t, dir)
}

func TestDirList(t *testing.T) {
	d := dirFixture(t)
	for _, tc := range []struct {
		prefix, delimiter string
		objects, prefixes []string
	}{
		{"", "", dirKeys, nil},
		{"", "/", []string{"top"}, []string{"AWSLogs/"}},
		{"AWSLogs/", "/", []string{"AWSLogs/a-b"}, []string{"AWSLogs/a/", "AWSLogs/ab/"}},
		{"AWSLogs/a", "/", []string{"AWSLogs/a-b"}, []string{"AWSLogs/a/", "AWSLogs/ab/"}},
		{"AWSLogs/a", "", []string{"AWSLogs/a-b", "AWSLogs/a/1.json.gz", "AWSLogs/a/2/x.json.gz", "AWSLogs/ab/y"}, nil},
		{"AWSLogs/a/", "/", []string{"AWSLogs/a/1.json.gz"}, []string{"AWSLogs/a/2/"}},
		{"AWSLogs/missing/", "/", nil, nil},
		{"nothing/at/all/", "", nil, nil},
	} {
		l, err := d.List(context.Background(), tc.prefix, tc.delimiter)
		if err != nil {
			t.Fatalf("List(%q, %q): %v", tc.prefix, tc.delimiter, err)
		}
		var keys []string
		for _, o := range l.Objects {
			keys = append(keys, o.Key)
			if o.Size != int64(len(o.Key)) {
				t.Errorf("%s: size %d", o.Key, o.Size)
			}
		}
		if !slices.Equal(keys, tc.objects) || !slices.Equal(l.Prefixes, tc.prefixes) {
			t.Errorf("List(%q, %q) = %v %v, want %v %v", tc.prefix, tc.delimiter, keys, l.Prefixes, tc.objects, tc.prefixes)
		}
	}
	if _, err := d.List(context.Background(), "", ","); err == nil {
		t.Error("a directory listed by a comma")
	}
}

func TestDirOpen(t *testing.T) {
	d := dirFixture(t)
	body, info, err := d.Open(context.Background(), "AWSLogs/a/2/x.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(body)
	if err != nil || string(data) != "AWSLogs/a/2/x.json.gz" || info.Size != int64(len(data)) {
		t.Errorf("read %q (%v), size %d", data, err, info.Size)
	}
	if err := body.Close(); err != nil {
		t.Error(err)
	}
	for _, key := range []string{"AWSLogs/a/3.json.gz", "AWSLogs/a", "../outside", "/etc/passwd"} {
		if _, _, err := d.Open(context.Background(), key); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%q) = %v, want not found", key, err)
		}
	}
}

// TestDirStaysInside: a symbolic link out of the directory is not
// followed.
func TestDirStaysInside(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, outside, "secret.json.gz", []byte("secret"))
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(outside, "secret.json.gz"), filepath.Join(dir, "link.json.gz")); err != nil {
		t.Fatal(err)
	}
	d := openDir(t, dir)
	if _, _, err := d.Open(context.Background(), "link.json.gz"); err == nil {
		t.Error("Open followed a link out of the directory")
	}
	if _, err := d.List(context.Background(), "", "/"); err == nil {
		t.Error("List followed a link out of the directory")
	}
	if _, err := OpenDir(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenDir of a missing directory: %v", err)
	}
}
