package admin

import (
	"maps"

	"github.com/switchboard-dev/switchboard/knowledge"
)

// withKnowledgeSchemas adds the component schemas of the knowledge endpoints (document
// sets, documents, connectors, indexing runs; ADMIN-API §9.9–§9.12) to base.
func withKnowledgeSchemas(base obj) obj {
	maps.Copy(base, knowledgeSchemas())
	return base
}

func knowledgeSchemas() obj {
	nuuid := obj{"type": []string{"string", "null"}, "format": "uuid"}
	nurl := obj{"type": []string{"string", "null"}, "format": "uri", "maxLength": 2048}
	aclOrNull := obj{"anyOf": []obj{ref("ACL"), {"type": "null"}}}
	aclWrite := obj{
		"type": []string{"object", "null"}, "additionalProperties": false,
		"description": "absent or null: visible to every session of the org; {} locks the document",
		"properties": obj{
			"public": obj{"type": []string{"boolean", "null"}, "default": false},
			"users": obj{"type": []string{"array", "null"}, "maxItems": knowledge.MaxACLEntries,
				"description": "identities jwt:<sub> or ctx:<userId>; a bare entry means ctx:<entry>", "items": strLen(1, 260)},
			"groups": obj{"type": []string{"array", "null"}, "maxItems": knowledge.MaxACLEntries, "items": strLen(1, knowledge.MaxACLEntryChars)},
		},
	}
	return obj{
		"ACL": all(obj{"public": boolean(), "users": strs(), "groups": strs()}),

		"DocumentSet":     all(obj{"name": str(), "documentCount": integer(), "updatedAt": nstamp()}),
		"DocumentSetList": pageOf("documentSets", "DocumentSet"),

		"Document": all(obj{
			"id": str(), "documentSet": str(), "title": str(), "url": nstr(), "acl": aclOrNull, "connectorId": nuuid,
			"contentBytes": integer(), "chunkCount": integer(), "createdAt": stamp(), "updatedAt": stamp(),
		}),
		"DocumentList": pageOf("documents", "Document"),
		"DocumentsIngest": object([]string{"documents"}, obj{
			"documents": obj{
				"type": "array", "minItems": 1, "maxItems": knowledge.MaxDocumentsPerRequest,
				"description": "ids distinct within the request; the 2 MiB body limit takes precedence",
				"items": object([]string{"title", "content"}, obj{
					"id":      obj{"type": []string{"string", "null"}, "pattern": `^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$`, "description": "default: a generated UUID"},
					"title":   strLen(1, knowledge.MaxTitleChars),
					"url":     nurl,
					"content": obj{"type": "string", "minLength": 1, "description": "1..1048576 bytes of UTF-8 text"},
					"acl":     aclWrite,
				}),
			},
		}),
		"IngestAccepted": all(obj{"run": ref("Run"), "documentIds": strs()}),

		"Run": all(obj{
			"id": uuidS(), "connectorId": nuuid, "documentSet": str(), "status": enum(knowledge.Statuses...),
			"connectorName": obj{"type": []string{"string", "null"}, "description": "the connector's current name; null for ingestion runs and once the connector is deleted"},
			"createdAt":     stamp(), "startedAt": nstamp(), "finishedAt": nstamp(), "documentsSeen": integer(),
			"documentsIndexed": integer(), "chunksIndexed": integer(), "documentsSkipped": integer(), "error": nstr(),
		}),
		"RunEnvelope": envelope("run", "Run"),
		"RunList":     pageOf("runs", "Run"),

		"WebConfig": all(obj{
			"urls":     obj{"type": []string{"array", "null"}, "items": str()},
			"url":      obj{"type": []string{"string", "null"}, "description": "the first of urls (null with a sitemap); never stored"},
			"sitemap":  nstr(),
			"maxPages": nint(1, knowledge.MaxWebPages), "acl": aclOrNull,
		}),
		"Connector": all(obj{
			"id": uuidS(), "name": str(), "kind": enum(knowledge.KindWeb), "config": ref("WebConfig"),
			"documentSet": str(), "enabled": boolean(), "schedule": nstr(), "createdAt": stamp(), "updatedAt": stamp(),
		}),
		"ConnectorWrite": object([]string{"name", "kind", "config"}, obj{
			"name": strLen(1, knowledge.MaxConnectorNameChars),
			"kind": obj{"type": "string", "enum": []string{knowledge.KindWeb},
				"description": "'github' is reserved: refused with 'connector kind 'github' is not supported yet'; 'file' is refused (a connector never reads the server's disk); the kind cannot change on PUT"},
			"config": obj{
				"type": "object", "additionalProperties": false,
				"description": "web: exactly one of urls (or url, one URL, the same as urls holding it) and sitemap; maxPages only with sitemap",
				"properties": obj{
					"urls":     obj{"type": []string{"array", "null"}, "minItems": 1, "maxItems": knowledge.MaxWebURLs, "items": obj{"type": "string", "format": "uri", "maxLength": 2048}},
					"url":      nurl,
					"sitemap":  nurl,
					"maxPages": obj{"type": []string{"integer", "null"}, "minimum": 1, "maximum": knowledge.MaxWebPages, "default": knowledge.DefaultWebMaxPages},
					"acl":      aclWrite,
				},
			},
			"documentSet": obj{"type": []string{"string", "null"}, "pattern": setNamePattern.String(),
				"description": "omitted or null: on POST the connector's name (made a valid set name), on PUT the connector's current set"},
			"enabled": obj{"type": []string{"boolean", "null"}, "default": true, "description": "false stops scheduled runs only"},
			"schedule": obj{"type": []string{"string", "null"}, "maxLength": knowledge.MaxScheduleChars,
				"description": "@every <duration> (15m..720h), @hourly, @daily, @weekly, or a 5-field cron expression in UTC"},
		}),
		"ConnectorEnvelope": envelope("connector", "Connector"),
		"ConnectorList":     pageOf("connectors", "Connector"),
	}
}
