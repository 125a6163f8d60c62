package athena

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// cloudTrailInputFormat reads a CloudTrail log file's Records array, one
// row a record; other input formats read one JSON document a line.
const cloudTrailInputFormat = "com.amazon.emr.cloudtrail.CloudTrailInputFormat"

// jsonSerDes are the serdes the sandbox reads tables with: JSON
// documents, their keys matched to columns whatever their case.
var jsonSerDes = map[string]bool{
	"org.apache.hive.hcatalog.data.JsonSerDe":   true,
	"org.openx.data.jsonserde.JsonSerDe":        true,
	"com.amazon.emr.hive.serde.CloudTrailSerde": true,
}

// dataFile is an object a query reads, and the partition it belongs to.
type dataFile struct {
	bucket, key string
	size        int64
	partition   map[string]string
}

func (f dataFile) url() string { return "s3://" + f.bucket + "/" + f.key }

// listFiles finds the files of a table's partitions (all of the table's
// location for an unpartitioned table): every object under a partition's
// location, at any depth, except hidden ones (a name that starts with _
// or .). The bucket is listed once under the partitions' common prefix,
// as the partitions of a query share most of their path.
func (s *Service) listFiles(t *table, partitions []map[string]string) ([]dataFile, error) {
	type place struct {
		prefix string
		values map[string]string
	}
	var bucket string
	var places []place
	add := func(location string, values map[string]string) error {
		b, prefix, ok := parseS3URL(location)
		if !ok {
			return userError("HIVE_INVALID_METADATA", errTypeInvalidMetadata, "Location %s is not an s3:// location", location)
		}
		if bucket != "" && b != bucket {
			return userError("NOT_SUPPORTED", errTypeNotSupported, "the sandbox reads a table's partitions from one bucket, not %s and %s", bucket, b)
		}
		bucket = b
		if prefix != "" {
			prefix += "/"
		}
		places = append(places, place{prefix: prefix, values: values})
		return nil
	}
	if len(t.PartitionKeys) == 0 {
		if err := add(t.Location, nil); err != nil {
			return nil, err
		}
	}
	for _, p := range partitions {
		if err := add(partitionLocation(t, p), p); err != nil {
			return nil, err
		}
	}
	if len(places) == 0 {
		return nil, nil
	}
	sort.Slice(places, func(i, j int) bool { return places[i].prefix < places[j].prefix })
	common := commonPrefix(places[0].prefix, places[len(places)-1].prefix)
	objects, err := s.cfg.Objects.ListObjects(bucket, common)
	if err != nil {
		return nil, userError("HIVE_FILESYSTEM_ERROR", errTypeBadData, "Listing s3://%s/%s: %v", bucket, common, err)
	}
	var files []dataFile
	for _, o := range objects {
		// Partition locations do not nest, so the one place a key can be
		// under is the last that sorts before it.
		i := sort.Search(len(places), func(i int) bool { return places[i].prefix > o.Key }) - 1
		if i < 0 || !strings.HasPrefix(o.Key, places[i].prefix) || hidden(o.Key[len(places[i].prefix):]) {
			continue
		}
		files = append(files, dataFile{bucket: bucket, key: o.Key, size: o.Size, partition: places[i].values})
	}
	return files, nil
}

func commonPrefix(a, b string) string {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return a[:n]
}

// hidden reports whether a path below a location names a hidden file or
// folder, or is a folder marker.
func hidden(rel string) bool {
	if rel == "" || strings.HasSuffix(rel, "/") {
		return true
	}
	for _, seg := range strings.Split(rel, "/") {
		if strings.HasPrefix(seg, "_") || strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}

// readRecords reads a file's records as the table's input format does:
// gzip decompressed by its .gz extension, as Hadoop picks codecs, then
// CloudTrail's Records array or one JSON document a line.
func readRecords(t *table, f dataFile, body []byte) ([]jsonObject, error) {
	var r io.Reader = bytes.NewReader(body)
	if strings.HasSuffix(f.key, ".gz") {
		if len(body) == 0 {
			return nil, nil
		}
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, badData(f, err)
		}
		r = zr
	}
	if t.InputFormat == cloudTrailInputFormat {
		return cloudTrailRecords(f, r)
	}
	var records []jsonObject
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 64<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		obj, ok := decodeObject(line)
		if !ok {
			return nil, badData(f, fmt.Errorf("a line is not a JSON object"))
		}
		records = append(records, obj)
	}
	if err := sc.Err(); err != nil {
		return nil, badData(f, err)
	}
	return records, nil
}

// cloudTrailRecords reads the elements of a log file's top-level Records
// array; a JSON object without one holds no records.
func cloudTrailRecords(f dataFile, r io.Reader) ([]jsonObject, error) {
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, badData(f, errors.New("not a JSON object"))
	}
	var records []jsonObject
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, badData(f, err)
		}
		if t != "Records" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, badData(f, err)
			}
			continue
		}
		var raws []json.RawMessage
		if err := dec.Decode(&raws); err != nil {
			return nil, badData(f, err)
		}
		for _, raw := range raws {
			obj, ok := decodeObject(raw)
			if !ok {
				return nil, badData(f, errors.New("a record is not a JSON object"))
			}
			records = append(records, obj)
		}
	}
	return records, nil
}

func badData(f dataFile, err error) *queryFailure {
	return userError("HIVE_CURSOR_ERROR", errTypeBadData, "Error reading %s: %v", f.url(), err)
}
