package admin

import "slices"

// Component schemas of the OpenAPI document (JSON Schema 2020-12, as OpenAPI 3.1 uses).
// Request bodies forbid additional properties at every level except tool parameters and
// the publish event; response objects list every field the server sends.

func object(required []string, props obj) obj {
	if required == nil {
		required = []string{}
	}
	return obj{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

// all lists every property as required: resource objects always carry every field.
func all(props obj) obj {
	req := make([]string, 0, len(props))
	for k := range props {
		req = append(req, k)
	}
	slices.Sort(req)
	return object(req, props)
}

func str() obj     { return obj{"type": "string"} }
func nstr() obj    { return obj{"type": []string{"string", "null"}} }
func uuidS() obj   { return obj{"type": "string", "format": "uuid"} }
func stamp() obj   { return obj{"type": "string", "format": "date-time"} }
func nstamp() obj  { return obj{"type": []string{"string", "null"}, "format": "date-time"} }
func boolean() obj { return obj{"type": "boolean"} }
func integer() obj { return obj{"type": "integer"} }
func nint(min, max int64) obj {
	return obj{"type": []string{"integer", "null"}, "minimum": min, "maximum": max}
}
func strs() obj                 { return obj{"type": "array", "items": str()} }
func list(item string) obj      { return obj{"type": "array", "items": ref(item)} }
func enum(values ...string) obj { return obj{"type": "string", "enum": values} }
func strLen(min, max int) obj   { return obj{"type": "string", "minLength": min, "maxLength": max} }
func nstrLen(min, max int) obj {
	return obj{"type": []string{"string", "null"}, "minLength": min, "maxLength": max}
}

func pageOf(items, item string) obj {
	return all(obj{items: list(item), "nextCursor": obj{
		"type":        []string{"string", "integer", "null"},
		"description": "null when no more rows existed; the next offset (an integer) when the request's cursor was an offset; otherwise an opaque cursor",
	}})
}

func envelope(key, item string) obj { return all(obj{key: ref(item)}) }

func schemas() obj {
	errorBody := object([]string{"code", "message"}, obj{
		"code": enum("UNAUTHENTICATED", "INVALID_TOKEN", "MISSING_ROLE", "FORBIDDEN", "NOT_FOUND", "VALIDATION_ERROR",
			"CONFLICT", "PAYLOAD_TOO_LARGE", "RATE_LIMITED", "INTERNAL_ERROR"),
		"message": str(),
		"field":   str(),
	})
	secretWrite := obj{"type": []string{"string", "null"}, "minLength": 16, "maxLength": 256, "pattern": "^[!-~]+$", "writeOnly": true}
	return obj{
		"Error": all(obj{
			"type":      enum("error"),
			"requestId": str(),
			"error":     errorBody,
			"data":      all(obj{"requestId": str(), "error": errorBody}),
			"timestamp": integer(),
		}),
		"Status":          all(obj{"status": enum("ok")}),
		"OpenAPIDocument": obj{"type": "object"},
		"Readiness": all(obj{
			"status":   enum("ready", "unavailable"),
			"checks":   obj{"type": "object", "additionalProperties": str()},
			"draining": boolean(),
		}),
		"Me": object([]string{"userId", "orgId", "role", "authMethod"}, obj{
			"userId": str(), "orgId": uuidS(), "role": enum("admin", "curator", "basic"),
			"displayName": str(), "email": str(), "groups": strs(), "authMethod": enum("jwt", "apiKey", "dev"),
		}),

		"ApiKey": all(obj{
			"id": uuidS(), "name": str(), "role": enum("admin", "curator", "basic"), "prefix": str(), "last4": str(),
			"createdAt": stamp(), "lastUsedAt": nstamp(),
		}),
		"ApiKeyWrite":   object([]string{"name", "role"}, obj{"name": strLen(1, 128), "role": enum("admin", "curator", "basic")}),
		"ApiKeyCreated": all(obj{"apiKey": ref("ApiKey"), "key": obj{"type": "string", "pattern": "^sbk_[A-Za-z0-9_-]{43}$"}}),
		"ApiKeyList":    pageOf("apiKeys", "ApiKey"),

		"Agent": all(obj{
			"id": uuidS(), "name": str(), "model": nstr(), "systemPrompt": nstr(), "persona": nstr(),
			"confirmTools": strs(), "documentSets": strs(), "maxIterations": nint(1, 64), "maxTokens": nint(1, 128000),
			"enabled": boolean(), "hasToolSigningSecret": boolean(),
			"widget":    all(obj{"allowedOrigins": strs(), "requireAuthContext": boolean(), "hasSigningSecret": boolean()}),
			"createdAt": stamp(), "updatedAt": stamp(),
		}),
		"AgentWrite": object([]string{"name"}, obj{
			"name":              strLen(1, 128),
			"model":             obj{"type": []string{"string", "null"}, "pattern": modelPattern.String()},
			"systemPrompt":      nstrLen(1, maxSystemPromptBytes),
			"persona":           nstrLen(1, maxPersonaBytes),
			"confirmTools":      obj{"type": []string{"array", "null"}, "maxItems": maxConfirmTools, "uniqueItems": true, "items": obj{"type": "string", "pattern": "^[A-Za-z0-9_*?-]{1,128}$"}},
			"documentSets":      obj{"type": []string{"array", "null"}, "maxItems": maxDocumentSets, "uniqueItems": true, "items": obj{"type": "string", "pattern": setNamePattern.String()}},
			"maxIterations":     nint(1, 64),
			"maxTokens":         nint(1, 128000),
			"enabled":           obj{"type": []string{"boolean", "null"}, "default": true},
			"toolSigningSecret": secretWrite,
			"widget": obj{"type": []string{"object", "null"}, "additionalProperties": false, "properties": obj{
				"allowedOrigins":     obj{"type": []string{"array", "null"}, "maxItems": maxAllowedOrigins, "items": strLen(1, maxOriginChars)},
				"requireAuthContext": obj{"type": []string{"boolean", "null"}, "default": false},
				"signingSecret":      secretWrite,
			}},
		}),
		"AgentEnvelope": envelope("agent", "Agent"),
		"AgentList":     pageOf("agents", "Agent"),
		"AgentEmbed": all(obj{
			"agentId": uuidS(), "publicUrl": str(), "scriptUrl": str(), "integrity": obj{"type": "string", "pattern": "^sha384-[A-Za-z0-9+/]{64}$"},
			"loaderUrl": str(), "websocketUrl": str(), "snippet": str(), "contentSecurityPolicy": str(),
			"allowedOrigins": strs(), "requireAuthContext": boolean(),
		}),
		"AgentEmbedEnvelope": envelope("embed", "AgentEmbed"),

		"Tool": all(obj{
			"id": uuidS(), "agentId": uuidS(), "name": str(), "description": str(), "parameters": obj{"type": "object"},
			"url": str(), "kind": enum("http", "builtin"), "requiresApproval": boolean(), "requiresVerification": boolean(), "timeoutMs": integer(),
			"createdAt": stamp(), "updatedAt": stamp(),
		}),
		"ToolWrite": object([]string{"name", "description", "url"}, obj{
			"name":             obj{"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"},
			"description":      strLen(1, 1024),
			"parameters":       obj{"type": []string{"object", "null"}, "description": "a JSON Schema (2020-12) with \"type\": \"object\"; free-form"},
			"url":              obj{"type": "string", "format": "uri", "maxLength": 2048},
			"requiresApproval": obj{"type": []string{"boolean", "null"}, "default": false},
			"requiresVerification": obj{"type": []string{"boolean", "null"}, "default": false,
				"description": "calls run only for a verified visitor (PROTOCOL-1.1 §7.13); checked before requiresApproval"},
			"timeoutMs": obj{"type": []string{"integer", "null"}, "minimum": 100, "maximum": 60000, "default": 10000},
		}),
		"ToolEnvelope": envelope("tool", "Tool"),
		"ToolList":     pageOf("tools", "Tool"),

		"Settings": all(obj{
			"orgId": uuidS(), "model": str(), "systemPrompt": str(), "persona": nstr(), "defaultTools": strs(),
			"maxIterations": nint(1, 64), "maxTokens": nint(1, 128000), "monthlyTokenBudget": nint(0, maxTokenBudget),
			"conversationRetentionDays": nint(1, maxRetentionDays), "updatedAt": nstamp(),
		}),
		// Partial: an omitted field keeps its stored value; null clears a nullable field.
		"SettingsWrite": object(nil, obj{
			"model":              obj{"type": "string", "pattern": modelPattern.String()},
			"systemPrompt":       strLen(1, maxSystemPromptBytes),
			"persona":            nstrLen(1, maxPersonaBytes),
			"defaultTools":       obj{"type": "array", "uniqueItems": true, "items": enum(builtinTools...)},
			"maxIterations":      nint(1, 64),
			"maxTokens":          nint(1, 128000),
			"monthlyTokenBudget": nint(0, maxTokenBudget),
			"conversationRetentionDays": obj{"type": []string{"integer", "null"}, "minimum": 1, "maximum": maxRetentionDays,
				"description": "conversations last active (a message or a rename) more than this many days ago are deleted; null keeps them all"},
		}),
		"SettingsEnvelope": envelope("settings", "Settings"),

		"Conversation": all(conversationProps()),
		"ConversationDetail": all(func() obj {
			p := conversationProps()
			p["participants"] = list("Participant")
			return p
		}()),
		"Participant": all(obj{
			"id": uuidS(), "type": enum("user", "ai-agent", "human-agent"), "name": str(), "email": nstr(),
			"externalId": nstr(), "contactEmail": nstr(), "contactPhone": nstr(), "contactEmailVerifiedAt": nstamp(),
			"createdAt": stamp(),
		}),
		"ConversationEnvelope": envelope("conversation", "ConversationDetail"),
		"ConversationList":     pageOf("conversations", "Conversation"),
		"Message": all(obj{
			"id": uuidS(), "conversationId": uuidS(), "direction": enum("inbound", "outbound"),
			"content": all(obj{
				"items": obj{"type": "array", "items": all(obj{"type": enum("text"), "text": str()})},
				"text":  str(),
			}),
			"from": obj{"anyOf": []obj{
				all(obj{"id": uuidS(), "type": enum("user", "ai-agent", "human-agent"), "name": str()}),
				{"type": "null"},
			}},
			"createdAt": stamp(),
		}),
		"MessageList": pageOf("messages", "Message"),

		"Approval": all(obj{
			"id": uuidS(), "status": enum("pending", "approved", "rejected", "expired", "cancelled"),
			"agentId": uuidS(), "conversationId": uuidS(), "sessionId": uuidS(), "requestId": str(), "toolName": str(),
			"arguments": obj{"type": "object"}, "createdAt": stamp(), "expiresAt": stamp(), "decidedAt": nstamp(),
			"decidedVia": obj{"enum": []any{"widget", "admin", nil}}, "decidedBy": nstr(), "reason": nstr(),
		}),
		"ApprovalDecision": object([]string{"approved"}, obj{"approved": boolean(), "reason": nstrLen(1, 1024)}),
		"ApprovalEnvelope": envelope("approval", "Approval"),
		"ApprovalList":     pageOf("approvals", "Approval"),

		"Erasure": all(obj{
			"conversations": integer(), "messages": integer(), "sessions": integer(), "approvals": integer(),
			"usageEventsKept": integer(), "auditEntriesScrubbed": integer(),
		}),
		"ErasureEnvelope": envelope("erasure", "Erasure"),
		"ExportConversation": all(func() obj {
			p := conversationProps()
			p["metadata"] = obj{"type": []string{"object", "null"}}
			p["participants"] = list("Participant")
			p["sessions"] = obj{"type": "array", "items": all(obj{
				"id": uuidS(), "agentId": uuidS(), "status": enum("active", "idle", "ended"), "userName": str(),
				"contactEmail": nstr(), "supports": strs(), "createdAt": stamp(),
			})}
			p["messages"] = list("Message")
			p["approvals"] = list("Approval")
			return p
		}()),
		"EndUserExport": all(obj{
			"orgId": uuidS(), "endUser": str(), "exportedAt": stamp(),
			"conversations": list("ExportConversation"),
			"usage": obj{"type": "array", "items": all(obj{
				"id": uuidS(), "agentId": uuidS(), "conversationId": obj{"type": []string{"string", "null"}, "format": "uuid"},
				"sessionId": obj{"type": []string{"string", "null"}, "format": "uuid"}, "requestId": nstr(), "model": str(),
				"promptTokens": integer(), "completionTokens": integer(), "costUsd": obj{"type": "number"},
				"outcome": enum("completed", "cancelled", "error"), "createdAt": stamp(),
			})},
			"audit": list("AuditEntry"),
		}),
		"EndUserExportEnvelope": envelope("export", "EndUserExport"),

		"GatewayKey": all(obj{
			"id": uuidS(), "label": str(), "last4": str(), "baseUrl": nstr(), "createdAt": stamp(),
			"revokedAt": nstamp(), "lastUsedAt": nstamp(),
		}),
		"GatewayKeyWrite": object([]string{"label", "key"}, obj{
			"label":   strLen(1, 128),
			"key":     obj{"type": "string", "minLength": 8, "maxLength": 512, "pattern": "^[!-~]+$", "writeOnly": true},
			"baseUrl": obj{"type": []string{"string", "null"}, "format": "uri", "maxLength": 2048},
		}),
		"GatewayKeyEnvelope": envelope("gatewayKey", "GatewayKey"),
		"GatewayKeyList":     pageOf("gatewayKeys", "GatewayKey"),

		"UsageReport": all(obj{
			"rows":   obj{"type": "array", "items": all(usageProps(obj{"bucket": str()}))},
			"totals": all(usageProps(obj{})),
		}),

		"PublishRequest": object([]string{"target", "event"}, obj{
			"target": object([]string{"type", "id"}, obj{"type": enum("session", "conversation", "agent", "org", "user"), "id": str()}),
			"event": obj{
				"type": "object", "required": []string{"type"},
				"properties":  obj{"type": strLen(1, maxEventTypeChars)},
				"description": "free-form JSON object of at most 65536 bytes; its type must not be one PROTOCOL.md uses",
			},
		}),
		"PublishAccepted": all(obj{"eventId": obj{"type": "string", "pattern": "^[0-9]+$"}}),

		"AuditEntry": all(obj{
			"id": uuidS(), "at": stamp(),
			"actor":  all(obj{"type": enum("user", "apiKey", "dev", "system"), "id": str(), "name": nstr()}),
			"action": str(), "targetType": str(), "targetId": str(), "requestId": nstr(), "ip": nstr(),
			"details": obj{"type": "object"},
		}),
		"AuditList": pageOf("entries", "AuditEntry"),
	}
}

func conversationProps() obj {
	name := obj{"type": "string", "description": "display name: the title; else the visitor's first message, cut to 60 characters; else the visitor's name"}
	return obj{
		"id": uuidS(), "agentId": uuidS(), "title": nstr(), "name": name, "platform": enum("web"), "messageCount": integer(),
		"lastMessageAt": nstamp(), "createdAt": stamp(), "updatedAt": stamp(),
	}
}

func usageProps(p obj) obj {
	p["turns"], p["promptTokens"], p["completionTokens"] = integer(), integer(), integer()
	p["costUsd"] = obj{"type": "number"}
	return p
}
