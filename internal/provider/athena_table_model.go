package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/athenaquery"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
)

// athenaTableModel is opsaudit_athena_table's state.
type athenaTableModel struct {
	ID               types.String   `tfsdk:"id"`
	Database         types.String   `tfsdk:"database"`
	Name             types.String   `tfsdk:"name"`
	Trail            types.String   `tfsdk:"trail"`
	Bucket           types.String   `tfsdk:"bucket"`
	S3KeyPrefix      types.String   `tfsdk:"s3_key_prefix"`
	OrganizationID   types.String   `tfsdk:"organization_id"`
	AccountIDs       types.Set      `tfsdk:"account_ids"`
	Regions          types.Set      `tfsdk:"regions"`
	StartDate        types.String   `tfsdk:"start_date"`
	Workgroup        types.String   `tfsdk:"workgroup"`
	OutputLocation   types.String   `tfsdk:"output_location"`
	DDL              types.String   `tfsdk:"ddl"`
	LocationTemplate types.String   `tfsdk:"location_template"`
	Timeouts         timeouts.Value `tfsdk:"timeouts"`
}

// athenaTableID is the import id and the resource id: database.table.
func athenaTableID(database, name string) string { return database + "." + name }

// locationKnown reports whether the archive's location is known: after
// the trail is read, or from bucket at once.
func (m *athenaTableModel) locationKnown() bool {
	return !m.Bucket.IsUnknown() && !m.S3KeyPrefix.IsUnknown() && !m.OrganizationID.IsUnknown()
}

// table is the table m describes; ok is false while a value is unknown.
func (m *athenaTableModel) table(ctx context.Context) (t athenaquery.Table, ok bool, diags diag.Diagnostics) {
	for _, v := range []interface{ IsUnknown() bool }{m.Database, m.Name, m.AccountIDs, m.Regions, m.StartDate} {
		if v.IsUnknown() {
			return t, false, nil
		}
	}
	if !m.locationKnown() {
		return t, false, nil
	}
	t = athenaquery.Table{
		Database: m.Database.ValueString(),
		Name:     m.Name.ValueString(),
		Bucket:   m.Bucket.ValueString(),
		Location: archive.Location{Prefix: m.S3KeyPrefix.ValueString(), OrganizationID: m.OrganizationID.ValueString()},
	}
	diags.Append(m.AccountIDs.ElementsAs(ctx, &t.AccountIDs, false)...)
	diags.Append(m.Regions.ElementsAs(ctx, &t.Regions, false)...)
	// The validator has accepted the date.
	t.StartDate, _ = time.Parse(time.DateOnly, m.StartDate.ValueString())
	return t, !diags.HasError(), diags
}

// setComputed sets the statement and template t makes, or unknown values
// when t is not known yet.
func (m *athenaTableModel) setComputed(t athenaquery.Table, known bool) error {
	m.ID = types.StringValue(athenaTableID(m.Database.ValueString(), m.Name.ValueString()))
	if !known {
		m.DDL, m.LocationTemplate = types.StringUnknown(), types.StringUnknown()
		return nil
	}
	ddl, err := t.CreateStatement()
	if err != nil {
		return err
	}
	m.DDL, m.LocationTemplate = types.StringValue(ddl), types.StringValue(t.LocationTemplate())
	return nil
}

// fill sets what the catalog reports of the table, read back from
// GetTableMetadata. A table not of the provider's shape keeps an empty
// ddl, so that the next plan replaces it.
func (m *athenaTableModel) fill(ctx context.Context, t athenaquery.Table, shaped bool) diag.Diagnostics {
	var diags diag.Diagnostics
	m.Bucket = types.StringValue(t.Bucket)
	m.S3KeyPrefix = types.StringValue(t.Location.Prefix)
	m.OrganizationID = types.StringValue(t.Location.OrganizationID)
	m.AccountIDs = stringSet(ctx, t.AccountIDs, &diags)
	m.Regions = stringSet(ctx, t.Regions, &diags)
	if t.StartDate.IsZero() {
		m.StartDate = types.StringValue("")
	} else {
		m.StartDate = types.StringValue(t.StartDate.Format(time.DateOnly))
	}
	if !shaped {
		m.DDL, m.LocationTemplate = types.StringValue(""), types.StringValue("")
		m.ID = types.StringValue(athenaTableID(t.Database, t.Name))
		return diags
	}
	if err := m.setComputed(t, true); err != nil {
		diags.AddError("Reading Athena table", fmt.Sprintf("The table read back cannot be written as a statement: %s.", err))
	}
	return diags
}

func stringSet(ctx context.Context, values []string, diags *diag.Diagnostics) types.Set {
	if values == nil {
		values = []string{}
	}
	s, d := types.SetValueFrom(ctx, types.StringType, values)
	diags.Append(d...)
	return s
}

// readTrail sets the location from the trail: its bucket and key prefix
// and, for an organization trail, the organization's folder in the
// bucket, as the data sources that read the archive find them.
func (m *athenaTableModel) readTrail(ctx context.Context, clients *awsclient.Clients) error {
	info, err := readTrailSettings(ctx, clients, m.Trail.ValueString())
	if err != nil {
		return err
	}
	_, loc, err := trailArchive(ctx, clients, info)
	if err != nil {
		return err
	}
	m.Bucket, m.S3KeyPrefix = types.StringValue(info.S3BucketName), types.StringValue(loc.Prefix)
	m.OrganizationID = types.StringValue(loc.OrganizationID)
	return nil
}
