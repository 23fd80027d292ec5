package events

import (
	"embed"
	"fmt"
	"io/fs"
)

// schemaFiles holds the JSON Schemas (draft 2020-12) of every event's data,
// one file per type plus defs.json, which the others reference. The file
// schema/v1/<name>.json is published at SchemaBase + "<name>.json".
//
//go:embed schema/v1/*.json
var schemaFiles embed.FS

// SchemaFS returns the schema files, named "<name>.json", for tools that
// serve or compile them; every $ref between them is relative to SchemaBase.
func SchemaFS() fs.FS {
	sub, err := fs.Sub(schemaFiles, "schema/v1")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// Schema returns the JSON Schema of typ's data.
func Schema(typ string) ([]byte, error) {
	name := SchemaName(typ)
	if name == "" {
		return nil, fmt.Errorf("no schema for event type %q", typ)
	}
	return fs.ReadFile(SchemaFS(), name+".json")
}
