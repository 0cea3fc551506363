// Package templates holds sockplay's server-rendered HTML as templ
// components, one per part of the page, each in a file named for it
// (page.templ puts them together). The page is a shell: the browser
// modules in static/ fill it from the session's WebSocket, each part's
// module named as its component is. Views take plain values defined here,
// never the engine's types.
package templates

import (
	"encoding/json"
	"strconv"
)

// Lab is a lab server as the page lists it.
type Lab struct {
	Name        string
	Proto       string
	Addr        string
	Description string
}

// SessionPage is what the session page shows: the owner's page (ID set),
// a watch link's read-only page (WatchToken set, ID empty: the id is
// what lets its holder run ops), or a replay of an exported session
// (Replay set, neither: the page reads a file, not a session).
type SessionPage struct {
	ID         string
	WatchToken string
	Replay     bool
	Labs       []Lab
	// Ops is the engine's op table as JSON, which the page's modules
	// read (static/ops.js).
	Ops json.RawMessage
	// Examples are the code pane's programs (the owner's page only).
	Examples []Example
	// Lessons are the guided lessons, in their order (the owner's page
	// only: a watcher cannot run them).
	Lessons []Lesson
	// LessonsError says why the lessons could not be listed.
	LessonsError string
}

// Lesson is a guided lesson as the lessons list offers it.
type Lesson struct {
	ID      string
	Order   int
	Title   string
	Summary string
}

// label is a lesson as the list shows it: "3. Partial reads and recv sizes".
func (l Lesson) label() string {
	return strconv.Itoa(l.Order) + ". " + l.Title
}

// readOnly says the page only shows: a watch page or a replay.
func (p SessionPage) readOnly() bool {
	return p.WatchToken != "" || p.Replay
}

func (p SessionPage) title() string {
	if p.Replay {
		return "sockplay · replay"
	}
	if p.WatchToken != "" {
		return "sockplay · watching"
	}
	return "sockplay · " + p.ID
}
