package athena

import (
	"encoding/base64"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// The catalog reads of the Athena API: GetDatabase, ListDatabases,
// GetTableMetadata and ListTableMetadata.

type catalogInput struct {
	CatalogName  *string
	DatabaseName *string
	TableName    *string
	Expression   *string
	NextToken    *string
	MaxResults   *int
	WorkGroup    *string
}

const maxMetadataPage = 50

// catalogRequest decodes a catalog read's input and checks the
// parameters every catalog read shares: the catalog, which must be
// AwsDataCatalog, and the page.
func catalogRequest(body []byte) (*catalogInput, *apiError) {
	in := &catalogInput{}
	if e := decode(body, in); e != nil {
		return nil, e
	}
	switch {
	case in.CatalogName == nil:
		return nil, missingParameter("catalogName")
	case !strings.EqualFold(*in.CatalogName, catalogName):
		return nil, invalidRequest("DATACATALOG_NOT_FOUND", "Catalog '%s' does not exist", *in.CatalogName)
	case in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > maxMetadataPage):
		return nil, validationError("Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and %d", *in.MaxResults, maxMetadataPage)
	case in.NextToken != nil && *in.NextToken == "":
		return nil, validationError("Value '' at 'nextToken' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	return in, nil
}

// databaseLocked finds the database a catalog read names. s.mu is held.
func (s *Service) databaseLocked(c awsapi.Caller, in *catalogInput) (*database, *apiError) {
	if in.DatabaseName == nil {
		return nil, missingParameter("databaseName")
	}
	d := s.catalogLocked(scope(c)).Databases[normalizeName(*in.DatabaseName)]
	if d == nil {
		return nil, entityNotFound()
	}
	return d, nil
}

type databaseOutput struct {
	Name        string
	Description string            `json:",omitempty"`
	Parameters  map[string]string `json:",omitempty"`
}

func (d *database) output() databaseOutput {
	return databaseOutput{Name: d.Name, Description: d.Description, Parameters: d.Parameters}
}

func (s *Service) getDatabase(c awsapi.Caller, body []byte) (any, *apiError) {
	in, e := catalogRequest(body)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, e := s.databaseLocked(c, in)
	if e != nil {
		return nil, e
	}
	return map[string]any{"Database": d.output()}, nil
}

func (s *Service) listDatabases(c awsapi.Caller, body []byte) (any, *apiError) {
	in, e := catalogRequest(body)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dbs := s.catalogLocked(scope(c)).Databases
	names, next, e := page(slices.Sorted(maps.Keys(dbs)), in)
	if e != nil {
		return nil, e
	}
	list := make([]databaseOutput, len(names))
	for i, n := range names {
		list[i] = dbs[n].output()
	}
	out := map[string]any{"DatabaseList": list}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (s *Service) getTableMetadata(c awsapi.Caller, body []byte) (any, *apiError) {
	in, e := catalogRequest(body)
	if e != nil {
		return nil, e
	}
	if in.TableName == nil {
		return nil, missingParameter("tableName")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, e := s.databaseLocked(c, in)
	if e != nil {
		return nil, e
	}
	t := d.Tables[normalizeName(*in.TableName)]
	if t == nil {
		return nil, entityNotFound()
	}
	return map[string]any{"TableMetadata": t.metadata()}, nil
}

func (s *Service) listTableMetadata(c awsapi.Caller, body []byte) (any, *apiError) {
	in, e := catalogRequest(body)
	if e != nil {
		return nil, e
	}
	var filter *regexp.Regexp
	if in.Expression != nil && *in.Expression != "" {
		var err error
		if filter, err = regexp.Compile("^(?:" + *in.Expression + ")$"); err != nil {
			return nil, invalidRequest("INVALID_INPUT", "Expression %q is not a valid regular expression: %v", *in.Expression, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, e := s.databaseLocked(c, in)
	if e != nil {
		return nil, e
	}
	var matching []string
	for _, n := range slices.Sorted(maps.Keys(d.Tables)) {
		if filter == nil || filter.MatchString(n) {
			matching = append(matching, n)
		}
	}
	names, next, e := page(matching, in)
	if e != nil {
		return nil, e
	}
	list := make([]tableMetadata, len(names))
	for i, n := range names {
		list[i] = d.Tables[n].metadata()
	}
	out := map[string]any{"TableMetadataList": list}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

// page returns the names of one page of a sorted listing, and the token
// of the next page (the last name returned, opaque to clients).
func page(names []string, in *catalogInput) (pageNames []string, next string, e *apiError) {
	limit := maxMetadataPage
	if in.MaxResults != nil {
		limit = *in.MaxResults
	}
	start := 0
	if in.NextToken != nil {
		after, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil {
			return nil, "", invalidRequest("INVALID_INPUT", "Malformed nextToken %s", *in.NextToken)
		}
		for start < len(names) && names[start] <= string(after) {
			start++
		}
	}
	end := min(start+limit, len(names))
	if end < len(names) {
		next = base64.RawURLEncoding.EncodeToString([]byte(names[end-1]))
	}
	return names[start:end], next, nil
}
