// Package static holds the browser side of sockplay: ES modules (no build
// step), CSS and images, embedded so the binary is the whole app.
//
// The page's modules are named for what they own, each saying so in its
// first lines. app.js only puts them together; state.js holds what the
// page knows (the session's state and the page's own), which the others
// read and subscribe to; event.js says how an event reads, for every
// view; dom.js, format.js, bytes.js and sorted.js (one binary search)
// are the helpers they share. Each part of the page has its module, as
// its markup has its component in templates/: header.js, setup.js (labs,
// new socket), lessons.js, sockets.js and cards.js, views.js with ruler/,
// transcript.js and timeline.js, netstat.js, log.js and detail.js,
// replay.js; pyui.js and py/ are Python in the page; stage.js lays the
// page out as a stage (presentation mode, watch pages), and focus.js
// tells watchers where the owner looks and makes them follow. style.css
// holds all the page's rules.
package static

import "embed"

// FS is the static files, served under /static/.
//
//go:embed *.js *.css *.svg ruler/*.js py/*.js py/lib/*.py
var FS embed.FS
