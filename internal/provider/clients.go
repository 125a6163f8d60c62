package provider

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
)

// clientsFrom turns the provider data a resource or data source receives in
// Configure into the client set. Nil data (the provider not yet configured,
// as during validation) yields nil without error.
func clientsFrom(data any, diags *diag.Diagnostics) *awsclient.Clients {
	if data == nil {
		return nil
	}
	c, ok := data.(*awsclient.Clients)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("expected *awsclient.Clients, got %T; this is a bug in the provider", data))
		return nil
	}
	return c
}

// addConfigError attaches a configuration error to the provider argument it
// names, so that Terraform points at the line at fault.
func addConfigError(resp *provider.ConfigureResponse, err error) {
	var cfgErr *awsclient.Error
	if !errors.As(err, &cfgErr) {
		resp.Diagnostics.AddError("Configuring the opsaudit provider", err.Error())
		return
	}
	if cfgErr.Attribute == "" {
		resp.Diagnostics.AddError(cfgErr.Summary, cfgErr.Err.Error())
		return
	}
	p := path.Empty()
	for _, step := range strings.Split(cfgErr.Attribute, ".") {
		p = p.AtName(step)
	}
	resp.Diagnostics.AddAttributeError(p, cfgErr.Summary, cfgErr.Err.Error())
}
