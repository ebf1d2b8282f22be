package specfile

import (
	"bytes"
	_ "embed"
)

//go:generate go test . -run ^TestSchemaUpToDate$ -update

//go:embed appliance.schema.json
var schemaJSON []byte

// Schema returns the JSON Schema (draft 2020-12) of spec files, generated
// from the Document types (their comments are its descriptions). Editors
// and CI can check a file against it; Parse checks the same and more
// (files exist, dates in order, what appliance.Spec.Validate refuses).
// A YAML file is checked as the JSON it converts to.
func Schema() []byte { return bytes.Clone(schemaJSON) }
