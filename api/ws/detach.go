package ws

import (
	"net"
	"reflect"
)

// readsTheSocket reports whether reads on nc, a connection fasthttp hijacked, go straight to
// the socket: fasthttp's hijacked connection (an unexported type) reads through its field r,
// which is the connection itself unless the client sent bytes behind its upgrade request,
// which fasthttp had already buffered; then r is that buffered reader, which fasthttp puts back
// in its pool, for another connection, as soon as the hijack handler returns. Anything it
// cannot recognise (another server, a fasthttp whose internals changed) is reported false, and
// the connection stays on the upgrade's goroutine, as safe as before; TestHijackedReads pins
// that a plain upgrade is recognised, so that such a change fails a test rather than silently
// costing the memory back.
func readsTheSocket(nc net.Conn) bool {
	v := reflect.ValueOf(nc)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return false
	}
	t := v.Type().Elem()
	if t.PkgPath() != "github.com/valyala/fasthttp" || t.Name() != "hijackConn" {
		return false
	}
	r, conn := v.Elem().FieldByName("r"), v.Elem().FieldByName("Conn")
	if !r.IsValid() || !conn.IsValid() || r.Kind() != reflect.Interface || conn.Kind() != reflect.Interface || r.IsNil() || conn.IsNil() {
		return false
	}
	r, conn = r.Elem(), conn.Elem()
	return r.Kind() == reflect.Pointer && r.Type() == conn.Type() && r.Pointer() == conn.Pointer()
}
