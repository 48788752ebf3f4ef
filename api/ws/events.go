package ws

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/switchboard-dev/switchboard/internal/jsonenc"
)

// event is the envelope of every server event (PROTOCOL §2.2); absent keys are omitted.
type event struct {
	Type      string         `json:"type"`
	RequestID string         `json:"requestId,omitempty"`
	Status    int            `json:"status,omitempty"`
	Message   string         `json:"message,omitempty"`
	Token     string         `json:"token,omitempty"`
	Node      string         `json:"node,omitempty"`
	Error     *protocolError `json:"error,omitempty"`
	Data      any            `json:"data"`
	Timestamp int64          `json:"timestamp"`
}

func now() int64 { return time.Now().UnixMilli() }

func encode(ev event) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		// Every payload here is built from marshalable values; this is a bug.
		panic("ws: encode event: " + err.Error())
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func immediateEvent(requestID string, status int, message string, data any) []byte {
	if data == nil {
		data = struct{}{}
	}
	return encode(event{Type: "immediate_response", RequestID: requestID, Status: status, Message: message, Data: data, Timestamp: now()})
}

// errorEvent is the error event of PROTOCOL §5.9, with e at error and at data.error.
func errorEvent(requestID string, e *protocolError) []byte {
	return encode(event{Type: "error", RequestID: requestID, Error: e, Data: struct {
		RequestID string         `json:"requestId,omitempty"`
		Error     *protocolError `json:"error"`
	}{requestID, e}, Timestamp: now()})
}

func pongEvent(requestID string) []byte {
	ts := now()
	return encode(event{Type: "pong", RequestID: requestID, Data: struct {
		Timestamp int64 `json:"timestamp"`
	}{ts}, Timestamp: ts})
}

// tokenEvent is a stream_token or stream_reasoning (PROTOCOL §5.3, §5.4).
func tokenEvent(typ, requestID, token string) []byte {
	return appendTokenEvent(make([]byte, 0, 80+len(typ)+2*len(requestID)+2*len(token)), typ, requestID, token, now())
}

// appendTokenEvent appends a token event to dst: byte for byte what encode makes of
// event{Type, RequestID, Token, Data: {requestId, token}, Timestamp}, without reflection,
// because a turn sends one per model delta.
func appendTokenEvent(dst []byte, typ, requestID, token string, ts int64) []byte {
	dst = append(dst, `{"type":`...)
	dst = jsonenc.AppendString(dst, typ)
	if requestID != "" {
		dst = append(dst, `,"requestId":`...)
		dst = jsonenc.AppendString(dst, requestID)
	}
	if token != "" {
		dst = append(dst, `,"token":`...)
		dst = jsonenc.AppendString(dst, token)
	}
	dst = append(dst, `,"data":{"requestId":`...)
	dst = jsonenc.AppendString(dst, requestID)
	dst = append(dst, `,"token":`...)
	dst = jsonenc.AppendString(dst, token)
	dst = append(dst, `},"timestamp":`...)
	dst = strconv.AppendInt(dst, ts, 10)
	return append(dst, '}')
}

func chunkEvent(requestID, node string, rawResponse any) []byte {
	return encode(event{Type: "stream_chunk", RequestID: requestID, Node: node, Data: struct {
		RequestID string `json:"requestId"`
		Node      string `json:"node"`
		State     any    `json:"state"`
	}{requestID, node, struct {
		RawResponse any `json:"rawResponse"`
	}{rawResponse}}, Timestamp: now()})
}

// wrappedEvent is eventual_response (status 200) or write_confirmation_required (status 0).
func wrappedEvent(typ, requestID string, status int, inner any) []byte {
	return encode(event{Type: typ, RequestID: requestID, Status: status, Data: struct {
		RequestID string `json:"requestId"`
		Status    int    `json:"status,omitempty"`
		Data      any    `json:"data"`
	}{requestID, status, inner}, Timestamp: now()})
}

func cancelledEvent(requestID string) []byte {
	return encode(event{Type: "cancelled", RequestID: requestID, Status: 499, Data: struct {
		RequestID string `json:"requestId"`
		Status    int    `json:"status"`
	}{requestID, 499}, Timestamp: now()})
}
