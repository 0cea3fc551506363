package testkit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BrowserTab starts headless Chromium (see Chromium) with a window of
// width×height and returns its first tab; both end when t does.
func BrowserTab(t testing.TB, width, height int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium(t)),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(width, height),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })
	return ctx
}

// PageLog keeps the errors a tab's pages log or throw, for a test to fail
// on.
type PageLog struct {
	mu   sync.Mutex
	errs []string
}

// WatchPage keeps what the pages of the tab at ctx log as errors, and
// what they throw, until the tab ends.
func WatchPage(ctx context.Context) *PageLog {
	l := &PageLog{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				l.mu.Lock()
				l.errs = append(l.errs, m.String())
				l.mu.Unlock()
			}
		}
	}()
	return l
}

// Errors is what the pages have logged as errors or thrown so far.
func (l *PageLog) Errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

// ClickStill clicks sel once it has stood still: the same box, the page
// scrolled the same, for at least three frames and 200 ms (longer than the
// page's throttled redraws). A click aims at the element's centre first
// and presses there after; a page still laying out from the last step
// (a card drawn a moment later, a deferred scroll) moves the element in
// between, and the press lands elsewhere or the release off the button.
func ClickStill(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		still := fmt.Sprintf(`(() => {
			const e = document.querySelector(%q);
			if (!e) return false;
			const r = e.getBoundingClientRect();
			const k = [r.x, r.y, r.width, r.height, scrollX, scrollY].join();
			const w = (window.__clickStill ||= new Map());
			const was = w.get(%q);
			if (!was || was.k !== k) {
				w.set(%q, { k, at: performance.now(), frames: 0 });
				return false;
			}
			was.frames++;
			return was.frames >= 3 && performance.now() - was.at >= 200;
		})()`, sel, sel, sel)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](still, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			return fmt.Errorf("%s never stood still: %w", sel, err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`window.__clickStill.delete(%q)`, sel))); err != nil {
			return err
		}
		return chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel)))
	})
}
