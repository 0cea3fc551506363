package web

import "net/http"

// errorCode is the "code" of a JSON error, {"error": {"code", "msg"}}: of
// every refusal of the HTTP API, and of the WebSocket's "error" messages.
// Each one is a constant here with its row in errorCodes; the README's
// table of error codes lists the same rows (a test keeps them equal).
type errorCode string

const (
	codeBadRequest       errorCode = "bad_request"
	codeTooLarge         errorCode = "too_large"
	codeNotFound         errorCode = "not_found"
	codeMethodNotAllowed errorCode = "method_not_allowed"
	codeNoSession        errorCode = "no_session"
	codeNoLesson         errorCode = "no_lesson"
	codeRateLimited      errorCode = "rate_limited"
	codeTooManySessions  errorCode = "too_many_sessions"
	codeUnavailable      errorCode = "unavailable"
	codeDraining         errorCode = "draining"
	codeTooManyConns     errorCode = "too_many_connections"
	codeHostNotAllowed   errorCode = "host_not_allowed"
	codeOriginNotAllowed errorCode = "origin_not_allowed"
	codeNotATab          errorCode = "not_a_tab"
	codeTokenRequired    errorCode = "token_required"
	codeBadToken         errorCode = "bad_token"
	codeReadOnly         errorCode = "read_only"
	codeTooManyWatchers  errorCode = "too_many_watchers"
	codeExportBusy       errorCode = "export_busy"
	codeLessons          errorCode = "lessons"
)

// errorInfo is what an error code answers with over HTTP, and what it
// means.
type errorInfo struct {
	status int
	means  string
}

// errorCodes is every error code's HTTP status and meaning.
var errorCodes = map[errorCode]errorInfo{
	codeBadRequest:       {http.StatusBadRequest, "a malformed request: bad JSON, an unknown op or field, a wrongly typed argument, a bad `since`, `format` or `batch`"},
	codeTooLarge:         {http.StatusRequestEntityTooLarge, "an op body larger than `-max-message-kb`"},
	codeNotFound:         {http.StatusNotFound, "no such API route"},
	codeMethodNotAllowed: {http.StatusMethodNotAllowed, "the API route does not take this method"},
	codeNoSession:        {http.StatusNotFound, "no such session (it may have ended), or a watch link whose session has ended"},
	codeNoLesson:         {http.StatusNotFound, "no such lesson: `GET /api/lessons` lists them"},
	codeRateLimited:      {http.StatusTooManyRequests, "over `-max-ops-per-sec`: the op was refused and never ran (HTTP adds `Retry-After: 1`)"},
	codeTooManySessions:  {http.StatusServiceUnavailable, "`-max-sessions` sessions are open already"},
	codeUnavailable:      {http.StatusServiceUnavailable, "no session can be made: sockplay is shutting down"},
	codeDraining:         {http.StatusServiceUnavailable, "no session is made on a node being drained (`/readyz` says so): a proxy sends the request to another node; the sessions it has go on until they end or `-drain-timeout` passes"},
	codeTooManyConns:     {http.StatusServiceUnavailable, "sockplay has `-max-conns` connections open: on a connection past them only `/healthz` is answered"},
	codeHostNotAllowed:   {http.StatusMisdirectedRequest, "the `Host` header names a host that is not allowed (`-allowed-hosts`)"},
	codeOriginNotAllowed: {http.StatusForbidden, "the WebSocket, or a request that may change state, from another site's page"},
	codeNotATab:          {http.StatusForbidden, "`GET /` from something other than a browser tab (an image, a frame) makes no session"},
	codeTokenRequired:    {http.StatusUnauthorized, "this sockplay needs its token, and the request brings none"},
	codeBadToken:         {http.StatusUnauthorized, "`?token=` is not this sockplay's token"},
	codeReadOnly:         {http.StatusForbidden, "an op sent on a watch link's WebSocket: watchers cannot run ops (WebSocket only)"},
	codeTooManyWatchers:  {http.StatusServiceUnavailable, "the session has `-max-watchers` watchers already: the watch link's WebSocket gets this `error` message, then is closed with 1013 (try again later; WebSocket only)"},
	codeExportBusy:       {http.StatusTooManyRequests, "a download of this session's `export.py` is under way already: one at a time a session"},
	codeLessons:          {http.StatusInternalServerError, "the built-in lessons did not load"},
}

// status is the HTTP status code c answers with.
func (c errorCode) status() int {
	if e, ok := errorCodes[c]; ok {
		return e.status
	}
	return http.StatusInternalServerError
}

// writeError answers with error code and its status.
func writeError(w http.ResponseWriter, code errorCode, msg string) {
	writeJSON(w, code.status(), map[string]apiError{"error": {Code: code, Msg: msg}})
}
