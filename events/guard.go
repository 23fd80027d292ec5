package events

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// MaxErrorReplyBytes is the most bytes of any refusal's reply body, JSON
// and newline included: a refusal names the field, never echoes the input.
const MaxErrorReplyBytes = 2048

// ReceiveFunc handles one well-formed CloudEvent and returns the reply
// event, if any, or an error classified by Permanent or Transient.
type ReceiveFunc func(ctx context.Context, e event.Event) (*event.Event, error)

// Receiver serves CloudEvents over HTTP POST. Each request is read by
// ReadRequest, so that whatever is not a well-formed CloudEvent gets a 4xx
// that Knative does not retry, before fn sees it; refused, if not nil,
// counts those refusals by status. fn's reply is written in binary mode,
// and its error with StatusOf. Every refusal is JSON,
// {"error": "...", "status": N}, at most MaxErrorReplyBytes long.
func Receiver(fn ReceiveFunc, maxBytes int64, refused func(status int)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSONError(w, http.StatusMethodNotAllowed, "CloudEvents are POSTed; got "+Quote(r.Method, 16))
			return
		}
		e, err := ReadRequest(r, maxBytes)
		if err != nil {
			if refused != nil {
				refused(StatusOf(err))
			}
			WriteError(w, err)
			return
		}
		// The event is handled to the end even if the sender hangs up:
		// the store writes it once, and a redelivery is then a duplicate.
		reply, err := fn(context.WithoutCancel(r.Context()), e)
		if err != nil {
			WriteError(w, err)
			return
		}
		if reply == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		// The headers are sent by now; a failure is the connection's.
		_ = cehttp.WriteResponseWriter(r.Context(), binding.ToMessage(reply), http.StatusOK, w)
	})
}

// WriteError answers a delivery that failed with err: StatusOf(err) and a
// JSON body naming the error, so that Knative retries exactly the transient
// failures.
func WriteError(w http.ResponseWriter, err error) {
	writeJSONError(w, StatusOf(err), err.Error())
}

// writeJSONError writes {"error": msg, "status": status} and a newline,
// msg clipped so that the whole is at most MaxErrorReplyBytes.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(errorBody(status, msg))
}

// errorBody is the JSON of a refusal, at most MaxErrorReplyBytes long.
func errorBody(status int, msg string) []byte {
	const head, clipped = `{"error":"`, `...(clipped)`
	tail := `","status":` + strconv.Itoa(status) + "}\n"
	room := MaxErrorReplyBytes - len(head) - len(tail)
	text, whole := jsonText(msg, room)
	if !whole {
		text, _ = jsonText(msg, room-len(clipped))
		text += clipped
	}
	return []byte(head + text + tail)
}

// jsonText encodes s as the inside of a JSON string, stopping before the
// rune that would take it over max bytes; whole reports that all of s fit.
func jsonText(s string, max int) (string, bool) {
	var b strings.Builder
	for i, c := range s {
		if c == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				c = '?' // invalid UTF-8, which JSON cannot carry
			}
		}
		enc := jsonRune(c)
		if b.Len()+len(enc) > max {
			return b.String(), false
		}
		b.WriteString(enc)
	}
	return b.String(), true
}

// jsonRune is c as it appears inside a JSON string.
func jsonRune(c rune) string {
	switch {
	case c == '"':
		return `\"`
	case c == '\\':
		return `\\`
	case c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029:
		// Markup (<, >, &) stays as it is, readable: the reply is
		// application/json with nosniff, never rendered.
		return `\u` + strconv.FormatInt(0x10000+int64(c), 16)[1:]
	}
	return string(c)
}
