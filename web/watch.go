package web

import (
	"context"
	"encoding/json"

	"github.com/coder/websocket"
)

// refuseWatcher turns away a watch link's WebSocket that AttachWatcher
// refused (the session has -max-watchers already). It is refused once
// open, not with an HTTP status before: a page's WebSocket sees no
// status, but it reads the error message, says it, and tries again after
// a pause, as close code 1013 (try again later) asks.
func (h *handler) refuseWatcher(ctx context.Context, c *websocket.Conn, err error) {
	h.log.Info("watcher refused", "err", err)
	b, _ := json.Marshal(controlMsg{Type: "error", Error: &apiError{Code: codeTooManyWatchers, Msg: err.Error()}})
	wctx, cancel := context.WithTimeout(ctx, h.cfg.WriteTimeout)
	defer cancel()
	if c.Write(wctx, websocket.MessageText, b) == nil {
		c.Close(websocket.StatusTryAgainLater, "too many watchers (-max-watchers)")
	}
}
